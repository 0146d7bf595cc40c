// The visual flow builder: /flows/new (an empty canvas) and /flows/:id (the latest version,
// editable). The definition is the one state; the graph, the forms and the JSON view all show
// it and change it. Validation runs as the user types; Save creates the flow or a new version.
import { useMemo, useState } from "react";
import { useLocation } from "wouter";
import { api, ApiError, call } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FlowGraph } from "../../graph/FlowGraph";
import { FlowHeader } from "../flows/FlowHeader";
import {
  addStep,
  asBody,
  pretty,
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
import { DraftNotice } from "./DraftNotice";
import { useFlowEditing } from "./useFlowEditing";
import { useValidation } from "./useValidation";
import "./builder.css";

export function NewFlowPage() {
  return <Builder flowId={null} />;
}

export function FlowBuilderPage({ params }: { params: { id: string } }) {
  return <Builder key={params.id} flowId={params.id} />;
}

function Builder({ flowId }: { flowId: string | null }) {
  const [, navigate] = useLocation();
  const editing = useFlowEditing(flowId);
  const { current, jsonProblem } = editing;
  const [selected, setSelected] = useState<number | null>(null);
  // The JSON view is open exactly while it holds text (a restored draft may open it).
  const view: View = editing.jsonText === null ? "visual" : "json";
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);

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

  if (editing.loadError)
    return <ErrorBanner error={editing.loadError} title="The flow could not be loaded" />;
  if (!editing.flow) return <p className="loading">Loading the flow…</p>;

  const change = (next: FlowDef) => {
    editing.setFlow(next);
    setSaveError(undefined);
    setSaved(null);
    setRefusal(null);
  };
  /** To the visual editor, unless the JSON view holds text that does not parse. */
  const showVisual = (): boolean => {
    if (view === "json" && jsonProblem) {
      setRefusal(
        `Still in the JSON view: the JSON does not parse (${jsonProblem}). Fix it to switch; your text is kept.`,
      );
      return false;
    }
    editing.setJsonText(null);
    setRefusal(null);
    return true;
  };
  const switchView = (next: View) => {
    if (next === "visual") return void showVisual();
    editing.setJsonText(pretty(current));
  };
  const select = (index: number | null) => {
    if (showVisual()) setSelected(index);
  };
  const onAdd = (name: string, version: string) => {
    if (!showVisual()) return;
    const added = addStep(current, name, version);
    change(added.flow);
    setSelected(steps(added.flow).length - 1);
  };
  const save = async () => {
    if (editing.blocked) {
      setRefusal(`Not saved: ${editing.blocked}. Fix it, then save.`);
      return;
    }
    setSaving(true);
    setSaveError(undefined);
    setRefusal(null);
    try {
      const definition = asBody(current);
      const result = flowId
        ? await call(
            api.PUT("/v1/flows/{flow_id}", {
              params: { path: { flow_id: flowId } },
              body: { definition, base_version: editing.baseVersion },
            }),
          )
        : await call(api.POST("/v1/flows", { body: { definition } }));
      editing.savedAs(result.latest_version);
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
  const unparsedOf = (id: string) =>
    new Map(
      Object.entries(editing.unparsed)
        .filter(([key]) => key.startsWith(`${id}|`))
        .map(([key, text]) => [key.slice(id.length + 1), text]),
    );

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
      {editing.restored && (
        <DraftNotice
          draft={editing.restored}
          latest={editing.latest}
          onDiscard={() => {
            editing.discard();
            setSelected(null);
            setRefusal(null);
          }}
          onKeep={editing.dismissRestored}
        />
      )}
      {refusal && (
        <p className="error-banner" role="alert">
          {refusal}
        </p>
      )}
      <ErrorBanner error={saveError} title="Not saved" />
      <ErrorBanner error={validation.error} title="Validation failed to run" />
      <div className="builder-columns">
        <aside className="builder-side">
          <StepList steps={all} selected={chosen} onSelect={select} />
          <Palette onAdd={onAdd} />
        </aside>
        <div className="builder-main">
          <FlowGraph
            flow={current}
            selected={step?.id ?? null}
            onSelect={(id) =>
              select(id === null ? null : all.findIndex((candidate) => candidate.id === id))
            }
            label="Flow graph"
          />
          {all.length === 0 && (
            <p className="hint">
              The canvas is empty: add a step from the palette, then fill in its inputs.
            </p>
          )}
          <EditorTabs view={view} onChange={switchView} />
          <ProblemList problems={placed.elsewhere} steps={all} onSelect={select} />
          <EditorPanel view={view}>
            {view === "json" ? (
              <JsonView
                text={editing.jsonText ?? pretty(current)}
                problem={jsonProblem}
                onEdit={(text) => {
                  editing.editJson(text);
                  setSaveError(undefined);
                  setSaved(null);
                  setRefusal(null);
                }}
              />
            ) : step && chosen !== null ? (
              <StepEditor
                key={chosen}
                step={step}
                otherIds={all.filter((other) => other !== step).map((other) => String(other.id))}
                detail={details.get(String(step.uses))}
                errors={placed.step}
                inputErrors={placed.inputs}
                suggestions={suggestionsFor(current, chosen, outputSchemas)}
                unparsed={unparsedOf(String(step.id))}
                onUnparsed={(path, text) => editing.setUnparsed(`${step.id}|${path}`, text)}
                onChange={(next) => change(updateStep(current, chosen, () => next))}
                onRename={(from, to) => {
                  editing.renameUnparsed(from, to);
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
