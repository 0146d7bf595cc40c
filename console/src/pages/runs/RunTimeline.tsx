// A timeline of the run's step executions: a bar per execution, placed relative to the run's
// start (the light part waits for a container and holds earlier attempts, the solid part is the
// latest attempt), and the same facts in a table for screen readers and exact reading.
import { useEffect, useState } from "react";
import type { Schemas } from "../../api/client";
import { formatTime } from "../../components/time";
import { Name } from "../../components/Name";
import type { RunDetail } from "./liveRun";
import { StatusBadge } from "./StatusBadge";

type Execution = Schemas["StepExecution"];

const ms = (value: string | null | undefined) => (value ? new Date(value).getTime() : NaN);

/** Seconds from `origin` to `value`, e.g. "+1.20 s". */
function offset(origin: number, value: string | null | undefined): string {
  const at = ms(value);
  return Number.isFinite(at) ? `+${((at - origin) / 1000).toFixed(2)} s` : "—";
}

function seconds(from: number, to: number): string {
  if (!Number.isFinite(from) || !Number.isFinite(to)) return "—";
  return `${((to - from) / 1000).toFixed(2)} s`;
}

const rowKey = (stepId: string, execution: Execution) =>
  `${stepId}/${execution.execution_id}/${execution.scheduled_at}`;

/** The current time, ticking every second while `live`. */
function useNow(live: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  return live ? now : Date.now();
}

export function RunTimeline({ run }: { run: RunDetail }) {
  const running = run.status === "running";
  const now = useNow(running);
  const origin = ms(run.started_at);
  const rows = Object.entries(run.steps).flatMap(([stepId, step]) =>
    (step.executions ?? []).map((execution) => ({ stepId, execution })),
  );
  if (rows.length === 0) {
    return <p className="hint">No step has been scheduled yet.</p>;
  }
  const ends = rows.map(({ execution }) => ms(execution.finished_at) || now);
  const end = Math.max(ms(run.closed_at) || now, ...ends);
  const span = Math.max(end - origin, 1);
  const at = (value: number) => `${(Math.min(Math.max(value - origin, 0), span) / span) * 100}%`;
  const width = (from: number, to: number) => `${(Math.max(to - from, 0) / span) * 100}%`;

  return (
    <div className="run-timeline">
      <div className="timeline-bars" aria-hidden="true">
        {rows.map(({ stepId, execution }) => {
          const scheduled = ms(execution.scheduled_at);
          const started = ms(execution.started_at);
          const finished = ms(execution.finished_at) || now;
          const began = Number.isFinite(started) ? started : finished;
          return (
            <div className="timeline-row" key={rowKey(stepId, execution)}>
              <span className="timeline-label" title={execution.execution_id}>
                <Name>{execution.execution_id}</Name>
                {execution.attempt > 1 && <small> ×{execution.attempt}</small>}
              </span>
              <span className="timeline-track">
                <span
                  className="timeline-wait"
                  style={{ left: at(scheduled), width: width(scheduled, began) }}
                />
                {Number.isFinite(started) && (
                  <span
                    className={`timeline-bar status-${execution.status}`}
                    style={{ left: at(started), width: width(started, finished) }}
                  />
                )}
              </span>
              <span className="timeline-time">
                {seconds(Number.isFinite(started) ? started : scheduled, finished)}
              </span>
            </div>
          );
        })}
        <div className="timeline-axis">
          <span>0 s</span>
          <span>{seconds(origin, end)}</span>
        </div>
      </div>
      <table aria-label="Step executions" className="timeline-table">
        <caption className="hint">
          Times are from the run's start ({formatTime(run.started_at)}). An execution's wait holds
          its earlier attempts; its worker is the one that ran its latest attempt.
        </caption>
        <thead>
          <tr>
            <th scope="col">Execution</th>
            <th scope="col">Attempt</th>
            <th scope="col">Status</th>
            <th scope="col">Scheduled</th>
            <th scope="col">Started</th>
            <th scope="col">Finished</th>
            <th scope="col">Duration</th>
            <th scope="col">Worker</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ stepId, execution }) => (
            <ExecutionRow key={rowKey(stepId, execution)} execution={execution} origin={origin} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ExecutionRow({ execution, origin }: { execution: Execution; origin: number }) {
  const started = ms(execution.started_at);
  const finished = ms(execution.finished_at);
  return (
    <tr>
      <th scope="row">
        <code>
          <Name>{execution.execution_id}</Name>
        </code>
      </th>
      <td>{execution.attempt || "—"}</td>
      <td>
        <StatusBadge status={execution.status} />
        {execution.error_type && <> {execution.error_type}</>}
      </td>
      <td>{offset(origin, execution.scheduled_at)}</td>
      <td>{offset(origin, execution.started_at)}</td>
      <td>{offset(origin, execution.finished_at)}</td>
      <td>
        {execution.duration_ms != null
          ? `${(execution.duration_ms / 1000).toFixed(2)} s in the container`
          : Number.isFinite(finished)
            ? seconds(started, finished)
            : "—"}
      </td>
      <td>
        {execution.worker ? (
          <code title="the worker's owner id (its stepwell.owner container label)">
            {execution.worker}
          </code>
        ) : (
          "—"
        )}
      </td>
    </tr>
  );
}
