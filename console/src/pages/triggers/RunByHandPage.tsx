// /flows/:id/run: start a run by hand, with an input form built from what the flow's steps
// read from `trigger`, or raw JSON; POST /v1/runs, then the run's page.
// A deep import: @rjsf/core's index also exports its test registry, which imports ajv.
import Form from "@rjsf/core/lib/components/Form.js";
import type { ErrorSchema } from "@rjsf/utils";
import { useState } from "react";
import { Link, useLocation } from "wouter";
import { ApiError, api, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FlowHeader } from "../flows/FlowHeader";
import { FieldError } from "../../components/fieldErrors";
import { schemaValidator } from "../../components/schemaValidator";
import { triggerInput } from "./triggerInputs";
import { useFlowTrigger } from "./useFlowTrigger";
import "./triggers.css";

/** An ErrorSchema with `message` at `path` (rjsf shows it under that field). */
function errorAt(errors: ErrorSchema, path: string[], message: string): void {
  let node = errors as Record<string, unknown>;
  for (const part of path) node = (node[part] ??= {}) as Record<string, unknown>;
  ((node.__errors ??= []) as string[]).push(message);
}

/** The API's details under `/input/...` as errors on the form's fields. */
function inputErrors(error: unknown): ErrorSchema {
  const errors: ErrorSchema = {};
  if (!(error instanceof ApiError)) return errors;
  for (const detail of error.details) {
    if (!detail.pointer.startsWith("/input/")) continue;
    const path = detail.pointer
      .slice("/input/".length)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
    errorAt(errors, path, detail.message);
  }
  return errors;
}

function formHint(empty: boolean, readsWholeTrigger: boolean): string {
  if (empty && readsWholeTrigger) return "A step reads the whole trigger: write it as raw JSON.";
  if (empty) {
    return "No step of this flow reads the trigger: start it with an empty input, or write one as raw JSON.";
  }
  const whole = readsWholeTrigger
    ? " A step also reads the whole trigger: add anything else it needs in raw JSON."
    : "";
  return `The fields are what the flow's steps read from trigger.${whole}`;
}

export function RunByHandPage({ params }: { params: { id: string } }) {
  const loaded = useFlowTrigger(params.id);
  const [, navigate] = useLocation();
  const [raw, setRaw] = useState(false);
  const [formData, setFormData] = useState<unknown>({});
  const [text, setText] = useState("{}");
  const [textError, setTextError] = useState("");
  const [localErrors, setLocalErrors] = useState<ErrorSchema>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const form = loaded.data?.form;

  const start = async (input: unknown) => {
    setBusy(true);
    setError(undefined);
    try {
      const started = await call(api.POST("/v1/runs", { body: { flow_id: params.id, input } }));
      navigate(`/runs/${started.run_id}`);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const fromForm = (data: unknown) => {
    const parsed = triggerInput(data, form?.jsonFields ?? []);
    const errors: ErrorSchema = {};
    for (const problem of parsed.errors) errorAt(errors, problem.path, problem.message);
    setLocalErrors(errors);
    return parsed;
  };
  // Each submit starts clean: the last one's errors (the API's, the form's) must not stay on
  // screen once fixed, whatever this submit finds.
  const submitForm = (data: unknown) => {
    setError(undefined);
    const parsed = fromForm(data);
    if (parsed.errors.length === 0) void start(parsed.input);
  };
  const submitRaw = () => {
    setError(undefined);
    try {
      const input = JSON.parse(text);
      setTextError("");
      void start(input);
    } catch (failure) {
      setTextError(`The input is not JSON: ${(failure as Error).message}`);
    }
  };
  const toggle = () => {
    if (!raw) {
      const parsed = fromForm(formData);
      if (parsed.errors.length === 0) setText(JSON.stringify(parsed.input, null, 2));
    }
    setTextError("");
    setError(undefined);
    setRaw(!raw);
  };

  const flow = loaded.data?.flow;
  const apiErrors = inputErrors(error);
  const extraErrors = { ...apiErrors, ...localErrors } as ErrorSchema;
  return (
    <div className="run-page">
      <FlowHeader flowId={params.id} current="run" name={flow?.name} />
      <h2>Run by hand</h2>
      <ErrorBanner error={loaded.error} title="Could not read the flow" />
      {flow && !flow.enabled && (
        <p className="notice" role="status">
          This flow is disabled; enable it on the Flows page before running it.
        </p>
      )}
      {form && (
        <section className="panel" aria-label="Trigger input">
          <p className="hint">{formHint(form.empty, form.readsWholeTrigger)}</p>
          <label className="inline">
            <input type="checkbox" checked={raw} onChange={toggle} />
            Raw JSON
          </label>
          <ErrorBanner error={error} title="The run did not start" />
          {raw ? (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                submitRaw();
              }}
            >
              <label htmlFor="run-input">Trigger input (JSON)</label>
              <textarea
                id="run-input"
                className="code"
                rows={10}
                value={text}
                onChange={(event) => setText(event.target.value)}
                aria-invalid={textError ? true : undefined}
                aria-describedby={textError ? "run-input-error" : undefined}
              />
              <FieldError id="run-input-error" messages={textError ? [textError] : []} />
              <div className="toolbar">
                <button type="submit" className="primary" disabled={busy}>
                  Start run
                </button>
              </div>
            </form>
          ) : (
            <Form
              schema={form.schema}
              uiSchema={{
                ...form.uiSchema,
                "ui:submitButtonOptions": {
                  submitText: "Start run",
                  props: { disabled: busy, className: "primary" },
                },
              }}
              validator={schemaValidator}
              formData={formData}
              onChange={(event) => setFormData(event.formData)}
              onSubmit={(event) => submitForm(event.formData)}
              onError={() => {
                // the form's own checks refused this submit: the last one's errors are stale
                setError(undefined);
                setLocalErrors({});
              }}
              extraErrors={extraErrors}
              showErrorList={false}
              noHtml5Validate
              idPrefix="trigger"
            />
          )}
        </section>
      )}
      {loaded.loading && !loaded.data && <p className="loading">Loading the flow…</p>}
      <p>
        <Link href={`/flows/${params.id}/triggers`}>Webhook and schedules</Link>
      </p>
    </div>
  );
}
