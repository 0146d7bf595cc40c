// Add or edit a schedule: cron (in a time zone) or a fixed interval, the trigger payload its
// runs get, a note, what a fire does while the previous run goes on. API errors appear on the
// field their pointer names.
import { useMemo, useState, type FormEvent } from "react";
import type { Schemas } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FieldError, errorsAt } from "../../components/fieldErrors";

type Schedule = Schemas["ScheduleOut"];
export type ScheduleFields = Schemas["ScheduleCreate"];

const OVERLAPS = [
  "skip",
  "buffer_one",
  "buffer_all",
  "cancel_other",
  "terminate_other",
  "allow_all",
] as const;

function timeZones(): string[] {
  const zones =
    typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

interface Props {
  /** The schedule to edit; a new one when absent. */
  schedule?: Schedule;
  /** Saves (`paused` only matters for a new schedule); throws the API's error to show. */
  onSave: (fields: ScheduleFields) => Promise<void>;
  onCancel?: () => void;
}

export function ScheduleForm({ schedule, onSave, onCancel }: Props) {
  const zones = useMemo(timeZones, []);
  const id = schedule ? `schedule-${schedule.id}` : "schedule-new";
  const [kind, setKind] = useState<"cron" | "interval">(schedule?.interval_s ? "interval" : "cron");
  const [cron, setCron] = useState(schedule?.cron ?? "0 9 * * 1-5");
  const [interval, setInterval] = useState(String(schedule?.interval_s ?? 3600));
  const [timezone, setTimezone] = useState(
    schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC",
  );
  const [payload, setPayload] = useState(
    schedule && schedule.payload !== null && schedule.payload !== undefined
      ? JSON.stringify(schedule.payload, null, 2)
      : "",
  );
  const [note, setNote] = useState(schedule?.note ?? "");
  const [overlap, setOverlap] = useState<(typeof OVERLAPS)[number]>(
    (schedule?.overlap as (typeof OVERLAPS)[number]) ?? "skip",
  );
  const [paused, setPaused] = useState(false);
  const [payloadError, setPayloadError] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // Each submit starts clean: an error of the last one (on any field) must not stay on
    // screen once its field is fixed, whatever this submit finds.
    setPayloadError("");
    setError(undefined);
    let parsed: unknown = null;
    if (payload.trim()) {
      try {
        parsed = JSON.parse(payload);
      } catch (failure) {
        setPayloadError(`The payload is not JSON: ${(failure as Error).message}`);
        return;
      }
    }
    // Only the chosen timing is sent: the API takes one of `cron` and `interval_s`, and a
    // change to one drops the other.
    const fields: ScheduleFields = {
      ...(kind === "cron" ? { cron } : { interval_s: Number(interval) }),
      timezone,
      payload: parsed,
      note,
      overlap,
      paused,
    };
    setBusy(true);
    try {
      await onSave(fields);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const field = (name: string) => ({ id: `${id}-${name}`, messages: errorsAt(error, `/${name}`) });
  const described = (name: string) =>
    errorsAt(error, `/${name}`).length
      ? { "aria-describedby": `${id}-${name}-error`, "aria-invalid": true }
      : {};
  const cronErrors = field("cron");
  const intervalErrors = field("interval_s");
  const zoneErrors = field("timezone");
  const payloadErrors = [...(payloadError ? [payloadError] : []), ...field("payload").messages];

  return (
    <form
      className="schedule-form"
      onSubmit={(event) => void submit(event)}
      aria-label={schedule ? "Edit schedule" : "Add schedule"}
    >
      <ErrorBanner error={error} />
      <fieldset>
        <legend>When</legend>
        <label className="inline">
          <input
            type="radio"
            name={`${id}-kind`}
            checked={kind === "cron"}
            onChange={() => setKind("cron")}
          />
          Cron
        </label>
        <label className="inline">
          <input
            type="radio"
            name={`${id}-kind`}
            checked={kind === "interval"}
            onChange={() => setKind("interval")}
          />
          Interval
        </label>
      </fieldset>
      {kind === "cron" ? (
        <div className="field">
          <label htmlFor={`${id}-cron`}>Cron expression</label>
          <input
            id={`${id}-cron`}
            value={cron}
            onChange={(event) => setCron(event.target.value)}
            {...described("cron")}
          />
          <span className="hint">minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5</span>
          <FieldError id={`${cronErrors.id}-error`} messages={cronErrors.messages} />
        </div>
      ) : (
        <div className="field">
          <label htmlFor={`${id}-interval`}>Every (seconds)</label>
          <input
            id={`${id}-interval`}
            type="number"
            min={60}
            value={interval}
            onChange={(event) => setInterval(event.target.value)}
            {...described("interval_s")}
          />
          <FieldError id={`${intervalErrors.id}-error`} messages={intervalErrors.messages} />
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-timezone`}>Time zone</label>
        <select
          id={`${id}-timezone`}
          value={timezone}
          onChange={(event) => setTimezone(event.target.value)}
          {...described("timezone")}
        >
          {zones.map((zone) => (
            <option key={zone} value={zone}>
              {zone}
            </option>
          ))}
        </select>
        <FieldError id={`${zoneErrors.id}-error`} messages={zoneErrors.messages} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-payload`}>Payload (JSON the runs get as trigger; optional)</label>
        <textarea
          id={`${id}-payload`}
          className="code"
          rows={3}
          value={payload}
          onChange={(event) => setPayload(event.target.value)}
          {...(payloadErrors.length
            ? { "aria-describedby": `${id}-payload-error`, "aria-invalid": true }
            : {})}
        />
        <FieldError id={`${id}-payload-error`} messages={payloadErrors} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-note`}>Note</label>
        <input id={`${id}-note`} value={note} onChange={(event) => setNote(event.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-overlap`}>While the previous run goes on</label>
        <select
          id={`${id}-overlap`}
          value={overlap}
          onChange={(event) => setOverlap(event.target.value as (typeof OVERLAPS)[number])}
        >
          {OVERLAPS.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      </div>
      {!schedule && (
        <label className="inline">
          <input
            type="checkbox"
            checked={paused}
            onChange={(event) => setPaused(event.target.checked)}
          />
          Create it paused
        </label>
      )}
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy}>
          {schedule ? "Save schedule" : "Add schedule"}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
