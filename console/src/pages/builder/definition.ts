// The flow definition as the builder edits it (contract 5). Every change copies the objects it
// touches and keeps every other field, so fields the builder does not know survive a round trip.
import type { Schemas } from "../../api/client";
import type { FlowDef, FlowStepDef } from "../../graph/references";

export type { FlowDef, FlowStepDef };

/** What the server accepts as a step id. */
export const STEP_ID = /^[a-z][a-z0-9_]{0,63}$/;

export function emptyFlow(): FlowDef {
  return { name: "", steps: [] };
}

/** A step id from a step's name: `text.slugify` -> `slugify`, then `slugify_2`, ... if taken. */
export function newStepId(stepName: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const last = stepName.split(".").pop() ?? stepName;
  let base = last
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!/^[a-z]/.test(base)) base = `step_${base}`.replace(/_+$/, "");
  base = base.slice(0, 60);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}_${n}`)) return `${base}_${n}`;
}

/** `name@version` split; a `uses` without a version has version "". */
export function splitRef(uses: string): { name: string; version: string } {
  const at = uses.lastIndexOf("@");
  return at < 0
    ? { name: uses, version: "" }
    : { name: uses.slice(0, at), version: uses.slice(at + 1) };
}

/** `object` with `key` set to `value`, or without `key` when `value` is undefined. */
export function withField<T extends Record<string, unknown>>(
  object: T,
  key: string,
  value: unknown,
): T {
  const copy: Record<string, unknown> = { ...object };
  if (value === undefined) delete copy[key];
  else copy[key] = value;
  return copy as T;
}

export function steps(flow: FlowDef): FlowStepDef[] {
  return Array.isArray(flow.steps) ? flow.steps : [];
}

export function updateStep(
  flow: FlowDef,
  index: number,
  change: (step: FlowStepDef) => FlowStepDef,
): FlowDef {
  return { ...flow, steps: steps(flow).map((step, at) => (at === index ? change(step) : step)) };
}

export function addStep(
  flow: FlowDef,
  stepName: string,
  version: string,
): { flow: FlowDef; id: string } {
  const id = newStepId(
    stepName,
    steps(flow).map((step) => step.id),
  );
  const step: FlowStepDef = { id, uses: `${stepName}@${version}`, with: {} };
  return { flow: { ...flow, steps: [...steps(flow), step] }, id };
}

export function removeStep(flow: FlowDef, index: number): FlowDef {
  return { ...flow, steps: steps(flow).filter((_, at) => at !== index) };
}

/** A JSON value without `undefined` members (what JSON.stringify would send). */
export function clean<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? null)) as T;
}

/** The definition pretty-printed the one way the builder shows and diffs it. */
export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The definition as a request body: sent as it is (the server, not the type, judges it). */
export function asBody(flow: FlowDef): Schemas["DefinitionBody"]["definition"] {
  return clean(flow) as unknown as Schemas["DefinitionBody"]["definition"];
}

/** `value` with `steps.<from>` read as `steps.<to>` inside every `{{ }}` expression. */
function renameIn(value: unknown, from: string, to: string): unknown {
  if (typeof value === "string") {
    const reads = new RegExp(`\\bsteps\\.${from}(?![A-Za-z0-9_])`, "g");
    return value.replace(/\{\{(.*?)\}\}/gs, (whole: string, inner: string) =>
      reads.test(inner) ? `{{${inner.replace(reads, `steps.${to}`)}}}` : whole,
    );
  }
  if (Array.isArray(value)) return value.map((item) => renameIn(item, from, to));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, renameIn(item, from, to)]),
    );
  }
  return value;
}

/**
 * After step `from` was renamed `to`: every expression and `needs` that named `from` names `to`.
 * Nothing changes unless `to` is a valid id that exactly one step has (a rename onto another
 * step's id would merge their readers).
 */
export function renameReferences(flow: FlowDef, from: string, to: string): FlowDef {
  if (from === to || !STEP_ID.test(from) || !STEP_ID.test(to)) return flow;
  if (steps(flow).filter((step) => step.id === to).length !== 1) return flow;
  return {
    ...flow,
    steps: steps(flow).map((step) => {
      let next: FlowStepDef = step;
      for (const field of ["with", "if", "foreach"] as const) {
        if (step[field] !== undefined)
          next = withField(next, field, renameIn(step[field], from, to));
      }
      if (Array.isArray(step.needs))
        next = withField(
          next,
          "needs",
          step.needs.map((id) => (id === from ? to : id)),
        );
      return next;
    }),
    ...(flow.output !== undefined ? { output: renameIn(flow.output, from, to) } : {}),
  };
}
