// The flows of the workspace: name, description, latest version, enabled, last update; a new
// flow, enable/disable, delete (after a confirmation) and the way to each flow's pages.
import { useState } from "react";
import { Link } from "wouter";
import { api, call, type Schemas } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Name, isolated } from "../../components/Name";
import { formatTime } from "../../components/time";
import { useApi } from "../../components/useApi";

type Flow = Schemas["FlowSummary"];

/** Every flow, following `next_cursor` to the last page. */
async function allFlows(): Promise<Flow[]> {
  const flows: Flow[] = [];
  let cursor: string | null = null;
  do {
    const page: Schemas["FlowPage"] = await call(
      api.GET("/v1/flows", { params: { query: { limit: 200, cursor } } }),
    );
    flows.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return flows;
}

export function FlowsPage() {
  const flows = useApi(allFlows, []);
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState<string | null>(null);

  const act = async (flow: Flow, action: () => Promise<unknown>) => {
    setBusy(flow.id);
    setActionError(undefined);
    try {
      await action();
      flows.reload();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(null);
    }
  };
  const toggle = (flow: Flow) =>
    act(flow, () => {
      const path = { params: { path: { flow_id: flow.id } } };
      return call(
        flow.enabled
          ? api.POST("/v1/flows/{flow_id}/disable", path)
          : api.POST("/v1/flows/{flow_id}/enable", path),
      );
    });
  const remove = (flow: Flow) => {
    const question = `Delete the flow "${isolated(flow.name)}" with its versions, webhook and schedules? Its runs stay.`;
    if (!window.confirm(question)) return;
    void act(flow, () =>
      call(api.DELETE("/v1/flows/{flow_id}", { params: { path: { flow_id: flow.id } } })),
    );
  };

  return (
    <section aria-labelledby="flows-title">
      <div className="toolbar">
        <h1 id="flows-title">Flows</h1>
        <Link href="/flows/new" className="button primary">
          New flow
        </Link>
      </div>
      <ErrorBanner error={flows.error} title="Could not list the flows" />
      <ErrorBanner error={actionError} />
      {flows.data && flows.data.length === 0 && (
        <EmptyState title="No flows yet.">
          Create one with <Link href="/flows/new">New flow</Link> (steps from the catalogue, wired
          with <code>{"{{ expressions }}"}</code>), or save a definition with{" "}
          <code>POST /v1/flows</code>.
        </EmptyState>
      )}
      {flows.data && flows.data.length > 0 && (
        <table aria-label="Flows">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Latest version</th>
              <th scope="col">Enabled</th>
              <th scope="col">Updated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {flows.data.map((flow) => (
              <tr key={flow.id}>
                <td>
                  <Link href={`/flows/${flow.id}`}>
                    <Name>{flow.name}</Name>
                  </Link>
                </td>
                <td>{flow.description && <Name className="clamp">{flow.description}</Name>}</td>
                <td>v{flow.latest_version}</td>
                <td>
                  <span
                    className={`status ${flow.enabled ? "status-succeeded" : "status-skipped"}`}
                  >
                    {flow.enabled ? "enabled" : "disabled"}
                  </span>
                </td>
                <td>{formatTime(flow.updated_at)}</td>
                <td className="actions">
                  <Link href={`/flows/${flow.id}/triggers`} aria-label={`Triggers of ${flow.name}`}>
                    Triggers
                  </Link>
                  <Link href={`/flows/${flow.id}/run`} aria-label={`Run ${flow.name} by hand`}>
                    Run
                  </Link>
                  <button
                    type="button"
                    onClick={() => void toggle(flow)}
                    disabled={busy === flow.id}
                    aria-label={`${flow.enabled ? "Disable" : "Enable"} ${flow.name}`}
                  >
                    {flow.enabled ? "Disable" : "Enable"}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => remove(flow)}
                    disabled={busy === flow.id}
                    aria-label={`Delete ${flow.name}`}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {flows.loading && !flows.data && <p className="loading">Loading flows…</p>}
    </section>
  );
}
