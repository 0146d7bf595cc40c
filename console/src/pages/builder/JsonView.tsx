// The definition as raw JSON. Edits that parse to an object replace the visual model at once;
// otherwise the parse error is shown with its line and column, and the model keeps its last
// good state.
import { useState } from "react";
import { pretty, type FlowDef } from "./definition";

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

export function JsonView({ flow, onChange }: { flow: FlowDef; onChange: (flow: FlowDef) => void }) {
  const [text, setText] = useState(() => pretty(flow));
  const [problem, setProblem] = useState<string | null>(null);
  const edit = (next: string) => {
    setText(next);
    try {
      const parsed: unknown = JSON.parse(next);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        setProblem("The definition must be a JSON object.");
        return;
      }
      setProblem(null);
      onChange(parsed as FlowDef);
    } catch (error) {
      setProblem(parseProblem(next, error));
    }
  };
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
        onChange={(event) => edit(event.target.value)}
      />
      {problem && (
        <p className="field-error" id="definition-json-error" role="alert">
          The JSON does not parse: {problem}
        </p>
      )}
    </div>
  );
}
