// The state machine drawn as SVG: states coloured by status (with the status word, and a legend),
// Choice rules on their edges, Default marked, Catch edges dashed, Parallel/Map as nested groups.
import { Component } from "preact";
import { useMemo, useState } from "preact/hooks";
import { html } from "./html.js";
import { levelGraph } from "./asl.js";
import { layout } from "./layout.js";

export const STATUSES = ["succeeded", "failed", "caught", "retried", "running", "cancelled", "not reached", "see iterations"];

export function Legend() {
  return html`<ul class="legend" aria-label="Legend of state colours">
    ${STATUSES.map((s) => html`<li><span class=${`swatch st-${s.replace(" ", "-")}`}></span>${s}</li>`)}
    <li><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5" class="edge-catch" /></svg>Catch</li>
    <li><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5" class="edge-default" /></svg>Default</li>
  </ul>`;
}

/**
 * ``statuses``: Map of state name -> status word (execution page) or null (the machine's own graph).
 * ``problems``: Map of state name -> diagnostics messages (drawn as a red mark on the state).
 */
export function Graph({ definition, statuses = null, problems = null, selected = null, onSelect = null }) {
  const laidOut = useMemo(() => {
    try {
      return layout(levelGraph(definition));
    } catch (error) {
      return { error };
    }
  }, [definition]);
  const [zoom, setZoom] = useState(1);
  const [tabStop, setTabStop] = useState(null); // one Tab stop; arrows move between states
  if (laidOut.error) return html`<p class="error">The graph could not be drawn: ${String(laidOut.error)}</p>`;
  const width = Math.ceil(laidOut.width * zoom);
  const height = Math.ceil(laidOut.height * zoom);
  return html`<div class="graph">
    <div class="graph-tools">
      <button type="button" onClick=${() => setZoom((z) => Math.min(2, z * 1.25))} aria-label="Zoom in">+</button>
      <button type="button" onClick=${() => setZoom((z) => Math.max(0.2, z / 1.25))} aria-label="Zoom out">−</button>
      <button type="button" onClick=${() => setZoom(1)}>100%</button>
    </div>
    <div class="graph-scroll">
      <svg width=${width} height=${height} viewBox=${`0 0 ${laidOut.width} ${laidOut.height}`} role="group"
        aria-label="State machine graph (arrow keys move between states)" onKeyDown=${moveFocus}
        onfocusin=${(e) => e.target.dataset?.state && setTabStop(e.target.dataset.state)}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
          </marker>
        </defs>
        <${Level} level=${laidOut} ctx=${{ statuses, problems, selected, onSelect,
          tabStop: tabStop ?? selected ?? firstState(laidOut) }} />
      </svg>
    </div>
  </div>`;
}

/** Arrow keys, Home and End move the focus between states in reading order (top to bottom, left to
 * right), so a 1,000-state graph is one Tab stop, not 1,000. */
function moveFocus(event) {
  const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, Home: -Infinity, End: Infinity }[event.key];
  if (step === undefined || !event.target.dataset?.state) return;
  event.preventDefault();
  const states = [...event.currentTarget.querySelectorAll('.state[role="button"]')]
    .map((element) => ({ element, box: element.getBoundingClientRect() }))
    .sort((a, b) => a.box.top - b.box.top || a.box.left - b.box.left)
    .map((entry) => entry.element);
  const at = states.indexOf(event.target);
  const next = Number.isFinite(step) ? at + step : step < 0 ? 0 : states.length - 1;
  states[Math.max(0, Math.min(states.length - 1, next))]?.focus();
}

function firstState(level) {
  const node = level.nodes.find((n) => n.type !== "Start" && n.type !== "End" && n.type !== "Missing");
  return node?.name ?? null;
}

function Level({ level, ctx }) {
  const { statuses, problems, selected, tabStop } = ctx;
  return html`<g>
    ${level.edges.map((edge) => html`<${Edge} edge=${edge} />`)}
    ${level.nodes.map((node) => html`<${Node} node=${node} ctx=${ctx} selected=${selected === node.name} tabStop=${tabStop === node.name}
      status=${statuses ? statuses.get(node.name) ?? "not reached" : null} issues=${problems?.get(node.name)} />`)}
  </g>`;
}

function Edge({ edge }) {
  const d = edge.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
  return html`<g class=${`edge edge-${edge.kind}`}>
    <path d=${d} marker-end="url(#arrow)"><title>${edge.title ?? edge.label ?? ""}</title></path>
    ${edge.label && html`<text x=${edge.labelX} y=${edge.labelY + 4} text-anchor="middle" class="edge-label">
      ${edge.label}<title>${edge.title ?? edge.label}</title></text>`}
  </g>`;
}

/** A state; redrawn only when its own status, problems or selection change (a group: always, for
 * the states inside it), so a live update of a 1,000-state graph touches one node. */
class Node extends Component {
  shouldComponentUpdate(next) {
    const p = this.props;
    return Boolean(next.node.inner) || next.node !== p.node || next.status !== p.status
      || next.issues !== p.issues || next.selected !== p.selected || next.tabStop !== p.tabStop;
  }

  render({ node, ctx, status, issues, selected, tabStop }) {
    return drawNode(node, ctx, status, issues, selected, tabStop);
  }
}

function drawNode(node, ctx, status, issues, selected, tabStop) {
  const { onSelect } = ctx;
  if (node.type === "Start" || node.type === "End") {
    return html`<g class="terminal" transform=${`translate(${node.x},${node.y})`}>
      <rect width=${node.width} height=${node.height} rx="15" /><text x=${node.width / 2} y="19" text-anchor="middle">${node.name}</text>
    </g>`;
  }
  const group = Boolean(node.inner);
  const select = onSelect && node.type !== "Missing" ? () => onSelect(node.name) : null;
  const label = `${node.name}, ${node.type}${status ? `, ${status}` : ""}${issues ? `, ${issues.length} problem(s)` : ""}`;
  const classes = ["state", group ? "group" : "", status ? `st-${status.replace(" ", "-")}` : "",
    node.type === "Missing" ? "missing" : "", selected ? "selected" : "", issues ? "has-problem" : ""].join(" ");
  return html`<g class=${classes} transform=${`translate(${node.x},${node.y})`} data-state=${node.name}
    data-status=${status ?? undefined} tabindex=${select ? (tabStop ? 0 : -1) : undefined} role=${select ? "button" : "img"} aria-label=${label}
    onClick=${select} onKeyDown=${select && ((e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), select()))}>
    <title>${label}${issues ? `\n${issues.join("\n")}` : ""}</title>
    <rect class="box" width=${node.width} height=${node.height} rx="6" />
    ${group ? html`
      <text x="10" y="18" class="name">${node.type}: ${node.name}${status ? ` — ${status}` : ""}</text>
      ${node.inner.map((box) => html`<g transform=${`translate(${box.x},${box.y})`}>
        ${box.label && html`<rect class="branch" y="-16" width=${box.part.width} height=${box.part.height + 16} rx="4" />
          <text x="6" y="-4" class="branch-label">${box.label}</text>`}
        <${Level} level=${box.part} ctx=${ctx} />
      </g>`)}` : html`
      <text x=${node.width / 2} y=${status ? 18 : 22} text-anchor="middle" class="name">${clip(node.name, node.width)}</text>
      <text x=${node.width / 2} y=${status ? 33 : 36} text-anchor="middle" class="kind">${status ?? node.type}</text>`}
    ${issues && html`<g class="problem-mark"><circle cx=${node.width - 2} cy="2" r="8" /><text x=${node.width - 2} y="6" text-anchor="middle">!</text></g>`}
  </g>`;
}

function clip(text, width) {
  const max = Math.floor((width - 16) / 7.2);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
