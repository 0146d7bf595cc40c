// The builder's editing state: the definition, the JSON view's text (kept as typed, even when
// it does not parse), JSON literal inputs that do not parse, and the draft that keeps all of it
// in sessionStorage until it is saved or discarded (draft.ts).
import { useEffect, useState } from "react";
import { api, call } from "../../api/client";
import { useWorkspace } from "../../workspace";
import { clean, emptyFlow, pretty, steps, type FlowDef } from "./definition";
import { dropDraft, readDraft, useLeavePrompt, writeDraft, type Draft } from "./draft";
import { parseDefinition } from "./JsonView";

/** `step|path` -> "input data of step transform". */
function describeInput(key: string): string {
  const [stepId, path] = key.split("|");
  return `input ${path} of step ${stepId}`;
}

const same = (a: unknown, b: unknown) => pretty(clean(a)) === pretty(clean(b));

export function useFlowEditing(flowId: string | null) {
  const workspaceId = useWorkspace().workspace.id;
  const [initialDraft] = useState(() => (flowId ? null : readDraft(workspaceId, null)));
  const [flow, setFlow] = useState<FlowDef | null>(() =>
    flowId ? null : (initialDraft?.definition ?? emptyFlow()),
  );
  const [saved, setSaved] = useState<FlowDef>(emptyFlow);
  const [latest, setLatest] = useState<number | null>(null);
  const [baseVersion, setBaseVersion] = useState<number | null>(null);
  const [jsonText, setJsonText] = useState<string | null>(initialDraft?.jsonText ?? null);
  const [unparsed, setUnparsed] = useState<Record<string, string>>(initialDraft?.unparsed ?? {});
  const [restored, setRestored] = useState<Draft | null>(initialDraft);
  const [loadError, setLoadError] = useState<unknown>();

  useEffect(() => {
    if (!flowId) return;
    call(api.GET("/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } })).then(
      (found) => {
        const definition = found.definition as FlowDef;
        const draft = readDraft(workspaceId, flowId);
        setSaved(definition);
        setLatest(found.latest_version);
        if (draft) {
          setFlow(draft.definition);
          setBaseVersion(draft.baseVersion ?? found.latest_version);
          setJsonText(draft.jsonText);
          setUnparsed(draft.unparsed ?? {});
          setRestored(draft);
        } else {
          setFlow(definition);
          setBaseVersion(found.latest_version);
        }
      },
      setLoadError,
    );
  }, [flowId, workspaceId]);

  const current = flow ?? emptyFlow();
  const jsonProblem =
    jsonText === null
      ? null
      : (() => {
          const parsed = parseDefinition(jsonText);
          return "problem" in parsed ? parsed.problem : null;
        })();
  // Only steps still in the flow count (a removed step's text went with it).
  const ids = new Set(steps(current).map((step) => String(step.id)));
  const unparsedInputs = Object.keys(unparsed).filter((key) => ids.has(key.split("|")[0]));
  const unsaved =
    flow !== null && (jsonProblem !== null || unparsedInputs.length > 0 || !same(flow, saved));

  useEffect(() => {
    if (flow === null) return;
    if (unsaved)
      writeDraft(workspaceId, flowId, {
        definition: flow,
        baseVersion,
        jsonText: jsonProblem ? jsonText : null,
        unparsed,
      });
    else dropDraft(workspaceId, flowId);
  }, [workspaceId, flowId, flow, baseVersion, jsonText, jsonProblem, unparsed, unsaved]);
  useLeavePrompt(unsaved);

  /** Why Save (or leaving the JSON view) is refused now, or null. */
  const blocked = jsonProblem
    ? `the JSON does not parse: ${jsonProblem}`
    : unparsedInputs.length
      ? `${unparsedInputs.map(describeInput).join(", ")} does not parse as JSON`
      : null;

  return {
    flow,
    current,
    loadError,
    baseVersion,
    latest,
    jsonText,
    jsonProblem,
    unparsed,
    blocked,
    unsaved,
    restored,
    setFlow,
    /** Typed into the JSON view: kept as typed; the definition follows when it parses. */
    editJson(text: string) {
      setJsonText(text);
      const parsed = parseDefinition(text);
      if ("flow" in parsed) setFlow(parsed.flow);
    },
    /** The JSON view opens (with the definition) or closes (null). */
    setJsonText,
    setUnparsed(key: string, text: string | null) {
      setUnparsed((old) => {
        if (text === null && !(key in old)) return old;
        const next = { ...old };
        if (text === null) delete next[key];
        else next[key] = text;
        return next;
      });
    },
    /** Step `from` is now `to`: its JSON literal texts go with it. */
    renameUnparsed(from: string, to: string) {
      setUnparsed((old) =>
        Object.fromEntries(
          Object.entries(old).map(([key, text]) => [
            key.startsWith(`${from}|`) ? `${to}${key.slice(from.length)}` : key,
            text,
          ]),
        ),
      );
    },
    /** Saved as `version`: that is now the base, and no draft is kept. */
    savedAs(version: number) {
      setBaseVersion(version);
      setLatest(version);
      setSaved(current);
      setRestored(null);
      dropDraft(workspaceId, flowId);
    },
    /** Back to the saved definition (an empty canvas for a new flow). */
    discard() {
      dropDraft(workspaceId, flowId);
      setFlow(saved);
      setBaseVersion(latest);
      setJsonText(null);
      setUnparsed({});
      setRestored(null);
    },
    dismissRestored: () => setRestored(null),
  };
}
