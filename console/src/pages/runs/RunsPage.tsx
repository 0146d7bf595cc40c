// Placeholder until this page is built (issue 13).
export function RunsPage() {
  return <h1>Runs</h1>;
}
