// A literal input for a schema rjsf has no field for (no type as in "any JSON value", `true`,
// several types, an unknown type): the value typed as JSON in a text area, the parse problem
// on the field itself. While the text does not parse the step keeps its last value, and the
// builder refuses to save (it is told through the form context), so nothing typed is dropped.
import { useEffect, useId, useState } from "react";
import { FieldErrors } from "./Field";
import { parseProblem } from "./JsonView";
import type { InputsContext } from "./ExpressionField";

function shown(value: unknown): string {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

function problemOf(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    return `not JSON: ${parseProblem(text, error)}`;
  }
}

export interface JsonLiteralProps {
  label: string;
  required: boolean;
  value: unknown;
  /** Messages for this field (the server's, through rjsf's errorSchema). */
  errors: string[];
  description?: string;
  onChange: (value: unknown) => void;
  context?: InputsContext;
  /** Where the field is, to tell the builder about text that does not parse. */
  path: string;
}

export function JsonLiteralField(props: JsonLiteralProps) {
  const { value, onChange, context, path } = props;
  const id = useId();
  const [text, setText] = useState(() => context?.unparsed?.get(path) ?? shown(value));
  const [problem, setProblem] = useState<string | null>(() => {
    const kept = context?.unparsed?.get(path);
    return kept === undefined ? null : problemOf(kept);
  });
  // A value changed elsewhere (the JSON view, a draft) is shown unless the text already says it.
  useEffect(() => {
    setText((old) => {
      try {
        if (JSON.stringify(JSON.parse(old)) === JSON.stringify(value)) return old;
      } catch {
        if (context?.unparsed?.has(path)) return old;
      }
      return shown(value);
    });
  }, [value, context, path]);

  const edit = (next: string) => {
    setText(next);
    if (next.trim() === "") {
      setProblem(null);
      context?.onUnparsed?.(path, null);
      onChange(undefined);
      return;
    }
    try {
      const parsed: unknown = JSON.parse(next);
      setProblem(null);
      context?.onUnparsed?.(path, null);
      onChange(parsed);
    } catch {
      setProblem(problemOf(next));
      context?.onUnparsed?.(path, next);
    }
  };
  const errors = [...(problem ? [problem] : []), ...props.errors];
  return (
    <div className="builder-field json-literal">
      <label htmlFor={id}>
        {props.label}
        {props.required && <span className="required">*</span>}
      </label>
      <textarea
        id={id}
        className="code"
        rows={Math.min(12, Math.max(2, text.split("\n").length))}
        spellCheck={false}
        value={text}
        placeholder='JSON: 42, "text", [1, 2] or {"key": "value"}'
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={errors.length ? `${id}-error` : `${id}-hint`}
        onChange={(event) => edit(event.target.value)}
      />
      {!errors.length && (
        <p className="hint" id={`${id}-hint`}>
          {props.description ? `${props.description} ` : ""}Typed as JSON.
        </p>
      )}
      <FieldErrors id={`${id}-error`} errors={errors} />
    </div>
  );
}
