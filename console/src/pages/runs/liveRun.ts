// What the run page shows of a run while it goes: GET /v1/runs/{id} for the whole picture, and
// its Server-Sent Events (GET /v1/runs/{id}/events, see ui_api/runs/events.py) for the moment
// anything changes: `progress` patches the statuses at once and asks for the whole run again,
// `log` carries log text live, `end` closes. While the run goes it is also read every few seconds
// for what the stream does not carry (when an execution started, its input). The stream is
// opened with fetch-event-source so the Authorization header is sent; it stops when the run ends
// or the page is left, and reconnects with a growing pause when the connection drops (or
// Temporal is briefly unreachable).
import { fetchEventSource, type EventSourceMessage } from "@microsoft/fetch-event-source";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, call, toApiError, type Schemas } from "../../api/client";
import { currentKey } from "../../session";

export type RunDetail = Schemas["RunDetail"];
export type Connection = "idle" | "connecting" | "live" | "reconnecting" | "ended" | "refused";

interface ProgressStep {
  status: string;
  attempts?: number;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
}
interface Progress {
  status: RunDetail["status"];
  steps: Record<string, ProgressStep>;
}
interface End {
  status: RunDetail["status"];
  output: unknown;
  error: RunDetail["error"];
}
interface Log {
  step_id: string;
  text: string;
  replace: boolean;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15000;
// What the stream does not carry (an execution's start, its input) is read again this often.
const REREAD_MS = 3000;

/** The run with a `progress` event's statuses, attempts and times applied. */
export function withProgress(run: RunDetail, progress: Progress): RunDetail {
  const steps = { ...run.steps };
  for (const [id, live] of Object.entries(progress.steps ?? {})) {
    const known = steps[id];
    if (!known) continue;
    steps[id] = {
      ...known,
      status: live.status,
      attempts: live.attempts ?? known.attempts,
      started_at: live.started_at ?? known.started_at,
      finished_at: live.finished_at ?? known.finished_at,
      duration_ms: live.duration_ms ?? known.duration_ms,
    };
  }
  return { ...run, status: progress.status, steps };
}

/** A reason to stop reconnecting: the API refused the stream (e.g. 404). */
class Refused extends Error {
  constructor(readonly error: unknown) {
    super("refused");
  }
}
/** The stream closed before the run's `end`: reconnect. */
class Dropped extends Error {}

export interface LiveRun {
  run: RunDetail | undefined;
  error: unknown;
  /** Log text streamed since the connection opened, by step id (whole log once it ended). */
  logs: Record<string, string>;
  connection: Connection;
  /** Whether the last read of the run succeeded after every change the stream applied; when
   * not (and `error` says why), facts only a read gives (end time, outputs) are not known. */
  confirmed: boolean;
  /** Why the stream is down (it reconnects unless the API refused it). */
  streamError: unknown;
  refresh: () => void;
}

export function useLiveRun(runId: string): LiveRun {
  const [run, setRun] = useState<RunDetail>();
  const [error, setError] = useState<unknown>();
  const [logs, setLogs] = useState<Record<string, string>>({});
  const [connection, setConnection] = useState<Connection>("idle");
  const [streamError, setStreamError] = useState<unknown>();
  const [confirmed, setConfirmed] = useState(true);

  // One read at a time; a request made meanwhile reads once more when it is done.
  const reading = useRef(false);
  const again = useRef(false);
  const refresh = useCallback(() => {
    if (reading.current) {
      again.current = true;
      return;
    }
    reading.current = true;
    call(api.GET("/v1/runs/{run_id}", { params: { path: { run_id: runId } } }))
      .then(
        (data) => {
          setRun(data);
          setError(undefined);
          setConfirmed(true);
        },
        (failure: unknown) => setError(failure),
      )
      .finally(() => {
        reading.current = false;
        if (again.current) {
          again.current = false;
          refresh();
        }
      });
  }, [runId]);

  useEffect(refresh, [refresh]);

  const running = run?.status === "running";
  useEffect(() => {
    if (!running) return;
    const stop = new AbortController();
    let ended = false;
    let failures = 0;
    setConnection("connecting");
    const onMessage = (message: EventSourceMessage) => {
      const data: unknown = message.data ? JSON.parse(message.data) : null;
      if (message.event === "progress") {
        setRun((previous) => previous && withProgress(previous, data as Progress));
        setConfirmed(false);
        refresh();
      } else if (message.event === "log") {
        const log = data as Log;
        setLogs((previous) => ({
          ...previous,
          [log.step_id]: log.replace ? log.text : (previous[log.step_id] ?? "") + log.text,
        }));
      } else if (message.event === "end") {
        const end = data as End;
        ended = true;
        setRun((previous) => previous && { ...previous, ...end });
        setConfirmed(false);
        setConnection("ended");
        refresh();
      } else if (message.event === "error") {
        setStreamError(new Error((data as { message?: string })?.message ?? "the stream failed"));
      }
    };
    fetchEventSource(`/v1/runs/${encodeURIComponent(runId)}/events`, {
      headers: { Authorization: `Bearer ${currentKey() ?? ""}`, Accept: "text/event-stream" },
      signal: stop.signal,
      async onopen(response) {
        const type = response.headers.get("content-type") ?? "";
        if (!response.ok || !type.startsWith("text/event-stream")) {
          const body: unknown = await response.json().catch(() => null);
          throw new Refused(toApiError(response.status, body, response.statusText));
        }
        failures = 0;
        setLogs({});
        setStreamError(undefined);
        setConnection("live");
      },
      onmessage: onMessage,
      onclose() {
        if (!ended) throw new Dropped("the stream closed before the run ended");
      },
      onerror(failure: unknown) {
        if (failure instanceof Refused) {
          setStreamError(failure.error);
          setConnection("refused");
          throw failure;
        }
        failures += 1;
        setConnection("reconnecting");
        refresh(); // what happened while the stream was down
        return Math.min(RETRY_FIRST_MS * 2 ** (failures - 1), RETRY_MAX_MS);
      },
    }).catch(() => {
      // refused: the error is shown; nothing to retry
    });
    const reread = setInterval(refresh, REREAD_MS);
    return () => {
      stop.abort();
      clearInterval(reread);
    };
  }, [running, runId, refresh]);

  return { run, error, logs, connection, confirmed, streamError, refresh };
}
