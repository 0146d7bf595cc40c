// User-supplied names (flows, steps, secrets, runs, descriptions, notes) shown among the
// console's own words. Each is bidi-isolated, so a right-to-left override or a right-to-left
// script in a name reorders only the name itself, never the text around it; long names wrap
// (styles.css `.name`) instead of widening the page.

/** First Strong Isolate and Pop Directional Isolate: <bdi> for plain strings. */
const FSI = "\u2068";
const PDI = "\u2069";

/** A name as an isolated inline element (an HTML <bdi>). */
export function Name({ children, className }: { children: string; className?: string }) {
  return <bdi className={className ? `name ${className}` : "name"}>{children}</bdi>;
}

/** `text` isolated with FSI…PDI, for strings that cannot hold an element (dialogs, options). */
export function isolated(text: string): string {
  return `${FSI}${text}${PDI}`;
}
