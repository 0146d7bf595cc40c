// The catalogue as a searchable palette: pick a step to add it (at its latest version).
import { useState } from "react";
import { api, call } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useApi } from "../../components/useApi";

export function Palette({ onAdd }: { onAdd: (name: string, version: string) => void }) {
  const [query, setQuery] = useState("");
  const catalogue = useApi(
    async () =>
      (
        await call(
          api.GET("/v1/steps", { params: { query: { q: query || undefined, limit: 100 } } }),
        )
      ).items,
    [query],
  );
  return (
    <section className="panel palette" aria-label="Step palette">
      <h2>Add a step</h2>
      <label htmlFor="palette-search">Search steps</label>
      <input
        id="palette-search"
        type="search"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
        placeholder="slugify, http, csv…"
      />
      <ErrorBanner error={catalogue.error} title="The catalogue could not be loaded" />
      {catalogue.data?.length === 0 && (
        <EmptyState title={query ? `No step matches “${query}”.` : "The catalogue is empty."}>
          {query ? "Try another word." : "Push a step first: stepwell step push DIR."}
        </EmptyState>
      )}
      <ul className="palette-list">
        {catalogue.data?.map((item) => (
          <li key={item.name}>
            <button type="button" onClick={() => onAdd(item.name, item.latest_version)}>
              {/* Named by what it shows: "Add Slugify text text.slugify@1.0.0". */}
              <span className="visually-hidden">Add </span>
              <strong>{item.title || item.name}</strong>
              <small>
                {item.name}@{item.latest_version}
              </small>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
