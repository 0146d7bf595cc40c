// The definition as raw JSON. Edits that parse to an object replace the visual model at once;
// otherwise the parse error is shown with its line and column, the text is kept as typed, and
// the builder refuses to save or to switch to the visual editor until it parses.
import type { FlowDef } from "./definition";

/** A JSON.parse failure worded with its line and column when the engine gives a position. */
export function parseProblem(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(message);
  if (!position || /line \d+ column \d+/.test(message)) return message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `${message} (line ${line} column ${column})`;
}

/** The JSON view's text as a definition, or why it is none. */
export function parseDefinition(text: string): { flow: FlowDef } | { problem: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      return { problem: "the definition must be a JSON object" };
    return { flow: parsed as FlowDef };
  } catch (error) {
    return { problem: parseProblem(text, error) };
  }
}

/** The text as typed (the builder holds it, so that a text that does not parse is kept). */
export function JsonView({
  text,
  problem,
  onEdit,
}: {
  text: string;
  problem: string | null;
  onEdit: (text: string) => void;
}) {
  return (
    <div className="json-view">
      <label htmlFor="definition-json">Definition (JSON)</label>
      <textarea
        id="definition-json"
        className="code"
        spellCheck={false}
        rows={28}
        value={text}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? "definition-json-error" : undefined}
        onChange={(event) => onEdit(event.target.value)}
      />
      {problem && (
        <p className="field-error" id="definition-json-error" role="alert">
          The JSON does not parse: {problem}
        </p>
      )}
    </div>
  );
}
