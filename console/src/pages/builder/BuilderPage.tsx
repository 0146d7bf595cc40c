// The visual flow builder: /flows/new (an empty canvas) and /flows/:id (the latest version,
// editable). The definition is the one state; the graph, the forms and the JSON view all show
// it and change it. Validation runs as the user types; Save creates the flow or a new version.
import { useEffect, useMemo, useState } from "react";
import { useLocation } from "wouter";
import { api, ApiError, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FlowGraph } from "../../graph/FlowGraph";
import { FlowHeader } from "../flows/FlowHeader";
import {
  addStep,
  asBody,
  emptyFlow,
  removeStep,
  renameReferences,
  steps,
  updateStep,
  type FlowDef,
} from "./definition";
import { EditorPanel, EditorTabs, type View } from "./EditorTabs";
import { FlowSettings } from "./FlowSettings";
import { JsonView } from "./JsonView";
import { Palette } from "./Palette";
import { ProblemList } from "./ProblemList";
import { placeProblems, type Problem } from "./problems";
import { StepEditor } from "./StepEditor";
import { useStepDetails } from "./stepDetails";
import { StepList } from "./StepList";
import { suggestionsFor } from "./suggestions";
import { useValidation } from "./useValidation";

export function NewFlowPage() {
  return <Builder flowId={null} />;
}

export function FlowBuilderPage({ params }: { params: { id: string } }) {
  return <Builder key={params.id} flowId={params.id} />;
}

function Builder({ flowId }: { flowId: string | null }) {
  const [, navigate] = useLocation();
  const [flow, setFlow] = useState<FlowDef | null>(flowId ? null : emptyFlow());
  const [baseVersion, setBaseVersion] = useState<number | null>(null);
  const [loadError, setLoadError] = useState<unknown>();
  const [selected, setSelected] = useState<number | null>(null);
  const [view, setView] = useState<View>("visual");
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    if (!flowId) return;
    call(api.GET("/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } })).then(
      (found) => {
        setFlow(found.definition as FlowDef);
        setBaseVersion(found.latest_version);
      },
      setLoadError,
    );
  }, [flowId]);

  const current = flow ?? emptyFlow();
  const all = steps(current);
  const validation = useValidation(current);
  const details = useStepDetails(all.map((step) => String(step.uses)));
  const outputSchemas = useMemo(
    () => new Map([...details].map(([ref, loaded]) => [ref, loaded.detail?.output_schema])),
    [details],
  );
  const saveProblems: Problem[] = saveError instanceof ApiError ? saveError.details : [];
  const problems = saveProblems.length ? saveProblems : validation.problems;
  const chosen = selected !== null && selected < all.length ? selected : null;
  const placed = placeProblems(
    problems,
    view === "visual" ? chosen : null,
    view === "visual" && chosen === null,
  );

  if (loadError) return <ErrorBanner error={loadError} title="The flow could not be loaded" />;
  if (!flow) return <p className="loading">Loading the flow…</p>;

  const change = (next: FlowDef) => {
    setFlow(next);
    setSaveError(undefined);
    setSaved(null);
  };
  const onAdd = (name: string, version: string) => {
    const added = addStep(current, name, version);
    change(added.flow);
    setSelected(steps(added.flow).length - 1);
    setView("visual");
  };
  const save = async () => {
    setSaving(true);
    setSaveError(undefined);
    try {
      const definition = asBody(current);
      const result = flowId
        ? await call(
            api.PUT("/v1/flows/{flow_id}", {
              params: { path: { flow_id: flowId } },
              body: { definition, base_version: baseVersion },
            }),
          )
        : await call(api.POST("/v1/flows", { body: { definition } }));
      setBaseVersion(result.latest_version);
      setSaved(`Saved as version ${result.latest_version}.`);
      if (!flowId) navigate(`/flows/${result.id}`);
    } catch (error) {
      setSaveError(error);
    } finally {
      setSaving(false);
    }
  };

  const saveButton = (
    <>
      <span className="hint" role="status">
        {saving
          ? "Saving…"
          : (saved ??
            (validation.checking
              ? "Checking…"
              : problems.length
                ? `${problems.length} problem(s)`
                : all.length
                  ? "No problems found."
                  : ""))}
      </span>
      <button type="button" className="primary" onClick={() => void save()} disabled={saving}>
        Save
      </button>
    </>
  );
  const step = chosen === null ? undefined : all[chosen];

  return (
    <div className="builder">
      {flowId ? (
        <FlowHeader flowId={flowId} current="builder" name={current.name || undefined}>
          {saveButton}
        </FlowHeader>
      ) : (
        <header className="flow-header">
          <div className="flow-title">
            <h1>New flow</h1>
            <div className="flow-actions">{saveButton}</div>
          </div>
        </header>
      )}
      <ErrorBanner error={saveError} title="Not saved" />
      <ErrorBanner error={validation.error} title="Validation failed to run" />
      <div className="builder-columns">
        <aside className="builder-side">
          <StepList
            steps={all}
            selected={chosen}
            onSelect={(index) => {
              setSelected(index);
              setView("visual");
            }}
          />
          <Palette onAdd={onAdd} />
        </aside>
        <div className="builder-main">
          <FlowGraph
            flow={current}
            selected={step?.id ?? null}
            onSelect={(id) => {
              setSelected(id === null ? null : all.findIndex((candidate) => candidate.id === id));
              setView("visual");
            }}
            label="Flow graph"
          />
          {all.length === 0 && (
            <p className="hint">
              The canvas is empty: add a step from the palette, then fill in its inputs.
            </p>
          )}
          <EditorTabs view={view} onChange={setView} />
          <ProblemList
            problems={placed.elsewhere}
            steps={all}
            onSelect={(index) => {
              setSelected(index);
              setView("visual");
            }}
          />
          <EditorPanel view={view}>
            {view === "json" ? (
              <JsonView flow={current} onChange={change} />
            ) : step && chosen !== null ? (
              <StepEditor
                key={chosen}
                step={step}
                otherIds={all.filter((other) => other !== step).map((other) => String(other.id))}
                detail={details.get(String(step.uses))}
                errors={placed.step}
                inputErrors={placed.inputs}
                suggestions={suggestionsFor(current, chosen, outputSchemas)}
                onChange={(next) => change(updateStep(current, chosen, () => next))}
                onRename={(from, to) => {
                  const renamed = renameReferences(current, from, to);
                  if (renamed !== current) change(renamed);
                }}
                onRemove={() => {
                  change(removeStep(current, chosen));
                  setSelected(null);
                }}
              />
            ) : (
              <FlowSettings
                flow={current}
                errors={placed.flow}
                suggestions={suggestionsFor(current, null, outputSchemas)}
                onChange={change}
              />
            )}
          </EditorPanel>
        </div>
      </div>
    </div>
  );
}
