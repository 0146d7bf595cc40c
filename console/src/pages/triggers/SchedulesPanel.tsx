// A flow's schedules with their next fire times (GET /v1/schedules/{id} has them): add, edit,
// pause, resume, trigger now, delete.
import { useState } from "react";
import { Link } from "wouter";
import { api, call, type Schemas } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Name } from "../../components/Name";
import { formatTime } from "../../components/time";
import { useApi } from "../../components/useApi";
import { ScheduleForm, type ScheduleFields } from "./ScheduleForm";

type Detail = Schemas["ScheduleDetail"];

/** How many seconds "Trigger now" looks for the run it started. */
const TRIGGER_LOOKS = 30;

async function schedulesOf(flowId: string): Promise<Detail[]> {
  const list = await call(
    api.GET("/v1/flows/{flow_id}/schedules", { params: { path: { flow_id: flowId } } }),
  );
  return Promise.all(
    list.map((schedule) =>
      call(
        api.GET("/v1/schedules/{schedule_id}", { params: { path: { schedule_id: schedule.id } } }),
      ),
    ),
  );
}

/** "cron 0 9 * * 1-5 (Europe/Berlin)" or "every 3600 s". */
export function describeTiming(schedule: Schemas["ScheduleOut"]): string {
  if (schedule.cron) return `cron ${schedule.cron} (${schedule.timezone})`;
  return `every ${schedule.interval_s} s`;
}

/** A fire time in the schedule's own time zone (the one its cron expression is read in). */
function inZone(time: string, timeZone: string): string {
  try {
    return new Date(time).toLocaleString(undefined, { timeZone, timeZoneName: "short" });
  } catch {
    return formatTime(time);
  }
}

function state(schedule: Detail): string {
  if (schedule.paused) return "paused";
  return schedule.active ? "active" : "inactive (the flow is disabled)";
}

export function SchedulesPanel({ flowId }: { flowId: string }) {
  const schedules = useApi(() => schedulesOf(flowId), [flowId]);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState("");

  const act = async (action: () => Promise<unknown>, done = "") => {
    setError(undefined);
    setNotice("");
    try {
      await action();
      if (done) setNotice(done);
      schedules.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const path = (schedule: Detail) => ({ params: { path: { schedule_id: schedule.id } } });

  const create = async (fields: ScheduleFields) => {
    await call(
      api.POST("/v1/flows/{flow_id}/schedules", {
        params: { path: { flow_id: flowId } },
        body: fields,
      }),
    );
    setAdding(false);
    schedules.reload();
  };
  const change = (schedule: Detail) => async (fields: ScheduleFields) => {
    const { paused: _ignored, ...body } = fields;
    await call(api.PATCH("/v1/schedules/{schedule_id}", { ...path(schedule), body }));
    setEditing(null);
    schedules.reload();
  };
  const remove = (schedule: Detail) => {
    if (!window.confirm(`Delete the schedule ${describeTiming(schedule)}? It stops firing now.`))
      return;
    void act(
      () => call(api.DELETE("/v1/schedules/{schedule_id}", path(schedule))),
      "Schedule deleted.",
    );
  };
  const triggerNow = (schedule: Detail) =>
    act(async () => {
      const started = await call(api.POST("/v1/schedules/{schedule_id}/trigger", path(schedule)));
      setNotice(`Triggered: a run whose id starts with ${started.run_id_prefix} is starting…`);
      // Temporal starts the run a moment after accepting the trigger: look until it shows.
      for (let look = 0; look < TRIGGER_LOOKS; look++) {
        await new Promise((resolve) => window.setTimeout(resolve, 1000));
        const detail = await call(api.GET("/v1/schedules/{schedule_id}", path(schedule)));
        if (detail.runs_started > schedule.runs_started) {
          setNotice(
            `Triggered: run ${detail.recent_runs.at(-1)?.run_id ?? started.run_id_prefix} started.`,
          );
          return;
        }
      }
    });

  return (
    <section className="panel" aria-labelledby="schedules-title">
      <div className="toolbar">
        <h2 id="schedules-title">Schedules</h2>
        {!adding && (
          <button type="button" onClick={() => setAdding(true)}>
            New schedule
          </button>
        )}
      </div>
      <ErrorBanner error={schedules.error} title="Could not read the schedules" />
      <ErrorBanner error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {adding && <ScheduleForm onSave={create} onCancel={() => setAdding(false)} />}
      {schedules.data?.length === 0 && !adding && (
        <EmptyState title="No schedules.">
          Add one with New schedule to run this flow on a cron expression or every few minutes.
        </EmptyState>
      )}
      <ul className="schedules" aria-label="Schedules">
        {schedules.data?.map((schedule) => (
          <li
            key={schedule.id}
            className="schedule"
            aria-label={`Schedule ${describeTiming(schedule)}`}
          >
            <div className="toolbar">
              <strong>{describeTiming(schedule)}</strong>
              <span className={`status ${schedule.active ? "status-succeeded" : "status-skipped"}`}>
                {state(schedule)}
              </span>
              {schedule.note && <Name className="hint">{schedule.note}</Name>}
            </div>
            <dl className="facts">
              <dt>Next fire times</dt>
              <dd>
                {schedule.next_fire_times.length ? (
                  <ol className="fire-times" aria-label="Next fire times">
                    {schedule.next_fire_times.map((time) => (
                      <li key={time}>
                        <time dateTime={time}>{inZone(time, schedule.timezone)}</time>
                      </li>
                    ))}
                  </ol>
                ) : (
                  "none while paused or inactive"
                )}
              </dd>
              <dt>Payload</dt>
              <dd>
                <code>{schedule.payload === null ? "none" : JSON.stringify(schedule.payload)}</code>
              </dd>
              <dt>Runs started</dt>
              <dd>
                {schedule.runs_started} (skipped {schedule.fires_skipped}, missed{" "}
                {schedule.fires_missed})
              </dd>
              <dt>Recent runs</dt>
              <dd>
                {schedule.recent_runs.length ? (
                  <ul aria-label="Recent runs">
                    {schedule.recent_runs.map((run) => (
                      <li key={run.run_id}>
                        <Link href={`/runs/${run.run_id}`}>
                          <Name>{run.run_id}</Name>
                        </Link>{" "}
                        ({formatTime(run.started_at)})
                      </li>
                    ))}
                  </ul>
                ) : (
                  "none yet"
                )}
              </dd>
            </dl>
            <div className="toolbar">
              <button
                type="button"
                onClick={() => setEditing(editing === schedule.id ? null : schedule.id)}
              >
                Edit
              </button>
              {schedule.paused ? (
                <button
                  type="button"
                  onClick={() =>
                    void act(
                      () => call(api.POST("/v1/schedules/{schedule_id}/resume", path(schedule))),
                      "Schedule resumed.",
                    )
                  }
                >
                  Resume
                </button>
              ) : (
                <button
                  type="button"
                  onClick={() =>
                    void act(
                      () => call(api.POST("/v1/schedules/{schedule_id}/pause", path(schedule))),
                      "Schedule paused.",
                    )
                  }
                >
                  Pause
                </button>
              )}
              <button type="button" onClick={() => void triggerNow(schedule)}>
                Trigger now
              </button>
              <button type="button" onClick={() => schedules.reload()}>
                Refresh
              </button>
              <button type="button" className="danger" onClick={() => remove(schedule)}>
                Delete
              </button>
            </div>
            {editing === schedule.id && (
              <ScheduleForm
                schedule={schedule}
                onSave={change(schedule)}
                onCancel={() => setEditing(null)}
              />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
