// One step of a run: status, attempts, duration, input, output, error with its traceback,
// logs (live while it runs), network connections and the files it saved (artifacts).
import type { Schemas } from "../../api/client";
import { JsonBlock } from "../../components/Json";
import { Name } from "../../components/Name";
import { formatTime } from "../../components/time";
import { ConnectionsTable } from "./ConnectionsTable";
import { StatusBadge } from "./StatusBadge";
import { StepArtifacts } from "./StepArtifacts";

interface Props {
  runId: string;
  stepId: string;
  uses: string | undefined;
  step: Schemas["StepRun"];
  /** Log text streamed live since the stream opened, when it has some for this step. */
  liveLog: string | undefined;
  selected: boolean;
}

const NOT_RUN = new Set(["pending", "not_started", "skipped"]);

export function StepPanel({ runId, stepId, uses, step, liveLog, selected }: Props) {
  // While the step runs, the stream's text is the newest; once it ended, the run's record
  // holds the whole log (the stream may have closed before sending its end).
  const logs = step.status === "running" ? (liveLog ?? step.logs) : step.logs || liveLog;
  return (
    <section
      id={`step-${stepId}`}
      className={`panel step-panel${selected ? " step-selected" : ""}`}
      aria-label={`Step ${stepId}`}
    >
      <h3>
        <code>
          <Name>{stepId}</Name>
        </code>{" "}
        {uses && <small className="hint">{uses}</small>} <StatusBadge status={step.status} />
      </h3>
      <p className="hint">
        {step.attempts} attempt{step.attempts === 1 ? "" : "s"}
        {step.items != null && <> · {step.items} items</>}
        {step.duration_ms != null && step.finished_at && (
          <> · {(step.duration_ms / 1000).toFixed(2)} s</>
        )}
        {step.started_at && <> · started {formatTime(step.started_at)}</>}
        {step.infra_retries > 0 && (
          <> · run again {step.infra_retries}× after an infrastructure failure</>
        )}
      </p>
      {step.error && <StepErrorView stepId={stepId} error={step.error} />}
      {step.infra_error && (
        <p className="hint">
          Last infrastructure failure: {String(step.infra_error.type)}:{" "}
          {String(step.infra_error.message)}
        </p>
      )}
      {!NOT_RUN.has(step.status) && (
        <div className="step-io">
          <div>
            <h4>Input</h4>
            {(step.executions ?? []).length === 0 ? (
              <p className="hint">Never rendered: the step failed before it was scheduled.</p>
            ) : (
              <JsonBlock value={step.input} label={`Input of step ${stepId}`} />
            )}
          </div>
          <div>
            <h4>Output</h4>
            {step.output === null || step.output === undefined ? (
              <p className="hint">{step.status === "running" ? "Not yet." : "None."}</p>
            ) : (
              <JsonBlock value={step.output} label={`Output of step ${stepId}`} />
            )}
          </div>
        </div>
      )}
      <h4>Logs</h4>
      {logs ? (
        <pre className="log-block" role="group" aria-label={`Logs of step ${stepId}`} tabIndex={0}>
          {logs}
        </pre>
      ) : (
        <p className="hint">{step.status === "running" ? "No log lines yet." : "No logs."}</p>
      )}
      <h4>Network</h4>
      <ConnectionsTable stepId={stepId} step={step} />
      <h4>Artifacts</h4>
      <StepArtifacts runId={runId} stepId={stepId} artifacts={step.artifacts ?? []} />
    </section>
  );
}

function StepErrorView({ stepId, error }: { stepId: string; error: Schemas["StepError"] }) {
  return (
    <div className="step-error" role="group" aria-label={`Error of step ${stepId}`}>
      <p>
        <strong>{error.type}</strong>: {error.message}
        {error.pointer && (
          <>
            {" "}
            at <code>{error.pointer}</code>
          </>
        )}
      </p>
      {error.items && error.items.length > 0 && (
        <ul>
          {error.items.map((item, index) => (
            <li key={index}>
              item {String(item.index)}: {String(item.type)}: {String(item.message)}
            </li>
          ))}
        </ul>
      )}
      {error.traceback && (
        <pre
          className="traceback"
          role="group"
          aria-label={`Traceback of step ${stepId}`}
          tabIndex={0}
        >
          {error.traceback}
        </pre>
      )}
    </div>
  );
}
