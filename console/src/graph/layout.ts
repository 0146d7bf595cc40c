// Automatic layout of a flow's graph with dagre (layered, left to right).
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 56;

/** Top-left positions (pixels) for `ids`, given edges `[from, to]`. */
export function layout(
  ids: string[],
  edges: Array<[string, string]>,
): Map<string, { x: number; y: number }> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 56, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) graph.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const [from, to] of edges) graph.setEdge(from, to);
  dagre.layout(graph);
  const positions = new Map<string, { x: number; y: number }>();
  for (const id of ids) {
    const node = graph.node(id);
    positions.set(id, { x: node.x - NODE_WIDTH / 2, y: node.y - NODE_HEIGHT / 2 });
  }
  return positions;
}
