// Descriptions with Markdown-like code spans (`code` or ``code with ` inside``): the spans
// become <code> elements and the rest stays text. Built from React text nodes only, never as
// HTML, so nothing in a description can inject markup.
import { Fragment } from "react";

export type Piece = { code: boolean; text: string };

/** `text` cut into plain and code pieces. A run of backticks opens a span that the next run of
 * the same length closes; an unclosed run stays as it is. One space just inside both ends of a
 * span is dropped (so `` `a` `` can show a backtick). */
export function codePieces(text: string): Piece[] {
  const pieces: Piece[] = [];
  let plain = "";
  let at = 0;
  while (at < text.length) {
    const open = /`+/.exec(text.slice(at));
    if (!open) break;
    const start = at + open.index;
    const fence = open[0];
    const close = findRun(text, start + fence.length, fence.length);
    if (close < 0) {
      plain += text.slice(at, start + fence.length);
      at = start + fence.length;
      continue;
    }
    plain += text.slice(at, start);
    let inner = text.slice(start + fence.length, close);
    if (inner.length > 2 && inner.startsWith(" ") && inner.endsWith(" ") && inner.trim()) {
      inner = inner.slice(1, -1);
    }
    if (plain) pieces.push({ code: false, text: plain });
    plain = "";
    pieces.push({ code: true, text: inner });
    at = close + fence.length;
  }
  plain += text.slice(at);
  if (plain) pieces.push({ code: false, text: plain });
  return pieces;
}

/** Where a run of exactly `length` backticks starts at or after `from`, or -1. */
function findRun(text: string, from: number, length: number): number {
  const runs = /`+/g;
  runs.lastIndex = from;
  for (let run = runs.exec(text); run; run = runs.exec(text)) {
    if (run[0].length === length) return run.index;
  }
  return -1;
}

/** `text` with its code spans as <code>. */
export function CodeText({ text }: { text: string }) {
  return (
    <>
      {codePieces(text).map((piece, index) =>
        piece.code ? (
          <code key={index}>{piece.text}</code>
        ) : (
          <Fragment key={index}>{piece.text}</Fragment>
        ),
      )}
    </>
  );
}
