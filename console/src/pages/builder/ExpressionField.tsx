// rjsf's SchemaField with a literal/expression switch on every field below the root: in
// literal mode the field rjsf generates from the schema (types, enums, nested objects, arrays);
// in expression mode one text input for a `{{ expression }}`, with what is upstream as
// suggestions. Which mode a field starts in follows its value (a string holding `{{`).
// Deep imports: @rjsf/core's index also exports its test registry, which imports ajv.
import getDefaultRegistry from "@rjsf/core/lib/getDefaultRegistry.js";
import type { ErrorSchema, FieldProps } from "@rjsf/utils";
import { useId, useLayoutEffect, useState } from "react";
import { FieldErrors } from "./Field";
import { JsonLiteralField } from "./JsonLiteralField";
import { rjsfRenders } from "./schemaKinds";

const DefaultSchemaField = getDefaultRegistry().fields.SchemaField;

/** What the inputs form carries to every field (rjsf's formContext). */
export interface InputsContext {
  suggestions: string[];
  /** Text typed into JSON literal fields that does not parse, by field path. */
  unparsed?: ReadonlyMap<string, string>;
  /** A JSON literal field's text stopped (text) or started again (null) to parse. */
  onUnparsed?: (path: string, text: string | null) => void;
}

export function isExpression(value: unknown): boolean {
  return typeof value === "string" && value.includes("{{");
}

function fieldLabel(props: FieldProps): string {
  const title = typeof props.schema.title === "string" ? props.schema.title : "";
  // An array item is named `<array>-<index>`: say "values item 1".
  const name = props.name.replace(/-(\d+)$/, (_, index: string) => ` item ${Number(index) + 1}`);
  return title || name || "value";
}

/** Every message in an error schema, nested ones too (an expression stands for all of them). */
export function allErrors(errors: ErrorSchema | undefined): string[] {
  if (!errors || typeof errors !== "object") return [];
  const own = Array.isArray(errors.__errors) ? errors.__errors : [];
  const nested = Object.entries(errors)
    .filter(([key]) => key !== "__errors")
    .flatMap(([, value]) => allErrors(value as ErrorSchema));
  return [...own, ...nested];
}

export function ExpressionField(props: FieldProps) {
  const path = props.fieldPathId.path;
  const [expression, setExpression] = useState(() => isExpression(props.formData));
  const id = useId();
  const ownErrors = props.errorSchema?.__errors;
  const literalId = props.fieldPathId.$id;
  // rjsf describes an input by its errors but does not mark it invalid; this does.
  useLayoutEffect(() => {
    const input = expression ? null : document.getElementById(literalId);
    if (!input) return;
    if (ownErrors?.length) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  });
  if (path.length === 0) return <DefaultSchemaField {...props} />;

  const label = fieldLabel(props);
  const type = props.schema.type;
  const change = (value: unknown) => props.onChange(value, path);
  const toggle = (on: boolean) => {
    setExpression(on);
    // A JSON literal's text that did not parse is given up for the expression.
    if (on) context?.onUnparsed?.(path.join("/"), null);
    const value: unknown = props.formData;
    if (on && typeof value !== "string") change(undefined);
    if (!on && isExpression(value) && type !== "string") change(undefined);
  };
  const errors = allErrors(props.errorSchema);
  const context = props.registry.formContext as InputsContext | undefined;
  const defaultValue = props.schema.default;

  return (
    <div className="expression-field">
      <label className="mode-switch">
        <input
          type="checkbox"
          checked={expression}
          onChange={(event) => toggle(event.target.checked)}
        />
        {`${label} is an expression`}
      </label>
      {expression ? (
        <div className="builder-field">
          <label htmlFor={id}>
            {label}
            {props.required && <span className="required">*</span>}
          </label>
          <input
            id={id}
            className="code"
            value={typeof props.formData === "string" ? props.formData : ""}
            placeholder="{{ trigger.field }}"
            list={`${id}-suggestions`}
            aria-invalid={errors.length ? true : undefined}
            aria-describedby={errors.length ? `${id}-error` : undefined}
            onChange={(event) => change(event.target.value === "" ? undefined : event.target.value)}
          />
          <datalist id={`${id}-suggestions`}>
            {(context?.suggestions ?? []).map((suggestion) => (
              <option key={suggestion} value={suggestion} />
            ))}
          </datalist>
          <FieldErrors id={`${id}-error`} errors={errors} />
        </div>
      ) : !rjsfRenders(props.schema) ? (
        <JsonLiteralField
          label={label}
          required={Boolean(props.required)}
          value={props.formData}
          errors={errors}
          description={
            typeof props.schema.description === "string" ? props.schema.description : undefined
          }
          onChange={change}
          context={context}
          path={path.join("/")}
        />
      ) : (
        <>
          <DefaultSchemaField {...props} />
          {props.formData === undefined && defaultValue !== undefined && (
            <p className="hint">default when left empty: {JSON.stringify(defaultValue)}</p>
          )}
        </>
      )}
    </div>
  );
}
