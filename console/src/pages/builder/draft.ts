// Unsaved builder work, kept in sessionStorage (this tab only) per workspace and flow ("new"
// for an unsaved one): written on every change, restored when the builder opens the flow again
// (after another page, a reload, or signing in again after a refused key), removed on Save or
// Discard. It holds the JSON view's text too when that text does not parse.
import { useEffect } from "react";
import type { FlowDef } from "./definition";

export interface Draft {
  definition: FlowDef;
  /** The version the changes were made on (null for a new flow). */
  baseVersion: number | null;
  /** The JSON view's text when it did not parse (else null). */
  jsonText: string | null;
  /** JSON literal inputs' text that did not parse, by `step id|field path`. */
  unparsed: Record<string, string>;
  savedAt: string;
}

const PREFIX = "stepwell.builder-draft";

function storageKey(workspaceId: string, flowId: string | null): string {
  return `${PREFIX}:${workspaceId}:${flowId ?? "new"}`;
}

export function readDraft(workspaceId: string, flowId: string | null): Draft | null {
  try {
    const text = sessionStorage.getItem(storageKey(workspaceId, flowId));
    const draft = text ? (JSON.parse(text) as Draft) : null;
    return draft && typeof draft.definition === "object" ? draft : null;
  } catch {
    return null;
  }
}

export function writeDraft(
  workspaceId: string,
  flowId: string | null,
  draft: Omit<Draft, "savedAt">,
): void {
  const value = JSON.stringify({ ...draft, savedAt: new Date().toISOString() });
  try {
    sessionStorage.setItem(storageKey(workspaceId, flowId), value);
  } catch {
    // Storage full or disabled: the beforeunload prompt still warns.
  }
}

export function dropDraft(workspaceId: string, flowId: string | null): void {
  sessionStorage.removeItem(storageKey(workspaceId, flowId));
}

/**
 * Drops every draft of this tab: signing out means the next person at this tab sees none of
 * the previous one's unsaved work (a refused key keeps them: the same person signs in again).
 */
export function dropAllDrafts(): void {
  const keys = Array.from({ length: sessionStorage.length }, (_, index) =>
    sessionStorage.key(index),
  );
  for (const key of keys) if (key?.startsWith(`${PREFIX}:`)) sessionStorage.removeItem(key);
}

/** While `unsaved`, leaving or reloading the page asks first (the browser's own prompt). */
export function useLeavePrompt(unsaved: boolean): void {
  useEffect(() => {
    if (!unsaved) return;
    const ask = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Older Chromium versions prompt only when returnValue is set.
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", ask);
    return () => window.removeEventListener("beforeunload", ask);
  }, [unsaved]);
}
