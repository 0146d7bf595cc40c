// Said when the builder restored unsaved changes (draft.ts): from when, on which version, and
// a way to throw them away.
import type { Draft } from "./draft";

export function DraftNotice({
  draft,
  latest,
  onDiscard,
  onKeep,
}: {
  draft: Draft;
  latest: number | null;
  onDiscard: () => void;
  onKeep: () => void;
}) {
  const when = new Date(draft.savedAt).toLocaleString();
  const moved = draft.baseVersion !== null && latest !== null && latest !== draft.baseVersion;
  return (
    <div className="draft-notice" role="status" aria-label="Unsaved changes restored">
      <p>
        Restored your unsaved changes from {when} (not saved yet).
        {moved &&
          ` They were made on version ${draft.baseVersion}; the flow has since been saved as version ${latest}.`}
      </p>
      <button type="button" onClick={onDiscard}>
        Discard changes
      </button>
      <button type="button" onClick={onKeep}>
        Keep editing
      </button>
    </div>
  );
}
