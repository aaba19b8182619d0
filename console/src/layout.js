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

const RANKSEP = 36;
const CHAINS_FROM = 60; // nodes in a level; below, dagre lays out every node itself

/** Positions for ``graph`` (from asl.levelGraph): {width, height, nodes: [{...node, x, y, width, height,
 * inner}], edges: [{...edge, points, labelX, labelY}]}; x/y are top-left corners in the level's space.
 *
 * dagre's ordering step costs about ranks x nodes, so in a large level every run of states linked one
 * to one (a chain) is laid out as one tall node and then unrolled: a 1,000-state chain takes ~5 ms
 * instead of ~700. */
export function layout(graph) {
  const placed = new Map(graph.nodes.map((node) => [node.id, sized(node)]));
  const chains = graph.nodes.length >= CHAINS_FROM ? findChains(graph) : [];
  const chainOf = new Map();
  chains.forEach((chain, k) => chain.forEach((id) => chainOf.set(id, `^chain${k}`)));
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: RANKSEP, edgesep: 12, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of placed.values()) if (!chainOf.has(node.id)) g.setNode(node.id, { width: node.width, height: node.height });
  chains.forEach((chain, k) => {
    const members = chain.map((id) => placed.get(id));
    g.setNode(`^chain${k}`, {
      width: Math.max(...members.map((m) => m.width)),
      height: members.reduce((sum, m) => sum + m.height, 0) + RANKSEP * (members.length - 1),
    });
  });
  const inner = new Set(); // edges inside a chain: drawn straight, not given to dagre
  graph.edges.forEach((edge, index) => {
    const from = chainOf.get(edge.from) ?? edge.from;
    const to = chainOf.get(edge.to) ?? edge.to;
    if (from === to && chainOf.has(edge.from)) return void inner.add(index);
    const labelled = Boolean(edge.label);
    g.setEdge(from, to, {
      width: labelled ? Math.min(220, edge.label.length * 6.4 + 8) : 0,
      height: labelled ? 16 : 0,
      labelpos: "c",
    }, String(index));
  });
  dagre.layout(g);
  const nodes = new Map();
  for (const node of placed.values()) {
    if (chainOf.has(node.id)) continue;
    const at = g.node(node.id);
    nodes.set(node.id, { ...node, x: at.x - node.width / 2, y: at.y - node.height / 2 });
  }
  chains.forEach((chain, k) => {
    const at = g.node(`^chain${k}`);
    let y = at.y - at.height / 2;
    for (const id of chain) {
      const node = placed.get(id);
      nodes.set(id, { ...node, x: at.x - node.width / 2, y });
      y += node.height + RANKSEP;
    }
  });
  const edges = graph.edges.map((edge, index) => {
    const from = nodes.get(edge.from);
    const to = nodes.get(edge.to);
    const centre = (n) => n.x + n.width / 2;
    if (inner.has(index)) {
      const points = [{ x: centre(from), y: from.y + from.height }, { x: centre(to), y: to.y }];
      return { ...edge, points, labelX: centre(from), labelY: (from.y + from.height + to.y) / 2 };
    }
    const at = g.edge(chainOf.get(edge.from) ?? edge.from, chainOf.get(edge.to) ?? edge.to, String(index));
    const points = [...at.points];
    if (chainOf.has(edge.from)) points[0] = { x: centre(from), y: from.y + from.height };
    if (chainOf.has(edge.to)) points[points.length - 1] = { x: centre(to), y: to.y };
    return { ...edge, points, labelX: at.x, labelY: at.y };
  });
  const size = g.graph();
  return { width: size.width, height: size.height, nodes: [...nodes.values()], edges };
}

/** A node with its size (a group: its branches or processor laid out inside it). */
function sized(node) {
  if (!node.branches && !node.processor) return { ...node, ...nodeSize(node), inner: null };
  const parts = (node.branches ?? [node.processor]).map(layout);
  const top = GROUP_HEADER + (node.branches ? 18 : 0);
  let x = GROUP_PAD;
  const inner = parts.map((part, index) => {
    const box = { x, y: top, part, label: node.branches ? `Branch ${index + 1}` : null };
    x += part.width + BRANCH_GAP;
    return box;
  });
  const height = Math.max(...parts.map((p) => p.height), 40) + top + GROUP_PAD;
  return { ...node, width: Math.max(nodeSize(node).width, x - BRANCH_GAP + GROUP_PAD), height, inner };
}

/** Runs of 3+ nodes where each links to the next by its only edge out, the next's only edge in. */
function findChains(graph) {
  const outs = new Map();
  const ins = new Map();
  for (const edge of graph.edges) {
    outs.set(edge.from, [...(outs.get(edge.from) ?? []), edge]);
    ins.set(edge.to, [...(ins.get(edge.to) ?? []), edge]);
  }
  const link = (id) => {
    const out = outs.get(id) ?? [];
    if (out.length !== 1 || out[0].label || out[0].to === id) return null;
    return (ins.get(out[0].to) ?? []).length === 1 ? out[0].to : null;
  };
  const linkedTo = new Set(graph.nodes.map((n) => link(n.id)).filter(Boolean));
  const chains = [];
  for (const node of graph.nodes) {
    if (linkedTo.has(node.id)) continue; // not the head of a run
    const chain = [node.id];
    const seen = new Set(chain);
    for (let next = link(node.id); next && !seen.has(next); next = link(next)) (chain.push(next), seen.add(next));
    if (chain.length >= 3) chains.push(chain);
  }
  return chains;
}
