// Graph layout with dagre, one level at a time: a Parallel's branches and a Map's processor are laid
// out first, and the group is then a node of their size in its own level (nested groups, no overlap).
import dagre from "@dagrejs/dagre";

const NODE_HEIGHT = 44;
const CHAR_WIDTH = 7.2;
const GROUP_HEADER = 28;
const GROUP_PAD = 14;
const BRANCH_GAP = 16;

function nodeSize(node) {
  if (node.type === "Start" || node.type === "End") return { width: 64, height: 30 };
  const width = Math.min(260, Math.max(120, node.name.length * CHAR_WIDTH + 32));
  return { width, height: NODE_HEIGHT };
}

/** Positions for ``graph`` (from asl.levelGraph): {width, height, nodes: [{...node, x, y, width, height,
 * inner}], edges: [{...edge, points, labelX, labelY}]}; x/y are top-left corners in the level's space. */
export function layout(graph) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 36, edgesep: 12, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const placed = new Map();
  for (const node of graph.nodes) {
    let size = nodeSize(node);
    let inner = null;
    if (node.branches || node.processor) {
      const parts = (node.branches ?? [node.processor]).map(layout);
      let x = GROUP_PAD;
      const boxes = parts.map((part, index) => {
        const box = { x, y: GROUP_HEADER + (node.branches ? 18 : 0), part, label: node.branches ? `Branch ${index + 1}` : null };
        x += part.width + BRANCH_GAP;
        return box;
      });
      const height = Math.max(...parts.map((p) => p.height), 40) + GROUP_HEADER + GROUP_PAD + (node.branches ? 18 : 0);
      size = { width: Math.max(size.width, x - BRANCH_GAP + GROUP_PAD), height };
      inner = boxes;
    }
    placed.set(node.id, { ...node, ...size, inner });
    g.setNode(node.id, { width: size.width, height: size.height });
  }
  graph.edges.forEach((edge, index) => {
    const labelled = Boolean(edge.label);
    g.setEdge(edge.from, edge.to, {
      width: labelled ? Math.min(220, edge.label.length * 6.4 + 8) : 0,
      height: labelled ? 16 : 0,
      labelpos: "c",
    }, String(index));
  });
  dagre.layout(g);
  const nodes = [...placed.values()].map((node) => {
    const at = g.node(node.id);
    return { ...node, x: at.x - node.width / 2, y: at.y - node.height / 2 };
  });
  const edges = graph.edges.map((edge, index) => {
    const at = g.edge(edge.from, edge.to, String(index));
    return { ...edge, points: at.points, labelX: at.x, labelY: at.y };
  });
  const size = g.graph();
  return { width: size.width, height: size.height, nodes, edges };
}
