// Which steps a flow step depends on, read the way the server reads it
// (workflows/graph.py): every `{{ expression }}` in `with`, plus `if` and `foreach`, parsed as
// JMESPath; `steps.<id>` in the parse tree is a reference. Plus the step's `needs` list.
import { compile, type AstNode } from "jmespath";

/** A flow step as the definition contract has it (contract 5); unknown fields are kept. */
export interface FlowStepDef {
  id: string;
  uses: string;
  with?: Record<string, unknown>;
  if?: unknown;
  foreach?: unknown;
  concurrency?: number;
  needs?: string[];
  on_error?: string;
  retry?: Record<string, unknown>;
  timeout_s?: number;
  [field: string]: unknown;
}

export interface FlowDef {
  name: string;
  description?: string;
  steps: FlowStepDef[];
  output?: unknown;
  [field: string]: unknown;
}

const EXPRESSION = /\{\{(.*?)\}\}/gs;

/** The sources of every `{{ }}` expression in a string. */
export function expressionsIn(text: string): string[] {
  return Array.from(text.matchAll(EXPRESSION), (match) => match[1].trim());
}

/** Every string inside a JSON value, depth first. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}

function visit(node: AstNode | undefined, found: Set<string>): void {
  if (!node || typeof node !== "object") return;
  const children = node.children ?? [];
  const [first, second] = children;
  if (
    node.type === "Subexpression" &&
    first?.type === "Field" &&
    first.name === "steps" &&
    second?.type === "Field" &&
    typeof second.name === "string"
  ) {
    found.add(second.name);
  }
  for (const child of children) visit(child, found);
}

/** Ids of the steps one expression reads; an expression that does not parse reads none. */
export function referencedSteps(source: string): Set<string> {
  const found = new Set<string>();
  try {
    visit(compile(source), found);
  } catch {
    // A broken expression adds no edge; the server's validation names it.
  }
  return found;
}

/** Ids a step depends on: its `needs` and every step its expressions read. */
export function upstreamOf(step: FlowStepDef): Set<string> {
  const ids = new Set<string>(Array.isArray(step.needs) ? step.needs : []);
  const sources = stringsIn(step.with ?? {}).flatMap(expressionsIn);
  for (const field of [step.if, step.foreach]) {
    if (typeof field === "string") {
      const inner = expressionsIn(field);
      sources.push(...(inner.length ? inner : [field]));
    }
  }
  for (const source of sources) for (const id of referencedSteps(source)) ids.add(id);
  return ids;
}

/** Whether any expression of the step reads `trigger`. */
export function readsTrigger(step: FlowStepDef): boolean {
  return stringsIn([step.with, step.if, step.foreach]).some((text) =>
    expressionsIn(text).some((source) => /\btrigger\b/.test(source)),
  );
}

/** Edges `[from, to]` between the flow's known steps. */
export function dependencyEdges(flow: FlowDef): Array<[string, string]> {
  const known = new Set(flow.steps.map((step) => step.id));
  const edges: Array<[string, string]> = [];
  for (const step of flow.steps) {
    for (const id of upstreamOf(step))
      if (known.has(id) && id !== step.id) edges.push([id, step.id]);
  }
  return edges;
}
