// The header every page about one flow shares: its name and tabs for Builder, Versions,
// Triggers, Run by hand and Runs. Each page passes the tab it is (every page about one flow has
// its own tab); the flow's name is loaded here once.
import type { ReactNode } from "react";
import { Link } from "wouter";
import { api, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useApi } from "../../components/useApi";

export type FlowTab = "builder" | "versions" | "triggers" | "run" | "runs";

const TABS: Array<{ tab: FlowTab; label: string; href: (id: string) => string }> = [
  { tab: "builder", label: "Builder", href: (id) => `/flows/${id}` },
  { tab: "versions", label: "Versions", href: (id) => `/flows/${id}/versions` },
  { tab: "triggers", label: "Triggers", href: (id) => `/flows/${id}/triggers` },
  { tab: "run", label: "Run by hand", href: (id) => `/flows/${id}/run` },
  { tab: "runs", label: "Runs", href: (id) => `/runs?flow=${encodeURIComponent(id)}` },
];

export interface FlowHeaderProps {
  flowId: string;
  current: FlowTab;
  /** The flow's name when the page already has it (saves a request). */
  name?: string;
  /** Extra controls at the right of the title (e.g. Save). */
  children?: ReactNode;
}

export function FlowHeader({ flowId, current, name, children }: FlowHeaderProps) {
  const loaded = useApi(
    async () =>
      name ??
      (await call(api.GET("/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } }))).name,
    [flowId, name],
  );
  const title = name ?? loaded.data;
  return (
    <header className="flow-header">
      <div className="flow-title">
        <p className="hint">
          <Link href="/flows">Flows</Link> / <code>{flowId}</code>
        </p>
        <h1>{title ?? (loaded.loading ? "Loading flow…" : flowId)}</h1>
        {children && <div className="flow-actions">{children}</div>}
      </div>
      <ErrorBanner error={loaded.error} title="The flow could not be loaded" />
      <nav className="flow-tabs" aria-label="Flow sections">
        {TABS.map((item) => (
          <Link
            key={item.tab}
            href={item.href(flowId)}
            aria-current={item.tab === current ? "page" : undefined}
          >
            {item.label}
          </Link>
        ))}
      </nav>
    </header>
  );
}
