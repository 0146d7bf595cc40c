// Placeholder until this page is built (issue 13).
export function FlowsPage() {
  return <h1>Flows</h1>;
}
