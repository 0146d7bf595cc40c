// The validator rjsf needs, on @cfworker/json-schema (no ajv: the console's CSP forbids eval).
// The builder does not validate forms in the browser (the server does, POST /v1/flows/validate);
// rjsf still asks `isValid` to pick the matching branch of a oneOf/anyOf, which this answers.
import { Validator, type Schema } from "@cfworker/json-schema";
import type { RJSFSchema, ValidationData, ValidatorType } from "@rjsf/utils";

const compiled = new WeakMap<object, WeakMap<object, Validator>>();

function validatorFor(schema: RJSFSchema, rootSchema: RJSFSchema): Validator {
  let byRoot = compiled.get(schema);
  if (!byRoot) compiled.set(schema, (byRoot = new WeakMap()));
  let validator = byRoot.get(rootSchema);
  if (!validator) {
    // `$ref`s point into the root schema's definitions; carry them along.
    const withDefinitions = {
      ...schema,
      ...(rootSchema.$defs ? { $defs: rootSchema.$defs } : {}),
      ...(rootSchema.definitions ? { definitions: rootSchema.definitions } : {}),
    };
    validator = new Validator(withDefinitions as Schema, "2020-12", true);
    byRoot.set(rootSchema, validator);
  }
  return validator;
}

export const schemaValidator: ValidatorType = {
  validateFormData(): ValidationData<unknown> {
    return { errors: [], errorSchema: {} };
  },
  isValid(schema, formData, rootSchema) {
    if (typeof schema === "boolean") return schema;
    try {
      return validatorFor(schema, rootSchema).validate(formData).valid;
    } catch {
      return false;
    }
  },
  rawValidation(schema, formData) {
    const result = validatorFor(schema, schema).validate(formData);
    return { errors: result.errors as never[] };
  },
};
