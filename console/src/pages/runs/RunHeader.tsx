// The top of a run's page: its status and facts (flow and version, trigger, times), the run's
// input, output and error, and the Cancel (while it runs) and Re-run buttons.
import { useState } from "react";
import { Link, useLocation } from "wouter";
import { api, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Name } from "../../components/Name";
import { duration, formatTime } from "../../components/time";
import type { Connection, RunDetail } from "./liveRun";
import { StatusBadge } from "./StatusBadge";

const CONNECTION: Record<Connection, string> = {
  idle: "",
  connecting: "connecting to live updates…",
  live: "live",
  reconnecting: "live updates interrupted, reconnecting…",
  ended: "",
  refused: "live updates refused (the error is above)",
};

interface Props {
  run: RunDetail;
  flowName: string | undefined;
  connection: Connection;
  /** The run could not be read again after the stream changed it: its end is not known. */
  unread: boolean;
}

const UNREAD = "not known: the run could not be read (the error is above)";

export function RunHeader({ run, flowName, connection, unread }: Props) {
  const [, navigate] = useLocation();
  const [busy, setBusy] = useState<"cancel" | "rerun" | null>(null);
  const [cancelAsked, setCancelAsked] = useState(false);
  const [failure, setFailure] = useState<{ action: string; error: unknown }>();
  const running = run.status === "running";
  const path = { params: { path: { run_id: run.run_id } } };

  const cancel = async () => {
    setBusy("cancel");
    setFailure(undefined);
    try {
      await call(api.POST("/v1/runs/{run_id}/cancel", path));
      setCancelAsked(true);
    } catch (error) {
      setFailure({ action: "Cancel failed", error });
    } finally {
      setBusy(null);
    }
  };
  const rerun = async () => {
    setBusy("rerun");
    setFailure(undefined);
    try {
      const started = await call(api.POST("/v1/runs/{run_id}/rerun", path));
      navigate(`/runs/${encodeURIComponent(started.run_id)}`);
    } catch (error) {
      setFailure({ action: "Re-run failed", error });
      setBusy(null);
    }
  };

  return (
    <header className="run-header">
      <p className="hint">
        <Link href="/runs">Runs</Link> /{" "}
        <code>
          <Name>{run.run_id}</Name>
        </code>
      </p>
      <div className="run-title">
        <h1>
          <span className="run-of">
            Run of <Name>{flowName ?? run.flow_id ?? "a flow"}</Name>
          </span>{" "}
          <span role="status" aria-label="Run status">
            <StatusBadge status={run.status} />
          </span>
        </h1>
        <div className="toolbar">
          {running && (
            <button
              type="button"
              className="danger"
              onClick={cancel}
              disabled={busy !== null || cancelAsked}
            >
              {cancelAsked ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          <button type="button" onClick={rerun} disabled={busy !== null}>
            Re-run
          </button>
        </div>
      </div>
      {running && CONNECTION[connection] && (
        <p className="hint" aria-live="polite">
          {CONNECTION[connection]}
        </p>
      )}
      <ErrorBanner error={failure?.error} title={failure?.action} />
      <dl className="run-facts" aria-label="Run facts">
        <dt>Flow</dt>
        <dd>
          {run.flow_id ? (
            <Link href={`/flows/${encodeURIComponent(run.flow_id)}`}>
              <Name>{flowName ?? run.flow_id}</Name>
            </Link>
          ) : (
            "—"
          )}
          {run.flow_version != null && <> · version {run.flow_version}</>}
        </dd>
        <dt>Trigger</dt>
        <dd>{run.trigger ?? "—"}</dd>
        <dt>Started</dt>
        <dd>{formatTime(run.started_at)}</dd>
        <dt>Ended</dt>
        <dd>{unread ? UNREAD : running ? "still running" : formatTime(run.closed_at)}</dd>
        <dt>Duration</dt>
        <dd>{unread ? UNREAD : duration(run.started_at, run.closed_at) || "—"}</dd>
        <dt>Temporal</dt>
        <dd>
          <a href={run.links.temporal_ui} target="_blank" rel="noreferrer">
            this run in the Temporal UI
          </a>
        </dd>
      </dl>
    </header>
  );
}
