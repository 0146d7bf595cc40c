// The flow's own fields: name, description and the `output` mapping (name -> value or
// `{{ expression }}`), each problem on its field.
import { useId } from "react";
import { withField, type FlowDef } from "./definition";
import { Field, FieldErrors, numberOrUndefined } from "./Field";

export interface FlowSettingsProps {
  flow: FlowDef;
  errors: Record<string, string[]>;
  suggestions: string[];
  onChange: (flow: FlowDef) => void;
}

/** An output value as typed: JSON when it parses as JSON (and is no expression), else text. */
function parseValue(text: string): unknown {
  if (!text.includes("{{")) {
    try {
      return JSON.parse(text);
    } catch {
      // plain text
    }
  }
  return text;
}

function showValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function FlowSettings({ flow, errors, suggestions, onChange }: FlowSettingsProps) {
  const output = (
    flow.output && typeof flow.output === "object" && !Array.isArray(flow.output) ? flow.output : {}
  ) as Record<string, unknown>;
  const entries = Object.entries(output);
  const outputId = useId();
  const setOutput = (next: Record<string, unknown>) =>
    onChange(withField(flow, "output", Object.keys(next).length ? next : undefined));
  const rename = (from: string, to: string) => {
    const next: Record<string, unknown> = {};
    for (const [key, value] of entries) next[key === from ? to : key] = value;
    setOutput(next);
  };
  const addOutput = () => {
    let name = "result";
    for (let n = 2; name in output; n++) name = `result_${n}`;
    setOutput({ ...output, [name]: "" });
  };

  return (
    <section className="panel flow-settings" aria-label="Flow settings">
      <Field
        label="Flow name"
        value={flow.name ?? ""}
        onChange={(value) => onChange({ ...flow, name: value })}
        errors={errors.name}
        placeholder="new-lead"
      />
      <Field
        label="Description"
        multiline
        value={typeof flow.description === "string" ? flow.description : ""}
        onChange={(value) => onChange(withField(flow, "description", value || undefined))}
        errors={errors.description}
      />
      <Field
        label="Run timeout (s)"
        type="number"
        value={typeof flow.timeout_s === "number" ? String(flow.timeout_s) : ""}
        onChange={(value) => onChange(withField(flow, "timeout_s", numberOrUndefined(value)))}
        errors={errors.timeout_s}
        placeholder="the server's default"
      />
      <fieldset aria-describedby={errors.output?.length ? `${outputId}-error` : undefined}>
        <legend>Flow output</legend>
        {entries.length === 0 && (
          <p className="hint">
            No output yet: a run's output is then empty. Add one to return values from steps.
          </p>
        )}
        {entries.map(([key, value], index) => (
          <div className="field-row output-row" key={index}>
            <Field
              label={`Output ${index + 1} name`}
              value={key}
              onChange={(next) => rename(key, next)}
            />
            <Field
              label={`Output ${index + 1} value`}
              value={showValue(value)}
              onChange={(next) => setOutput({ ...output, [key]: parseValue(next) })}
              errors={errors[`output/${key}`]}
              suggestions={suggestions}
              placeholder="{{ steps.clean.output.slug }}"
            />
            <button type="button" onClick={() => setOutput(withField(output, key, undefined))}>
              Remove output {key}
            </button>
          </div>
        ))}
        <button type="button" onClick={addOutput}>
          Add output
        </button>
        <FieldErrors id={`${outputId}-error`} errors={errors.output} />
      </fieldset>
    </section>
  );
}
