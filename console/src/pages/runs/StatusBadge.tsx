/** A run's or a step's status as a coloured badge (the colours are in styles.css). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status.replace("_", " ")}</span>;
}
