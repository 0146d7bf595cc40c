// `/runs`: the workspace's runs, newest first, filtered by flow, status and trigger (kept in the
// hash's query, so a reload or a link keeps them), a page at a time.
import { useState } from "react";
import { Link, useSearchParams } from "wouter";
import { api, call, type Schemas } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { Name } from "../../components/Name";
import { ErrorBanner } from "../../components/ErrorBanner";
import { duration, formatTime } from "../../components/time";
import { useApi } from "../../components/useApi";
import { LabelledSelect, RunFiltersForm } from "./RunFiltersForm";
import { filterQuery, isFiltered, readFilters, type RunFilters } from "./runFilters";
import { StatusBadge } from "./StatusBadge";
import "./runs.css";

export const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_PAGE_SIZE = 25;

function pageSize(params: URLSearchParams): number {
  const asked = Number(params.get("limit"));
  return PAGE_SIZES.includes(asked) ? asked : DEFAULT_PAGE_SIZE;
}

export function RunsPage() {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const limit = pageSize(params);
  const listing = `${filterQuery(filters)}&${limit}`;
  // Cursors of the pages after the first, as the user moved to older runs; a new listing
  // (other filters or page size) starts again at the newest.
  const [pages, setPages] = useState<{ listing: string; cursors: string[] }>({
    listing,
    cursors: [],
  });
  const cursors = pages.listing === listing ? pages.cursors : [];
  const cursor = cursors.at(-1);

  const flows = useApi(() => call(api.GET("/v1/flows", { params: { query: { limit: 200 } } })), []);
  const runs = useApi(
    () =>
      call(
        api.GET("/v1/runs", {
          params: {
            query: {
              flow_id: filters.flow,
              status: filters.status,
              trigger: filters.trigger,
              limit,
              cursor,
            },
          },
        }),
      ),
    [listing, cursor],
  );

  const show = (next: RunFilters, size: number = limit) => {
    const query = new URLSearchParams(filterQuery(next));
    if (size !== DEFAULT_PAGE_SIZE) query.set("limit", String(size));
    setParams(query);
  };
  const names = new Map((flows.data?.items ?? []).map((flow) => [flow.id, flow.name]));
  const items = runs.data?.items ?? [];
  const page = cursors.length + 1;

  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <RunFiltersForm filters={filters} flows={flows.data?.items ?? []} onChange={(f) => show(f)} />
      <ErrorBanner error={flows.error} title="The flows could not be loaded" />
      <ErrorBanner error={runs.error} title="The runs could not be loaded" />
      {runs.data && items.length === 0 && (
        <RunsEmpty filtered={isFiltered(filters)} first={page === 1} />
      )}
      {items.length > 0 && <RunsTable runs={items} names={names} />}
      <nav className="toolbar pager" aria-label="Pages of runs">
        <button
          type="button"
          disabled={page === 1}
          onClick={() => setPages({ listing, cursors: cursors.slice(0, -1) })}
        >
          Newer runs
        </button>
        <span aria-live="polite">Page {page}</span>
        <button
          type="button"
          disabled={!runs.data?.next_cursor}
          onClick={() =>
            runs.data?.next_cursor &&
            setPages({ listing, cursors: [...cursors, runs.data.next_cursor] })
          }
        >
          Older runs
        </button>
        <LabelledSelect
          label="Runs per page"
          value={String(limit)}
          onChange={(value) => show(filters, Number(value))}
        >
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </LabelledSelect>
        <button type="button" onClick={runs.reload} disabled={runs.loading}>
          Refresh
        </button>
      </nav>
      <p className="hint">
        A run started a moment ago can take a second to be listed; its own page shows it at once.
      </p>
    </section>
  );
}

function RunsTable({ runs, names }: { runs: Schemas["RunSummary"][]; names: Map<string, string> }) {
  return (
    <table aria-label="Runs">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Flow</th>
          <th scope="col">Status</th>
          <th scope="col">Trigger</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.run_id}>
            <td>
              <Link href={`/runs/${encodeURIComponent(run.run_id)}`}>
                <code>
                  <Name>{run.run_id}</Name>
                </code>
              </Link>
            </td>
            <td>
              {run.flow_id ? <Name>{names.get(run.flow_id) ?? run.flow_id}</Name> : "—"}
              {run.flow_version != null && <span className="hint"> v{run.flow_version}</span>}
            </td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>{run.trigger ?? "—"}</td>
            <td>{formatTime(run.started_at)}</td>
            <td>{duration(run.started_at, run.closed_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunsEmpty(props: { filtered: boolean; first: boolean }) {
  if (props.filtered) {
    return (
      <EmptyState title="No runs match these filters.">
        Change or clear the filters above to see other runs.
      </EmptyState>
    );
  }
  if (!props.first) return <EmptyState title="There are no older runs." />;
  return (
    <EmptyState title="No runs yet.">
      Start one from a flow: open <Link href="/flows">Flows</Link>, pick a flow and run it by hand,
      fire its webhook, or give it a schedule. Runs appear here as they start.
    </EmptyState>
  );
}
