// One labelled input with its problems under it: marked aria-invalid and described by them.
import { useId, type ReactNode } from "react";

export interface FieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors?: string[];
  /** Values offered while typing (a <datalist>). */
  suggestions?: string[];
  type?: "text" | "number";
  multiline?: boolean;
  placeholder?: string;
  hint?: ReactNode;
  onFocus?: () => void;
  onBlur?: () => void;
}

export function Field(props: FieldProps) {
  const { label, value, onChange, errors, suggestions, type, multiline, placeholder, hint } = props;
  const id = useId();
  const invalid = Boolean(errors?.length);
  const common = {
    id,
    value,
    placeholder,
    "aria-invalid": invalid || undefined,
    "aria-describedby": invalid ? `${id}-error` : undefined,
    onFocus: props.onFocus,
    onBlur: props.onBlur,
  };
  return (
    <div className="builder-field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea {...common} rows={2} onChange={(event) => onChange(event.target.value)} />
      ) : (
        <input
          {...common}
          type={type ?? "text"}
          step={type === "number" ? "any" : undefined}
          list={suggestions?.length ? `${id}-suggestions` : undefined}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
      {suggestions && suggestions.length > 0 && (
        <datalist id={`${id}-suggestions`}>
          {suggestions.map((suggestion) => (
            <option key={suggestion} value={suggestion} />
          ))}
        </datalist>
      )}
      {hint && <p className="hint">{hint}</p>}
      <FieldErrors id={`${id}-error`} errors={errors} />
    </div>
  );
}

/** The error line under a field (its id is what the field's aria-describedby names). */
export function FieldErrors({ id, errors }: { id?: string; errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <p className="field-error" id={id}>
      {errors.join("; ")}
    </p>
  );
}

/** A number field's text -> the number, or undefined when empty (the field is then left out). */
export function numberOrUndefined(text: string): number | string | undefined {
  if (text.trim() === "") return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}
