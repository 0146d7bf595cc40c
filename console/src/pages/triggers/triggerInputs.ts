// What a flow reads from its trigger, as a JSON Schema for the run-by-hand form: every
// `trigger.<path>` in every expression of every step (`with`, `if`, `foreach`) and of the
// flow's `output`. A field's type comes from the reading step's input schema when a top-level
// input is exactly that one expression; it is text when embedded in text, any JSON otherwise.
import { compile, type AstNode } from "jmespath";
import type { RJSFSchema, UiSchema } from "@rjsf/utils";
import { expressionsIn, type FlowDef } from "../../graph/references";

type JsonSchema = Record<string, unknown>;

/** A step version's input schema, by `uses` (`name@version`). */
export type InputSchemas = Record<string, JsonSchema | undefined>;

type Reading =
  | { kind: "typed"; schema: JsonSchema; required: boolean; by: string }
  | { kind: "text"; by: string }
  | { kind: "json"; by: string };

const RANK = { typed: 3, text: 2, json: 1 } as const;

interface Node {
  reading?: Reading;
  children: Map<string, Node>;
}

/** The form for a flow's trigger: its schema, how to draw it, which fields hold any JSON. */
export interface TriggerForm {
  schema: RJSFSchema;
  uiSchema: UiSchema;
  /** Paths of fields typed as JSON text (parsed before the run starts). */
  jsonFields: string[][];
  /** Some expression reads `trigger` as a whole (a form may not cover everything it needs). */
  readsWholeTrigger: boolean;
  /** No expression reads the trigger at all. */
  empty: boolean;
}

const WHOLE = /^\s*\{\{(.*?)\}\}\s*$/s;

/** The expression of a string that is exactly one `{{ }}` (as the server's whole_source). */
export function wholeSource(value: unknown): string | null {
  if (typeof value !== "string" || expressionsIn(value).length !== 1) return null;
  const whole = WHOLE.exec(value);
  return whole ? whole[1].trim() : null;
}

/** `a.b.c` as ["a", "b", "c"] when the node is a plain chain of fields, else null. */
function fieldChain(node: AstNode | undefined): string[] | null {
  if (!node) return null;
  if (node.type === "Field" && typeof node.name === "string") return [node.name];
  if (node.type === "Subexpression" && node.children?.length === 2) {
    const [left, right] = node.children;
    const head = fieldChain(left);
    if (head && right.type === "Field" && typeof right.name === "string")
      return [...head, right.name];
  }
  return null;
}

// Nodes whose first child is what they index, project, filter or flatten.
const LEFT_LED = new Set(["IndexExpression", "Projection", "FilterProjection", "Flatten", "Slice"]);

/** The path of fields an expression starts from: `a.b[0].c` starts from ["a", "b"]. */
function leadingChain(node: AstNode | undefined): string[] | null {
  if (!node) return null;
  if (node.type === "Field" && typeof node.name === "string") return [node.name];
  const [left, right] = node.children ?? [];
  if (node.type === "Subexpression") {
    const head = fieldChain(left);
    if (!head) return leadingChain(left);
    return [...head, ...(leadingChain(right) ?? [])];
  }
  if (LEFT_LED.has(node.type)) return leadingChain(left);
  return null;
}

/** Every `trigger.<path>` an expression reads (`[]` for `trigger` itself). */
export function triggerPaths(source: string): string[][] {
  const found: string[][] = [];
  const visit = (node: AstNode | undefined) => {
    if (!node || typeof node !== "object") return;
    const chain = leadingChain(node);
    if (chain && chain[0] === "trigger") {
      found.push(chain.slice(1));
      return;
    }
    for (const child of node.children ?? []) visit(child);
  };
  try {
    visit(compile(source));
  } catch {
    // An expression that does not parse reads nothing here; saving the flow names it.
  }
  return found;
}

function isPlainTriggerPath(source: string): string[] | null {
  try {
    const chain = fieldChain(compile(source));
    return chain && chain[0] === "trigger" && chain.length > 1 ? chain.slice(1) : null;
  } catch {
    return null;
  }
}

/** Inline `#/$defs/...` references of a step's schema (a few levels deep), or null. */
function inline(schema: unknown, root: JsonSchema, depth = 0): unknown {
  if (depth > 6) return null;
  if (Array.isArray(schema)) return schema.map((item) => inline(item, root, depth + 1));
  if (!schema || typeof schema !== "object") return schema;
  const object = schema as JsonSchema;
  if (typeof object.$ref === "string") {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(object.$ref);
    const target = match ? (root[match[1]] as JsonSchema | undefined)?.[match[2]] : undefined;
    if (!target) return null;
    const { $ref: _ignored, ...rest } = object;
    return inline({ ...(target as JsonSchema), ...rest }, root, depth + 1);
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(object)) out[key] = inline(value, root, depth + 1);
  return out;
}

function inputProperty(input: JsonSchema | undefined, name: string) {
  const property = (input?.properties as JsonSchema | undefined)?.[name];
  if (!property || typeof property !== "object" || !input) return null;
  const schema = inline(property, input) as JsonSchema | null;
  if (!schema || JSON.stringify(schema).includes('"$ref"')) return null;
  const required = Array.isArray(input.required) && input.required.includes(name);
  return { schema, required };
}

class Collector {
  readonly root: Node = { children: new Map() };
  wholeTrigger = false;

  add(path: string[], reading: Reading): void {
    if (path.length === 0) {
      this.wholeTrigger = true;
      return;
    }
    let node = this.root;
    for (const part of path) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map() }));
      node = next;
    }
    if (!node.reading || RANK[reading.kind] > RANK[node.reading.kind]) node.reading = reading;
  }

  /** Every expression in a value; `top` names the step input the value is. */
  value(value: unknown, by: string, input?: JsonSchema, top?: string): void {
    if (typeof value === "string") {
      const whole = wholeSource(value);
      if (whole !== null) {
        const plain = isPlainTriggerPath(whole);
        const property = plain && top !== undefined ? inputProperty(input, top) : null;
        if (plain && property) {
          this.add(plain, { kind: "typed", ...property, by });
          return;
        }
        for (const path of triggerPaths(whole)) this.add(path, { kind: "json", by });
        return;
      }
      for (const source of expressionsIn(value))
        for (const path of triggerPaths(source)) this.add(path, { kind: "text", by });
      return;
    }
    if (Array.isArray(value)) value.forEach((item) => this.value(item, by));
    else if (value && typeof value === "object")
      for (const item of Object.values(value)) this.value(item, by);
  }

  /** `if`/`foreach`: a whole `{{ }}` or a bare expression. */
  condition(value: unknown, by: string): void {
    if (typeof value !== "string") return;
    const sources = expressionsIn(value);
    for (const source of sources.length ? sources : [value])
      for (const path of triggerPaths(source)) this.add(path, { kind: "json", by });
  }
}

function readerNote(reading: Reading): string {
  if (reading.kind === "json") return `Any JSON value (read by ${reading.by}).`;
  if (reading.kind === "text") return `Text (read inside text by ${reading.by}).`;
  return `Read by ${reading.by}.`;
}

function toSchema(node: Node, path: string[], form: TriggerForm, ui: UiSchema): JsonSchema {
  if (node.children.size > 0) {
    const properties: JsonSchema = {};
    const required: string[] = [];
    for (const [name, child] of [...node.children].sort(([a], [b]) => a.localeCompare(b))) {
      ui[name] = {};
      properties[name] = toSchema(child, [...path, name], form, ui[name] as UiSchema);
      if (child.reading?.kind === "typed" && child.reading.required && child.children.size === 0)
        required.push(name);
    }
    return {
      type: "object",
      title: path.at(-1),
      properties,
      ...(required.length ? { required } : {}),
    };
  }
  const reading = node.reading ?? { kind: "json", by: "the flow" };
  const title = path.at(-1);
  if (reading.kind === "typed") {
    const { title: _stepTitle, ...schema } = reading.schema;
    const note = typeof schema.description === "string" ? `${schema.description} ` : "";
    return { ...schema, title, description: `${note}${readerNote(reading)}` };
  }
  if (reading.kind === "text") return { type: "string", title, description: readerNote(reading) };
  form.jsonFields.push(path);
  ui["ui:widget"] = "textarea";
  ui["ui:placeholder"] = 'e.g. 42, "text", [1, 2] or {"key": "value"}';
  return { type: "string", title, description: readerNote(reading) };
}

/** The run-by-hand form for a flow, given the input schemas of the steps it uses. */
export function triggerForm(flow: FlowDef, inputs: InputSchemas): TriggerForm {
  const collector = new Collector();
  for (const step of flow.steps ?? []) {
    const by = `step ${step.id} (${step.uses})`;
    const input = inputs[step.uses];
    for (const [name, value] of Object.entries(step.with ?? {}))
      collector.value(value, by, input, name);
    collector.condition(step.if, by);
    collector.condition(step.foreach, by);
  }
  collector.value(flow.output, "the flow's output");
  const form: TriggerForm = {
    schema: {},
    uiSchema: {},
    jsonFields: [],
    readsWholeTrigger: collector.wholeTrigger,
    empty: collector.root.children.size === 0,
  };
  // The trigger is an object of what is read (an empty one when nothing is).
  const schema = form.empty
    ? { type: "object", properties: {} }
    : toSchema(collector.root, [], form, form.uiSchema);
  form.schema = { ...schema, title: undefined } as RJSFSchema;
  return form;
}

/** The trigger input from the form's data: JSON fields parsed, empty ones left out. */
export function triggerInput(
  data: unknown,
  jsonFields: string[][],
): { input: Record<string, unknown>; errors: Array<{ path: string[]; message: string }> } {
  const input = structuredClone((data ?? {}) as Record<string, unknown>);
  const errors: Array<{ path: string[]; message: string }> = [];
  for (const path of jsonFields) {
    const parent = path
      .slice(0, -1)
      .reduce<Record<string, unknown> | undefined>(
        (object, part) => object?.[part] as Record<string, unknown> | undefined,
        input,
      );
    const key = path[path.length - 1];
    const text = parent?.[key];
    if (!parent || typeof text !== "string") continue;
    if (!text.trim()) {
      delete parent[key];
      continue;
    }
    try {
      parent[key] = JSON.parse(text);
    } catch (error) {
      errors.push({ path, message: `not JSON: ${(error as Error).message}` });
    }
  }
  return { input, errors };
}
