// The flow drawn as a graph: a trigger node, one node per step, edges from references and
// `needs` (graph/references.ts), laid out by dagre. Used by the builder (selectable) and by the
// run page (nodes coloured by step status).
import {
  Background,
  Controls,
  Position,
  ReactFlow,
  useReactFlow,
  type Edge,
  type Node,
  type NodeChange,
} from "@xyflow/react";
import { useEffect, useMemo } from "react";
import { layout } from "./layout";
import { dependencyEdges, readsTrigger, upstreamOf, type FlowDef } from "./references";

export const TRIGGER_NODE = "trigger";

export interface FlowGraphProps {
  flow: FlowDef;
  /** Step id -> status (e.g. "succeeded", "failed", "running"); colours the nodes. */
  statuses?: Record<string, string>;
  selected?: string | null;
  onSelect?: (stepId: string | null) => void;
  /** Accessible name of the graph region. */
  label?: string;
}

export function FlowGraph({ flow, statuses, selected, onSelect, label }: FlowGraphProps) {
  const { nodes, edges } = useMemo(() => {
    const steps = Array.isArray(flow.steps) ? flow.steps : [];
    const pairs = dependencyEdges({ ...flow, steps });
    // A step with no upstream step hangs off the trigger, so every node is connected.
    for (const step of steps) {
      const known = [...upstreamOf(step)].some((id) => steps.some((other) => other.id === id));
      if (!known || readsTrigger(step)) pairs.push([TRIGGER_NODE, step.id]);
    }
    const unique = Array.from(new Map(pairs.map((pair) => [pair.join("\u0000"), pair])).values());
    const ids = [TRIGGER_NODE, ...steps.map((step) => step.id)];
    const positions = layout(ids, unique);
    const nodes: Node[] = [
      {
        id: TRIGGER_NODE,
        position: positions.get(TRIGGER_NODE)!,
        data: { label: "trigger" },
        type: "input",
        sourcePosition: Position.Right,
        className: "graph-node graph-trigger",
        selectable: false,
        ariaLabel: "trigger",
      },
      ...steps.map((step) => {
        const status = statuses?.[step.id];
        return {
          id: step.id,
          position: positions.get(step.id)!,
          data: {
            label: (
              <span className="graph-label">
                <strong title={step.id}>{step.id}</strong>
                <small>{step.uses}</small>
                {status && <small className="graph-status">{status}</small>}
              </span>
            ),
          },
          className: [
            "graph-node",
            status ? `status-${status}` : "",
            step.id === selected ? "graph-selected" : "",
          ].join(" "),
          ariaLabel: `step ${step.id}${status ? `, ${status}` : ""}`,
          sourcePosition: Position.Right,
          targetPosition: Position.Left,
          selected: step.id === selected,
        } satisfies Node;
      }),
    ];
    const edges: Edge[] = unique.map(([from, to]) => ({
      id: `${from}->${to}`,
      source: from,
      target: to,
      animated: statuses?.[to] === "running",
    }));
    return { nodes, edges };
  }, [flow, statuses, selected]);

  return (
    <div className="flow-graph" role="region" aria-label={label ?? "flow graph"}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        fitViewOptions={FIT}
        nodesDraggable={false}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
        // The keyboard: Tab reaches the nodes only where they can be selected (the builder),
        // Enter or Space selects one (React Flow reports it as a change); never the edges.
        nodesFocusable={Boolean(onSelect)}
        edgesFocusable={false}
        onNodesChange={(changes: NodeChange[]) => {
          const picked = changes.find((change) => change.type === "select" && change.selected);
          if (picked && "id" in picked) onSelect?.(picked.id);
        }}
        onNodeClick={(_, node) => onSelect?.(node.id === TRIGGER_NODE ? null : node.id)}
        onPaneClick={() => onSelect?.(null)}
      >
        <FitOnChange signature={nodes.map((node) => node.id).join(" ")} />
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

const FIT = { maxZoom: 1, padding: 0.15 };

/** Fits the view again when steps come or go (the builder adds them after the first fit). */
function FitOnChange({ signature }: { signature: string }) {
  const { fitView } = useReactFlow();
  useEffect(() => {
    void fitView(FIT);
  }, [signature, fitView]);
  return null;
}
