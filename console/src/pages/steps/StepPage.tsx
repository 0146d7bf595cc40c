// /steps/:name: one step of the catalogue, every version (deprecated ones marked) and, for
// the chosen version, its schemas, examples, requirements, limits, secrets and egress hosts.
import { useState } from "react";
import { Link } from "wouter";
import { api, call, type Schemas } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Name } from "../../components/Name";
import { useApi } from "../../components/useApi";
import { StepVersionView } from "./StepVersionView";
import "./steps.css";

type Version = Schemas["StepVersionOut"];

/** The version to show first: the highest one not deprecated (else the highest). */
function preferred(versions: Version[]): Version | undefined {
  const usable = versions.filter((version) => !version.deprecated);
  return (usable.length ? usable : versions).at(-1);
}

export function StepPage({ params }: { params: { name: string } }) {
  const name = decodeURIComponent(params.name);
  const versions = useApi(
    () => call(api.GET("/v1/steps/{name}/versions", { params: { path: { name } } })),
    [name],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const items = versions.data?.items ?? [];
  const version = chosen ?? preferred(items)?.version ?? null;

  return (
    <section aria-labelledby="step-title">
      <p>
        <Link href="/steps">← Catalogue</Link>
      </p>
      <h1 id="step-title">
        <code>
          <Name>{name}</Name>
        </code>
      </h1>
      <ErrorBanner error={versions.error} title="Could not read the step" />
      {items.length > 0 && (
        <>
          <h2>Versions</h2>
          <table aria-label="Versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Title</th>
                <th scope="col">State</th>
                <th scope="col">Pushed</th>
              </tr>
            </thead>
            <tbody>
              {[...items].reverse().map((item) => (
                <tr key={item.version} aria-current={item.version === version ? "true" : undefined}>
                  <td>
                    <button
                      type="button"
                      className="link"
                      onClick={() => setChosen(item.version)}
                      aria-label={`Show version ${item.version}`}
                      aria-pressed={item.version === version}
                    >
                      {item.version}
                    </button>
                  </td>
                  <td>
                    <Name>{item.title}</Name>
                  </td>
                  <td>
                    {item.deprecated ? (
                      <span className="status status-skipped" title={item.deprecation_message}>
                        deprecated{item.deprecation_message ? `: ${item.deprecation_message}` : ""}
                      </span>
                    ) : (
                      <span className="status status-succeeded">current</span>
                    )}
                  </td>
                  <td>{new Date(item.created_at).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {version && <StepVersionView name={name} version={version} />}
      {versions.loading && !versions.data && <p className="loading">Loading the step…</p>}
    </section>
  );
}
