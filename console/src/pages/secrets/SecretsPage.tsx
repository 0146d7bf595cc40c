// Placeholder until this page is built (issue 13).
export function SecretsPage() {
  return <h1>Secrets</h1>;
}
