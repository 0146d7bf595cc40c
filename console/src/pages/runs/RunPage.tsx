// `/runs/:id`: one run, live while it goes — its facts, the flow's graph coloured by step
// status, a timeline of the step executions, and each step's input, output, error, logs and
// artifacts.
import { useMemo, useState } from "react";
import { useParams } from "wouter";
import { api, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { JsonBlock } from "../../components/Json";
import { Name } from "../../components/Name";
import { useApi } from "../../components/useApi";
import { FlowGraph } from "../../graph/FlowGraph";
import type { FlowDef } from "../../graph/references";
import { useLiveRun, type RunDetail } from "./liveRun";
import { RunHeader } from "./RunHeader";
import { RunTimeline } from "./RunTimeline";
import { StepPanel } from "./StepPanel";
import "./runs.css";

export function RunPage() {
  const { id } = useParams<{ id: string }>();
  return <RunView key={id} runId={id} />;
}

function RunView({ runId }: { runId: string }) {
  const live = useLiveRun(runId);
  const { run } = live;
  if (!run) {
    return live.error ? (
      <ErrorBanner error={live.error} title="The run could not be loaded" />
    ) : (
      <p className="loading">Loading run…</p>
    );
  }
  return <RunBody run={run} live={live} />;
}

function useDefinition(run: RunDetail) {
  const { flow_id: flowId, flow_version: version } = run;
  return useApi(async () => {
    if (!flowId || version == null) return undefined;
    const path = { flow_id: flowId, version };
    return call(api.GET("/v1/flows/{flow_id}/versions/{version}", { params: { path } }));
  }, [flowId, version]);
}

function RunBody({ run, live }: { run: RunDetail; live: ReturnType<typeof useLiveRun> }) {
  const version = useDefinition(run);
  const [selected, setSelected] = useState<string | null>(null);
  const flow = version.data?.definition as FlowDef | undefined;
  const statuses = useMemo(
    () => Object.fromEntries(Object.entries(run.steps).map(([id, step]) => [id, step.status])),
    [run.steps],
  );
  const uses = new Map((flow?.steps ?? []).map((step) => [step.id, step.uses]));
  const select = (stepId: string | null) => {
    setSelected(stepId);
    if (stepId) document.getElementById(`step-${stepId}`)?.scrollIntoView({ block: "start" });
  };

  return (
    <article className="run-page" aria-label={`Run ${run.run_id}`}>
      <ErrorBanner error={live.error} title="The run could not be read again" />
      <ErrorBanner error={live.streamError} title="Live updates" />
      <RunHeader
        run={run}
        flowName={version.data?.name}
        connection={live.connection}
        unread={live.error !== undefined && !live.confirmed}
      />
      {run.error && (
        <div className="error-banner" role="alert" aria-label="Run error">
          <strong>{run.error.type}</strong>: {run.error.message}
          {run.error.step_id && (
            <>
              {" "}
              (step{" "}
              <a
                href={`#/runs/${encodeURIComponent(run.run_id)}`}
                onClick={(event) => {
                  event.preventDefault();
                  select(run.error?.step_id ?? null);
                }}
              >
                <Name>{run.error.step_id}</Name>
              </a>
              )
            </>
          )}
        </div>
      )}
      <div className="run-io">
        <div>
          <h2>Input</h2>
          <JsonBlock value={run.input} label="Run input" />
        </div>
        <div>
          <h2>Output</h2>
          {run.status === "succeeded" ? (
            <JsonBlock value={run.output} label="Run output" />
          ) : (
            <p className="hint">
              {run.status === "running"
                ? "Not yet: the run is going."
                : "None: the run did not succeed."}
            </p>
          )}
        </div>
      </div>
      <h2>Graph</h2>
      <ErrorBanner error={version.error} title="The flow's definition could not be loaded" />
      {flow && (
        <FlowGraph
          flow={flow}
          statuses={statuses}
          selected={selected}
          onSelect={select}
          label="Flow graph coloured by step status"
        />
      )}
      <h2>Timeline</h2>
      <RunTimeline run={run} />
      <h2>Steps</h2>
      {Object.entries(run.steps).map(([stepId, step]) => (
        <StepPanel
          key={stepId}
          runId={run.run_id}
          stepId={stepId}
          uses={uses.get(stepId)}
          step={step}
          liveLog={live.logs[stepId]}
          selected={selected === stepId}
        />
      ))}
    </article>
  );
}
