// A flow's webhook: issue it (signed or not), the signing secret shown once (right after
// issuing or rotating, kept in this component's memory only), a copyable curl line, rotate,
// remove.
import { useState } from "react";
import { ApiError, api, call, type Schemas } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatTime } from "../../components/time";
import { useApi } from "../../components/useApi";
import { CopyButton } from "./CopyButton";
import { curlLine } from "./curl";

type Webhook = Schemas["WebhookOut"];
type Issued = Schemas["IssuedWebhook"];

/** The flow's webhook, or null when it has none (the API answers 404). */
async function webhookOf(flowId: string): Promise<Webhook | null> {
  try {
    return await call(
      api.GET("/v1/flows/{flow_id}/webhook", { params: { path: { flow_id: flowId } } }),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function WebhookPanel({ flowId, sampleBody }: { flowId: string; sampleBody: string }) {
  const webhook = useApi(() => webhookOf(flowId), [flowId]);
  const [issued, setIssued] = useState<Issued | null>(null);
  const [signed, setSigned] = useState(false);
  const [body, setBody] = useState(sampleBody);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const issue = (asSigned: boolean) =>
    run(async () => {
      const fresh = await call(
        api.PUT("/v1/flows/{flow_id}/webhook", {
          params: { path: { flow_id: flowId } },
          body: { signed: asSigned },
        }),
      );
      setIssued(fresh);
      webhook.reload();
    });
  const rotate = (current: Webhook) => {
    if (
      !window.confirm("Rotate the webhook? Its current URL (and signing secret) stop working now.")
    )
      return;
    void issue(current.signed);
  };
  const remove = () => {
    if (!window.confirm("Remove the webhook? Its URL stops working now.")) return;
    void run(async () => {
      await call(
        api.DELETE("/v1/flows/{flow_id}/webhook", { params: { path: { flow_id: flowId } } }),
      );
      setIssued(null);
      webhook.reload();
    });
  };

  const current = webhook.data;
  // The secret belongs to the URL it was issued with; a later change elsewhere hides it.
  const secret = issued && current && issued.url === current.url ? issued : null;

  const signing = { secret: secret?.signing_secret ?? undefined };
  const line = current ? curlLine(current.url, body, current.signed ? signing : undefined) : "";

  return (
    <section className="panel" aria-labelledby="webhook-title">
      <h2 id="webhook-title">Webhook</h2>
      <ErrorBanner error={webhook.error} title="Could not read the webhook" />
      <ErrorBanner error={error} />
      {current === null && (
        <div className="stack">
          <p>
            This flow has no webhook. Issue one to start a run with every JSON POST to its URL (the
            body becomes <code>trigger</code>).
          </p>
          <label className="inline">
            <input
              type="checkbox"
              checked={signed}
              onChange={(event) => setSigned(event.target.checked)}
            />
            Require signed deliveries (HMAC-SHA256 with a signing secret)
          </label>
          <div>
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => void issue(signed)}
            >
              Issue webhook
            </button>
          </div>
        </div>
      )}
      {current && (
        <div className="stack">
          <dl className="facts">
            <dt>URL</dt>
            <dd>
              <code role="group" aria-label="Webhook URL">
                {current.url}
              </code>
            </dd>
            <dt>Signed</dt>
            <dd>{current.signed ? "yes: every delivery must carry a valid signature" : "no"}</dd>
            <dt>Issued</dt>
            <dd>{formatTime(current.created_at)}</dd>
          </dl>
          {secret?.signing_secret && (
            <div className="secret-once" role="status">
              <p>
                <strong>Signing secret, shown only now:</strong> copy it to the sender. It is not
                shown again; rotate the webhook to get a new one.
              </p>
              <code role="group" aria-label="Signing secret">
                {secret.signing_secret}
              </code>{" "}
              <CopyButton text={secret.signing_secret} label="Copy signing secret" />
            </div>
          )}
          {current.signed && (
            <p className="hint">
              How to sign:{" "}
              {secret?.signature_help ??
                "send 'X-Stepwell-Timestamp: <unix seconds>' and 'X-Stepwell-Signature: sha256=<hex>', where <hex> is the lowercase hex HMAC-SHA256 of '<timestamp>.<raw body>' keyed with the signing secret. The curl line below does it with openssl."}
            </p>
          )}
          <label htmlFor="webhook-body">Body to send (JSON)</label>
          <textarea
            id="webhook-body"
            className="code"
            rows={3}
            value={body}
            onChange={(event) => setBody(event.target.value)}
          />
          <label htmlFor="webhook-curl">curl line</label>
          <textarea
            id="webhook-curl"
            className="code"
            rows={current.signed ? 5 : 3}
            readOnly
            value={line}
          />
          <div className="toolbar">
            <CopyButton text={line} label="Copy curl line" />
            <button type="button" disabled={busy} onClick={() => rotate(current)}>
              Rotate
            </button>
            <button type="button" className="danger" disabled={busy} onClick={remove}>
              Remove webhook
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
