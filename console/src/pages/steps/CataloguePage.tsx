// Placeholder until this page is built (issue 13).
export function CataloguePage() {
  return <h1>Catalogue</h1>;
}
