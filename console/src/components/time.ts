/** A timestamp from the API (ISO 8601) in the viewer's locale, or "—" when absent. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** Seconds between two ISO timestamps, e.g. "1.24 s", or "" when either is missing. */
export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start || !end) return "";
  const seconds = (new Date(end).getTime() - new Date(start).getTime()) / 1000;
  return Number.isFinite(seconds) ? `${seconds.toFixed(2)} s` : "";
}
