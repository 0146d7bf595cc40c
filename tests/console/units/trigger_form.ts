// Runs the console's trigger-form logic on cases from stdin (JSON) and prints the results as
// JSON; tests/console/test_trigger_form.py bundles it with esbuild and runs it with node.
import { readFileSync } from "node:fs";
import { triggerForm, triggerInput } from "../../../console/src/pages/triggers/triggerInputs";
import { schemaValidator } from "../../../console/src/components/schemaValidator";

interface Case {
  kind: "form" | "input" | "validate";
  [field: string]: unknown;
}

const cases = JSON.parse(readFileSync(0, "utf8")) as Case[];
const results = cases.map((item) => {
  if (item.kind === "form") {
    return triggerForm(item.flow as never, item.inputs as never);
  }
  if (item.kind === "input") {
    return triggerInput(item.data, item.jsonFields as string[][]);
  }
  const { errors } = schemaValidator.validateFormData(item.data, item.schema as never);
  return errors.map((error) => ({ property: error.property, message: error.message }));
});
process.stdout.write(JSON.stringify(results));
