// Runs the builder's schema and problem placing logic on cases from stdin (JSON) and prints the
// results as JSON; tests/console/test_builder_units.py bundles it with esbuild and runs it.
import { readFileSync } from "node:fs";
import { rjsfRenders } from "../../../console/src/pages/builder/schemaKinds";
import { placeProblems, requiredInput } from "../../../console/src/pages/builder/problems";

interface Case {
  kind: "renders" | "required" | "place";
  [field: string]: unknown;
}

const cases = JSON.parse(readFileSync(0, "utf8")) as Case[];
const results = cases.map((item) => {
  if (item.kind === "renders") return rjsfRenders(item.schema);
  if (item.kind === "required") return requiredInput(item.message as string) ?? null;
  return placeProblems(item.problems as never, item.selected as number, false).inputs;
});
process.stdout.write(JSON.stringify(results));
