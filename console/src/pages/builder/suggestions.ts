// What an expression at a given place can read, offered as suggestions while typing: the
// trigger (and the trigger fields other steps already read), `vars`, the outputs of the other
// steps that are not downstream of this one (fields from their output schemas), and `item` /
// `index` inside a `foreach` step.
import { dependencyEdges, expressionsIn, stringsIn, type FlowDef } from "../../graph/references";
import { steps } from "./definition";

type JsonSchema = { type?: unknown; properties?: Record<string, unknown>; items?: unknown };

/** Ids of the steps that (transitively) depend on step `id`. */
function downstreamOf(flow: FlowDef, id: string): Set<string> {
  const edges = dependencyEdges({ ...flow, steps: steps(flow) });
  const found = new Set<string>();
  const queue = [id];
  while (queue.length) {
    const current = queue.pop()!;
    for (const [from, to] of edges) {
      if (from === current && !found.has(to)) {
        found.add(to);
        queue.push(to);
      }
    }
  }
  return found;
}

/** `trigger.<field>` paths read anywhere in the flow. */
export function triggerFields(flow: FlowDef): string[] {
  const found = new Set<string>();
  const sources = stringsIn([
    steps(flow).map((s) => [s.with, s.if, s.foreach]),
    flow.output,
  ]).flatMap(expressionsIn);
  for (const source of sources) {
    for (const match of source.matchAll(/\btrigger((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      found.add(`trigger${match[1]}`);
    }
  }
  return [...found].sort();
}

function outputPaths(base: string, schema: JsonSchema | undefined): string[] {
  const properties = schema && typeof schema === "object" ? schema.properties : undefined;
  return properties ? Object.keys(properties).map((key) => `${base}.${key}`) : [];
}

/**
 * Expressions (each wrapped as `{{ ... }}`) readable by step `stepIndex`, or by the flow's
 * `output` when `stepIndex` is null. `outputSchemas` maps a step's `uses` to its output schema.
 */
export function suggestionsFor(
  flow: FlowDef,
  stepIndex: number | null,
  outputSchemas: Map<string, unknown>,
): string[] {
  const all = steps(flow);
  const self = stepIndex === null ? undefined : all[stepIndex];
  const paths: string[] = ["trigger", ...triggerFields(flow)];
  const vars = flow.vars && typeof flow.vars === "object" ? Object.keys(flow.vars) : [];
  paths.push(...vars.map((name) => `vars.${name}`));
  if (self?.foreach) paths.push("item", "index");
  const below = self ? downstreamOf(flow, self.id) : new Set<string>();
  for (const step of all) {
    if (step === self || below.has(step.id) || typeof step.id !== "string") continue;
    const schema = outputSchemas.get(step.uses) as JsonSchema | undefined;
    if (step.foreach) {
      paths.push(`steps.${step.id}.output`, ...outputPaths(`steps.${step.id}.output[*]`, schema));
    } else {
      paths.push(`steps.${step.id}.output`, ...outputPaths(`steps.${step.id}.output`, schema));
    }
  }
  return [...new Set(paths)].map((path) => `{{ ${path} }}`);
}
