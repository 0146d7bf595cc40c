// /flows/:id/triggers: the flow's webhook and schedules, and the way to run it by hand.
import { Link } from "wouter";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FlowHeader } from "../flows/FlowHeader";
import { SchedulesPanel } from "./SchedulesPanel";
import { sampleTrigger, useFlowTrigger } from "./useFlowTrigger";
import { WebhookPanel } from "./WebhookPanel";
import "./triggers.css";

export function TriggersPage({ params }: { params: { id: string } }) {
  const loaded = useFlowTrigger(params.id);
  const flow = loaded.data?.flow;
  return (
    <div className="triggers-page">
      <FlowHeader flowId={params.id} current="triggers" name={flow?.name} />
      <ErrorBanner error={loaded.error} title="Could not read the flow" />
      {flow && !flow.enabled && (
        <p className="notice" role="status">
          This flow is disabled: its webhook and schedules start no runs until it is enabled again
          (on the Flows page).
        </p>
      )}
      {loaded.data && (
        <>
          <p>
            <Link href={`/flows/${params.id}/run`}>Run it by hand</Link> with an input form.
          </p>
          <WebhookPanel flowId={params.id} sampleBody={sampleTrigger(loaded.data.form)} />
          <SchedulesPanel flowId={params.id} />
        </>
      )}
      {loaded.loading && !loaded.data && <p className="loading">Loading the flow…</p>}
    </div>
  );
}
