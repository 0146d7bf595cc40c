// /secrets: the workspace's secrets by name and date; set or replace a value (write-only: the
// value goes out in one PUT, the field is cleared after saving, and no answer carries it),
// delete after a confirmation.
import { useState, type ReactNode } from "react";
import { api, call, type Schemas } from "../../api/client";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Name, isolated } from "../../components/Name";
import { formatTime } from "../../components/time";
import { useApi } from "../../components/useApi";
import { SecretValueForm } from "./SecretValueForm";
import "./secrets.css";

type Secret = Schemas["SecretOut"];

export function SecretsPage() {
  const secrets = useApi(() => call(api.GET("/v1/secrets")), []);
  const [replacing, setReplacing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<ReactNode>(null);

  const saved = (secret: Secret, replaced: boolean) => {
    setReplacing(null);
    setNotice(
      <>
        {replaced ? "Replaced the value of" : "Saved"} <Name>{secret.name}</Name>.
      </>,
    );
    secrets.reload();
  };
  const remove = async (secret: Secret) => {
    if (
      !window.confirm(
        `Delete the secret ${isolated(secret.name)}? Steps that want it will fail until it is set again.`,
      )
    )
      return;
    setError(undefined);
    setNotice(null);
    try {
      await call(api.DELETE("/v1/secrets/{name}", { params: { path: { name: secret.name } } }));
      setNotice(
        <>
          Deleted <Name>{secret.name}</Name>.
        </>,
      );
      secrets.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <section aria-labelledby="secrets-title">
      <h1 id="secrets-title">Secrets</h1>
      <p className="hint">
        Steps that declare a secret get its value at run time. Values are write-only: neither this
        console nor the API ever shows one again.
      </p>
      <ErrorBanner error={secrets.error} title="Could not list the secrets" />
      <ErrorBanner error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <div className="panel">
        <h2>Set a secret</h2>
        <SecretValueForm
          onSaved={(secret) => saved(secret, false)}
          onSubmit={() => {
            setNotice(null);
            setError(undefined);
          }}
        />
      </div>
      {secrets.data?.length === 0 && (
        <EmptyState title="No secrets yet.">
          Set one above; a step that declares <code>secrets=["NAME"]</code> reads it as{" "}
          <code>ctx.secrets["NAME"]</code>.
        </EmptyState>
      )}
      {secrets.data && secrets.data.length > 0 && (
        <table aria-label="Secrets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {secrets.data.map((secret) => (
              <tr key={secret.name}>
                <td>
                  <code>
                    <Name>{secret.name}</Name>
                  </code>
                  {replacing === secret.name && (
                    <SecretValueForm
                      name={secret.name}
                      onSaved={(updated) => saved(updated, true)}
                      onCancel={() => setReplacing(null)}
                    />
                  )}
                </td>
                <td>{formatTime(secret.created_at)}</td>
                <td>{formatTime(secret.updated_at)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setReplacing(secret.name)}>
                    Replace value
                    <span className="visually-hidden">
                      {" "}
                      of <Name>{secret.name}</Name>
                    </span>
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => void remove(secret)}
                    aria-label={`Delete ${secret.name}`}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {secrets.loading && !secrets.data && <p className="loading">Loading secrets…</p>}
    </section>
  );
}
