// /steps: every step of the catalogue (title, description, latest version, hosts it talks
// to), searchable by name, title or description.
import { useEffect, useState } from "react";
import { Link } from "wouter";
import { api, call, type Schemas } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useApi } from "../../components/useApi";
import "./steps.css";

type Item = Schemas["CatalogueItem"];

async function catalogue(q: string, includeDeprecated: boolean): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  do {
    const page: Schemas["CataloguePage"] = await call(
      api.GET("/v1/steps", {
        params: {
          query: { q: q || null, include_deprecated: includeDeprecated, limit: 200, cursor },
        },
      }),
    );
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

export function CataloguePage() {
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [includeDeprecated, setIncludeDeprecated] = useState(false);
  // Searches once typing pauses, not on every key.
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [text]);
  const steps = useApi(() => catalogue(query, includeDeprecated), [query, includeDeprecated]);

  return (
    <section aria-labelledby="catalogue-title">
      <h1 id="catalogue-title">Catalogue</h1>
      <div className="toolbar" role="search">
        <label htmlFor="catalogue-search">Search steps</label>
        <input
          id="catalogue-search"
          type="search"
          value={text}
          placeholder="name, title or description"
          onChange={(event) => setText(event.target.value)}
        />
        <label className="inline">
          <input
            type="checkbox"
            checked={includeDeprecated}
            onChange={(event) => setIncludeDeprecated(event.target.checked)}
          />
          Include deprecated steps
        </label>
      </div>
      <ErrorBanner error={steps.error} title="Could not read the catalogue" />
      {steps.data?.length === 0 &&
        (query ? (
          <EmptyState title={`No step matches "${query}".`}>
            Try another word, or clear the search.
          </EmptyState>
        ) : (
          <EmptyState title="The catalogue is empty.">
            Push a step with <code>stepwell step push &lt;folder&gt;</code> (scaffold one with{" "}
            <code>stepwell step new</code>); <code>stepwell up</code> pushes the examples.
          </EmptyState>
        ))}
      {steps.data && steps.data.length > 0 && (
        <table aria-label="Steps">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Description</th>
              <th scope="col">Latest version</th>
              <th scope="col">Talks to</th>
            </tr>
          </thead>
          <tbody>
            {steps.data.map((step) => (
              <tr key={step.name}>
                <td>
                  <Link href={`/steps/${step.name}`}>{step.title || step.name}</Link>
                  <div>
                    <code>{step.name}</code>{" "}
                    <span className="hint">{runtimeLabel(step.runtime)}</span>
                  </div>
                </td>
                <td>{firstLine(step.description)}</td>
                <td>
                  {step.latest_version}
                  {step.deprecated && <span className="status status-skipped">deprecated</span>}
                  <div className="hint">
                    {step.version_count} version{step.version_count === 1 ? "" : "s"}
                  </div>
                </td>
                <td>
                  {step.egress.length ? (
                    step.egress.join(", ")
                  ) : (
                    <span className="hint">no network</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {steps.loading && !steps.data && <p className="loading">Loading the catalogue…</p>}
    </section>
  );
}

function firstLine(text: string): string {
  return text.split("\n\n")[0];
}

/** A runtime name as a reader knows the language: `node20` -> "JavaScript (Node.js 20)". */
function runtimeLabel(runtime: string): string {
  if (runtime === "node20") return "JavaScript (Node.js 20)";
  if (runtime === "python3.11") return "Python 3.11";
  return runtime;
}
