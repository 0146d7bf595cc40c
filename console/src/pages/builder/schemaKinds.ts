// Which input schemas rjsf generates a field for. rjsf shows "Unsupported field schema ... Unknown
// field type" for the others (no type as in "any JSON value", `true`, several types, an unknown
// type); the builder gives those a JSON literal editor (JsonLiteralField) instead.
import { getSchemaType } from "@rjsf/utils";

const KNOWN_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);

/** Whether rjsf generates a fitting field for `schema`. */
export function rjsfRenders(schema: unknown): boolean {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return false;
  const object = schema as Record<string, unknown>;
  // rjsf resolves references and merges allOf; anyOf and oneOf get its option picker.
  if (["$ref", "anyOf", "oneOf", "allOf"].some((key) => key in object)) return true;
  // Several types: rjsf would draw a field of the first alone (a number typed as text).
  if (Array.isArray(object.type) && object.type.filter((one) => one !== "null").length > 1)
    return false;
  const type = getSchemaType(object);
  return typeof type === "string" && KNOWN_TYPES.has(type);
}
