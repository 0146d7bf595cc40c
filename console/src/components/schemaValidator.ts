// An @rjsf validator on @cfworker/json-schema, which interprets schemas instead of compiling
// them into functions: the console's CSP forbids eval/new Function, and so ajv. The run-by-hand
// form validates with it; the builder passes `noValidate` (the server validates its flows) and uses
// only `isValid`, which rjsf asks to pick the matching branch of a oneOf/anyOf.
import { Validator, type OutputUnit, type Schema } from "@cfworker/json-schema";
import {
  createErrorHandler,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from "@rjsf/utils";

// Keywords that only say "something below failed"; the failure below is reported on its own.
const WRAPPERS = new Set([
  "properties",
  "items",
  "prefixItems",
  "$ref",
  "allOf",
  "additionalItems",
]);
const MISSING = /required property "(.+)"/;

function withRoot(schema: RJSFSchema, root?: RJSFSchema): Schema {
  if (!root || root === schema) return schema as Schema;
  // `$ref`s in a sub-schema point into the root's definitions.
  return { ...(schema as Schema), $defs: root.$defs, definitions: root.definitions } as Schema;
}

function results(schema: RJSFSchema, data: unknown, root?: RJSFSchema): OutputUnit[] {
  const validator = new Validator(withRoot(schema, root), "2020-12", false);
  return validator.validate(data === undefined ? null : data).errors;
}

function segments(instanceLocation: string): string[] {
  return instanceLocation
    .replace(/^#/, "")
    .split("/")
    .slice(1)
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** cfworker's output units as rjsf's errors (`property` in dotted/bracket notation). */
export function toRjsfErrors(units: OutputUnit[]): RJSFValidationError[] {
  return units
    .filter((unit) => !WRAPPERS.has(unit.keyword))
    .map((unit) => {
      const path = segments(unit.instanceLocation);
      let message = unit.error;
      const missing = unit.keyword === "required" ? MISSING.exec(unit.error) : null;
      if (missing) {
        path.push(missing[1]);
        message = "is a required property";
      }
      const property = path.map((part) => `.${part}`).join("");
      return {
        name: unit.keyword,
        message,
        property,
        schemaPath: unit.keywordLocation,
        stack: `${property || "."} ${message}`.trim(),
        params: {},
      };
    });
}

/** The validator to pass to `<Form validator={schemaValidator}>`. */
export const schemaValidator: ValidatorType = {
  validateFormData(
    formData: unknown,
    schema: RJSFSchema,
    customValidate?: CustomValidator,
    transformErrors?: ErrorTransformer,
    uiSchema?: UiSchema,
  ): ValidationData<unknown> {
    let errors = toRjsfErrors(results(schema, formData));
    if (transformErrors) errors = transformErrors(errors, uiSchema);
    let data: ValidationData<unknown> = { errors, errorSchema: toErrorSchema(errors) };
    if (customValidate) {
      const handler = customValidate(formData, createErrorHandler(formData), uiSchema);
      data = validationDataMerge(data, unwrapErrorHandler(handler));
    }
    return data;
  },
  isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
    try {
      return results(schema, formData, rootSchema).length === 0;
    } catch {
      return false;
    }
  },
  rawValidation<Result>(schema: RJSFSchema, formData?: unknown) {
    try {
      return { errors: results(schema, formData) as Result[] };
    } catch (error) {
      return { validationError: error as Error };
    }
  },
};
