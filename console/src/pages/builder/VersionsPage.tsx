// /flows/:id/versions: the flow's saved versions; pick two and see what changed, as a line diff
// of the pretty-printed definitions (added lines marked "+", removed "-", not only by colour).
import { diffLines } from "diff";
import { useEffect, useState } from "react";
import { api, call } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatTime } from "../../components/time";
import { useApi } from "../../components/useApi";
import { FlowHeader } from "../flows/FlowHeader";
import { pretty } from "./definition";

async function allVersions(flowId: string) {
  const items = [];
  let cursor: string | undefined;
  do {
    const page = await call(
      api.GET("/v1/flows/{flow_id}/versions", {
        params: { path: { flow_id: flowId }, query: { limit: 200, cursor } },
      }),
    );
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return items.sort((a, b) => b.version - a.version);
}

function definitionOf(flowId: string, version: number) {
  return call(
    api.GET("/v1/flows/{flow_id}/versions/{version}", {
      params: { path: { flow_id: flowId, version } },
    }),
  ).then((found) => found.definition);
}

export function VersionsPage({ params }: { params: { id: string } }) {
  const flowId = params.id;
  const versions = useApi(() => allVersions(flowId), [flowId]);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  useEffect(() => {
    const list = versions.data;
    if (!list?.length) return;
    setTo(list[0].version);
    setFrom(list[1]?.version ?? list[0].version);
  }, [versions.data]);
  const pair = useApi(
    async () =>
      from === null || to === null
        ? null
        : Promise.all([definitionOf(flowId, from), definitionOf(flowId, to)]),
    [flowId, from, to],
  );

  return (
    <div className="versions">
      <FlowHeader flowId={flowId} current="versions" />
      <ErrorBanner error={versions.error} title="The versions could not be loaded" />
      {versions.data?.length === 0 && (
        <EmptyState title="This flow has no saved version.">
          Save it in the builder first.
        </EmptyState>
      )}
      {versions.data && versions.data.length > 0 && (
        <>
          <table aria-label="Versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>Name</th>
                <th>Saved</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.map((item) => (
                <tr key={item.version}>
                  <td>{item.version}</td>
                  <td>{item.name}</td>
                  <td>{formatTime(item.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="toolbar versions-pick">
            <label htmlFor="diff-from">Compare version</label>
            <select
              id="diff-from"
              value={from ?? ""}
              onChange={(event) => setFrom(Number(event.target.value))}
            >
              {versions.data.map((item) => (
                <option key={item.version} value={item.version}>
                  {item.version}
                </option>
              ))}
            </select>
            <label htmlFor="diff-to">with version</label>
            <select
              id="diff-to"
              value={to ?? ""}
              onChange={(event) => setTo(Number(event.target.value))}
            >
              {versions.data.map((item) => (
                <option key={item.version} value={item.version}>
                  {item.version}
                </option>
              ))}
            </select>
          </div>
          {versions.data.length === 1 && (
            <p className="hint">
              Only one version so far: save a change in the builder to compare two.
            </p>
          )}
          <ErrorBanner error={pair.error} title="A version could not be loaded" />
          {pair.data && (
            <VersionDiff
              before={pair.data[0]}
              after={pair.data[1]}
              label={`Changes from version ${from} to version ${to}`}
            />
          )}
        </>
      )}
    </div>
  );
}

function VersionDiff({ before, after, label }: { before: unknown; after: unknown; label: string }) {
  const parts = diffLines(pretty(before), pretty(after));
  const changed = parts.some((part) => part.added || part.removed);
  return (
    <figure className="version-diff">
      <figcaption>{label}</figcaption>
      {!changed && <p className="hint">The two versions are the same.</p>}
      <pre role="group" aria-label={label} tabIndex={0}>
        {parts.flatMap((part, index) =>
          part.value
            .replace(/\n$/, "")
            .split("\n")
            .map((line, at) => {
              const key = `${index}-${at}`;
              if (part.added) return <ins key={key} className="diff-added">{`+ ${line}\n`}</ins>;
              if (part.removed)
                return <del key={key} className="diff-removed">{`- ${line}\n`}</del>;
              return <span key={key}>{`  ${line}\n`}</span>;
            }),
        )}
      </pre>
    </figure>
  );
}
