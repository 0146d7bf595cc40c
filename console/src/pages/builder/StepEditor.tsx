// The selected step's editor: id, version, inputs (rjsf), `if`, `foreach` + `concurrency`,
// `needs`, `on_error`, `retry`, `timeout_s`; each problem shown on its own field.
import type { ErrorSchema } from "@rjsf/utils";
import { useId, useRef } from "react";
import { api, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useApi } from "../../components/useApi";
import { splitRef, STEP_ID, withField, type FlowStepDef } from "./definition";
import { Field, FieldErrors, numberOrUndefined } from "./Field";
import { StepInputs } from "./StepInputs";
import type { Loaded } from "./stepDetails";

export interface StepEditorProps {
  step: FlowStepDef;
  otherIds: string[];
  detail: Loaded | undefined;
  errors: Record<string, string[]>;
  inputErrors: ErrorSchema;
  suggestions: string[];
  unparsed?: ReadonlyMap<string, string>;
  onUnparsed?: (path: string, text: string | null) => void;
  onChange: (step: FlowStepDef) => void;
  onRemove: () => void;
  /** The step's id changed from `from` to `to` (once the id field loses focus). */
  onRename: (from: string, to: string) => void;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function StepEditor(props: StepEditorProps) {
  const { step, errors, onChange } = props;
  const { name, version } = splitRef(typeof step.uses === "string" ? step.uses : "");
  const versions = useApi(
    async () =>
      (await call(api.GET("/v1/steps/{name}/versions", { params: { path: { name } } }))).items,
    [name],
  );
  const set = (key: string, value: unknown) => onChange(withField(step, key, value));
  const retry = (step.retry && typeof step.retry === "object" ? step.retry : {}) as Record<
    string,
    unknown
  >;
  const setRetry = (key: string, value: unknown) => {
    const next = withField(retry, key, value);
    set("retry", Object.keys(next).length ? next : undefined);
  };
  const needs = Array.isArray(step.needs) ? step.needs : [];
  const idOk = STEP_ID.test(step.id);
  const idWhenFocused = useRef(step.id);
  const versionId = useId();
  const needsId = useId();

  return (
    <section className="panel step-editor" aria-label={`Step ${step.id}`}>
      <div className="toolbar">
        <h2>
          Step <code>{step.id}</code>
        </h2>
        <button type="button" className="danger" onClick={props.onRemove}>
          Remove step {step.id}
        </button>
      </div>
      <FieldErrors errors={errors[""]} />
      <div className="field-row">
        <Field
          label="Step id"
          value={step.id}
          onChange={(value) => set("id", value)}
          onFocus={() => (idWhenFocused.current = step.id)}
          onBlur={() => props.onRename(idWhenFocused.current, step.id)}
          hint="Renaming updates the expressions and needs that read this step."
          errors={[
            ...(idOk
              ? []
              : ["lowercase letters, digits and _, starting with a letter (at most 64)"]),
            ...(errors.id ?? []),
          ]}
        />
        <div className="builder-field">
          <label htmlFor={versionId}>Version of {name}</label>
          <select
            id={versionId}
            value={version}
            aria-invalid={errors.uses?.length ? true : undefined}
            aria-describedby={errors.uses?.length ? `${versionId}-error` : undefined}
            onChange={(event) => set("uses", `${name}@${event.target.value}`)}
          >
            {!versions.data?.some((item) => item.version === version) && (
              <option value={version}>{version}</option>
            )}
            {versions.data?.map((item) => (
              <option key={item.version} value={item.version}>
                {item.version}
                {item.deprecated ? " (deprecated)" : ""}
              </option>
            ))}
          </select>
          <FieldErrors id={`${versionId}-error`} errors={errors.uses} />
        </div>
      </div>
      <h3>Inputs</h3>
      <ErrorBanner
        error={props.detail?.error}
        title={`The inputs of ${step.uses} could not be loaded`}
      />
      {props.detail?.detail ? (
        <StepInputs
          key={`${step.uses}`}
          schema={props.detail.detail.input_schema}
          value={
            (step.with && typeof step.with === "object" ? step.with : {}) as Record<string, unknown>
          }
          onChange={(value) => set("with", value)}
          errors={props.inputErrors}
          suggestions={props.suggestions}
          unparsed={props.unparsed}
          onUnparsed={props.onUnparsed}
        />
      ) : (
        !props.detail?.error && <p className="loading">Loading the inputs of {step.uses}…</p>
      )}
      <h3>When and how often</h3>
      <Field
        label="Run only if"
        value={text(step.if)}
        onChange={(value) => set("if", value || undefined)}
        errors={errors.if}
        suggestions={props.suggestions}
        placeholder="{{ steps.score.output.mean > `50` }}"
      />
      <div className="field-row">
        <Field
          label="For each item of"
          value={text(step.foreach)}
          onChange={(value) => set("foreach", value || undefined)}
          errors={errors.foreach}
          suggestions={props.suggestions}
          placeholder="{{ trigger.items }}"
          hint="Runs the step once per item; inputs can read {{ item }} and {{ index }}."
        />
        <Field
          label="Concurrency"
          type="number"
          value={text(step.concurrency)}
          onChange={(value) => set("concurrency", numberOrUndefined(value))}
          errors={errors.concurrency}
          placeholder="4"
        />
      </div>
      <fieldset
        className="needs"
        aria-describedby={errors.needs?.length ? `${needsId}-error` : undefined}
      >
        <legend>Needs (runs after these steps even without reading them)</legend>
        {props.otherIds.length === 0 && <p className="hint">No other steps yet.</p>}
        {props.otherIds.map((other) => (
          <label key={other} className="check">
            <input
              type="checkbox"
              checked={needs.includes(other)}
              onChange={(event) => {
                const next = event.target.checked
                  ? [...needs, other]
                  : needs.filter((id) => id !== other);
                set("needs", next.length ? next : undefined);
              }}
            />
            {`needs ${other}`}
          </label>
        ))}
        <FieldErrors id={`${needsId}-error`} errors={errors.needs} />
      </fieldset>
      <label className="check">
        <input
          type="checkbox"
          checked={step.on_error === "continue"}
          onChange={(event) => set("on_error", event.target.checked ? "continue" : undefined)}
        />
        Continue the flow when this step fails
      </label>
      <FieldErrors errors={errors.on_error} />
      <h3>Retry and timeout</h3>
      <FieldErrors errors={errors.retry} />
      <div className="field-row">
        <Field
          label="Max attempts"
          type="number"
          value={text(retry.max_attempts)}
          onChange={(value) => setRetry("max_attempts", numberOrUndefined(value))}
          errors={errors["retry/max_attempts"]}
          placeholder="the step's own"
        />
        <Field
          label="Initial interval (s)"
          type="number"
          value={text(retry.initial_interval_s)}
          onChange={(value) => setRetry("initial_interval_s", numberOrUndefined(value))}
          errors={errors["retry/initial_interval_s"]}
          placeholder="the step's own"
        />
        <Field
          label="Backoff"
          type="number"
          value={text(retry.backoff)}
          onChange={(value) => setRetry("backoff", numberOrUndefined(value))}
          errors={errors["retry/backoff"]}
          placeholder="the step's own"
        />
        <Field
          label="Timeout (s)"
          type="number"
          value={text(step.timeout_s)}
          onChange={(value) => set("timeout_s", numberOrUndefined(value))}
          errors={errors.timeout_s}
          placeholder="the step's own"
        />
      </div>
    </section>
  );
}
