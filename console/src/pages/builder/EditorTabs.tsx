// The builder's two views of one definition (visual editor, JSON) as ARIA tabs: one tab stop,
// the arrow keys (and Home, End) move between the tabs and show the one they reach.
import { useRef, type KeyboardEvent, type ReactNode } from "react";

export type View = "visual" | "json";

const TABS: { view: View; label: string }[] = [
  { view: "visual", label: "Visual editor" },
  { view: "json", label: "JSON" },
];
const PANEL_ID = "editor-panel";
const tabId = (view: View) => `editor-tab-${view}`;

export function EditorTabs({ view, onChange }: { view: View; onChange: (view: View) => void }) {
  const list = useRef<HTMLDivElement>(null);
  const onKeyDown = (event: KeyboardEvent) => {
    const at = TABS.findIndex((tab) => tab.view === view);
    const next = {
      ArrowRight: (at + 1) % TABS.length,
      ArrowLeft: (at - 1 + TABS.length) % TABS.length,
      Home: 0,
      End: TABS.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    onChange(TABS[next].view);
    list.current?.querySelector<HTMLElement>(`#${tabId(TABS[next].view)}`)?.focus();
  };
  return (
    <div role="tablist" aria-label="Editor" className="view-tabs" ref={list} onKeyDown={onKeyDown}>
      {TABS.map((tab) => (
        <button
          key={tab.view}
          id={tabId(tab.view)}
          type="button"
          role="tab"
          aria-selected={view === tab.view}
          aria-controls={PANEL_ID}
          tabIndex={view === tab.view ? 0 : -1}
          onClick={() => onChange(tab.view)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

/** What the selected tab shows. */
export function EditorPanel({ view, children }: { view: View; children: ReactNode }) {
  return (
    <div role="tabpanel" id={PANEL_ID} aria-labelledby={tabId(view)}>
      {children}
    </div>
  );
}
