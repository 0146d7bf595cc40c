// One version of a step, as GET /v1/steps/{name}/versions/{version} gives it.
import { api, call, type Schemas } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Name } from "../../components/Name";
import { CodeText } from "../../components/CodeText";
import { JsonBlock } from "../../components/Json";
import { useApi } from "../../components/useApi";

/** "3 attempts at most; the first retry after 1 s, each wait ×2; never retried: ValueError". */
function describeRetry(retry: Schemas["RetryPolicy"]): string {
  const attempts = retry.max_attempts ?? 3;
  if (attempts <= 1) return "not retried (1 attempt)";
  const never = retry.non_retryable?.length
    ? `; never retried: ${retry.non_retryable.join(", ")}`
    : "";
  return `${attempts} attempts at most; the first retry after ${retry.initial_interval_s ?? 1} s, each wait ×${retry.backoff ?? 2}${never}`;
}

export function StepVersionView({ name, version }: { name: string; version: string }) {
  const detail = useApi(
    () =>
      call(api.GET("/v1/steps/{name}/versions/{version}", { params: { path: { name, version } } })),
    [name, version],
  );
  const step = detail.data;
  return (
    <article aria-labelledby="version-title" className="step-version">
      <h2 id="version-title">
        <Name>{step?.title || name}</Name> <code>{version}</code>
        {step?.deprecated && <span className="status status-skipped">deprecated</span>}
      </h2>
      <ErrorBanner error={detail.error} title="Could not read this version" />
      {step && (
        <>
          {step.deprecated && (
            <p className="notice" role="note">
              Deprecated{step.deprecation_message ? `: ${step.deprecation_message}` : ""}. Flows
              using it still run; new flows should use another version.
            </p>
          )}
          <p className="description">
            {step.description ? (
              <bdi>
                <CodeText text={step.description} />
              </bdi>
            ) : (
              "No description."
            )}
          </p>
          <dl className="facts">
            <dt>Use it as</dt>
            <dd>
              <code>{step.ref}</code>
            </dd>
            <dt>Requirements</dt>
            <dd>
              {step.requirements.length
                ? step.requirements.map((r) => <code key={r}>{r} </code>)
                : "none"}
            </dd>
            <dt>Limits</dt>
            <dd>
              timeout {step.limits.timeout_s} s, memory {step.limits.memory_mb} MB,{" "}
              {step.limits.cpus} CPU, output up to {step.limits.output_kb} KiB
            </dd>
            <dt>Retry</dt>
            <dd>{describeRetry(step.retry)}</dd>
            <dt>Secrets it wants</dt>
            <dd>
              {step.secrets.length ? step.secrets.map((s) => <code key={s}>{s} </code>) : "none"}
            </dd>
            <dt>Talks to (egress)</dt>
            <dd>
              {step.egress.length
                ? step.egress.map((host) => <code key={host}>{host} </code>)
                : "no network at all"}
            </dd>
            {step.egress_widened.length > 0 && (
              <>
                <dt>Network added by this version</dt>
                <dd className="warning">
                  {step.egress_widened.map((host) => (
                    <code key={host}>{host} </code>
                  ))}
                </dd>
              </>
            )}
            <dt>Bundle</dt>
            <dd>
              <code>{step.digest}</code> ({step.size} bytes), runtime {step.runtime}
            </dd>
          </dl>
          <div className="schemas">
            <div>
              <h3>Input schema</h3>
              <JsonBlock value={step.input_schema} label="Input schema" />
            </div>
            <div>
              <h3>Output schema</h3>
              <JsonBlock value={step.output_schema} label="Output schema" />
            </div>
          </div>
          <h3>Examples</h3>
          {step.examples.length === 0 && <p className="hint">This version has no examples.</p>}
          {step.examples.map((example, index) => (
            <div className="schemas" key={index}>
              <div>
                <h4>Example {index + 1}: input</h4>
                <JsonBlock value={example.input} label={`Example ${index + 1} input`} />
              </div>
              <div>
                <h4>Example {index + 1}: output</h4>
                <JsonBlock value={example.output} label={`Example ${index + 1} output`} />
              </div>
            </div>
          ))}
        </>
      )}
    </article>
  );
}
