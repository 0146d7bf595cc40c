/** A JSON value, pretty-printed, in a labelled read-only block (focusable, so it scrolls with
 * the keyboard; a group, so its label is announced). */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const text = value === undefined ? "" : JSON.stringify(value, null, 2);
  return (
    <pre className="json-block" role="group" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}
