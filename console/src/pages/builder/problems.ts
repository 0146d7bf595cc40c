// Where each validation problem belongs on screen. The API's pointers point into the request
// body (`/definition/steps/1/with/text`); the builder places each on the field it names: a
// flow field, a field of the selected step, or (for `with`) rjsf's `extraErrors`. The rest —
// problems of steps not selected, or of no field on screen — are listed at the top.
import type { ErrorSchema } from "@rjsf/utils";

export interface Problem {
  pointer: string;
  message: string;
}

/** The tokens of a JSON pointer (`~1` is `/`, `~0` is `~`); `/definition` is dropped. */
export function pointerTokens(pointer: string): string[] {
  const inner = pointer.startsWith("/definition") ? pointer.slice("/definition".length) : pointer;
  if (!inner) return [];
  return inner
    .split("/")
    .slice(1)
    .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Fields of a step shown as their own inputs (anything under them lands on them). */
export const STEP_FIELDS = [
  "id",
  "uses",
  "if",
  "foreach",
  "concurrency",
  "needs",
  "on_error",
  "retry",
  "timeout_s",
] as const;

/** Flow-level fields shown as their own inputs. */
export const FLOW_FIELDS = ["name", "description", "timeout_s"] as const;

export interface Placed {
  /** Flow field (`name`, `description`, `timeout_s`, `output`, `output/<key>`) -> messages. */
  flow: Record<string, string[]>;
  /** Step field of the selected step (`id`, `if`, `retry/backoff`, ...) -> messages. */
  step: Record<string, string[]>;
  /** The selected step's `with` problems, for rjsf's `extraErrors`. */
  inputs: ErrorSchema;
  /** Problems not on any field on screen; `stepIndex` when one step owns it. */
  elsewhere: Array<Problem & { stepIndex?: number }>;
}

function add(map: Record<string, string[]>, key: string, message: string): void {
  (map[key] ??= []).push(message);
}

/**
 * The input a "required" problem names: the server puts `missing required input 'text' of ...`
 * (and a schema's `'text' is a required property`) on the object that lacks it; the builder puts
 * it on the missing field itself, where the user fills it in.
 */
export function requiredInput(message: string): string | undefined {
  const found =
    /^missing required input (['"])(.+?)\1/.exec(message) ??
    /^(['"])(.+?)\1 is a required property/.exec(message);
  return found?.[2];
}

function addInput(root: ErrorSchema, path: string[], message: string): void {
  let node = root as Record<string, unknown>;
  for (const token of path) node = (node[token] ??= {}) as Record<string, unknown>;
  const errors = ((node as { __errors?: string[] }).__errors ??= []);
  errors.push(message);
}

/**
 * Places `problems`, given which step (by index) is selected and whether the flow's own fields
 * are on screen.
 */
export function placeProblems(
  problems: Problem[],
  selected: number | null,
  flowFieldsShown: boolean,
): Placed {
  const placed: Placed = { flow: {}, step: {}, inputs: {}, elsewhere: [] };
  for (const problem of problems) {
    const tokens = pointerTokens(problem.pointer);
    const [head, second, third, ...rest] = tokens;
    if (head === "steps" && second !== undefined && /^\d+$/.test(second)) {
      const index = Number(second);
      if (index !== selected) {
        placed.elsewhere.push({ ...problem, stepIndex: index });
      } else if (third === "with") {
        const missing = requiredInput(problem.message);
        addInput(placed.inputs, missing === undefined ? rest : [...rest, missing], problem.message);
      } else if (third && (STEP_FIELDS as readonly string[]).includes(third)) {
        // `retry/backoff` has its own input; `needs/0` lands on the needs group.
        const key = third === "retry" && rest.length ? `retry/${rest[0]}` : third;
        add(placed.step, key, problem.message);
      } else {
        add(placed.step, "", problem.message);
      }
      continue;
    }
    if (flowFieldsShown && head && (FLOW_FIELDS as readonly string[]).includes(head) && !second) {
      add(placed.flow, head, problem.message);
    } else if (flowFieldsShown && head === "output") {
      add(placed.flow, second === undefined ? "output" : `output/${second}`, problem.message);
    } else {
      placed.elsewhere.push(problem);
    }
  }
  return placed;
}
