/** A JSON value, pretty-printed, in a labelled read-only block. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const text = value === undefined ? "" : JSON.stringify(value, null, 2);
  return (
    <pre className="json-block" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}
