// Small SVG charts of a function's metrics over time (one per figure, with a text total).
import { html } from "../html.js";
import { api } from "../api.js";
import { useLoad } from "../ui.js";

const SERIES = [
  ["invocations", "Invocations"], ["errors", "Errors"], ["throttles", "Throttles"],
  ["durationP50Ms", "Duration p50 (ms)"], ["durationP99Ms", "Duration p99 (ms)"], ["coldStarts", "Cold starts"],
];

export function Charts({ path, refresh = 0 }) {
  const { data, error } = useLoad(() => api(path, { query: { period: 60 } }), [path, refresh]);
  if (error) return html`<p class="note">No metrics: ${error.status === 404 ? "this Stepline does not serve them yet" : error.message}.</p>`;
  if (!data) return null;
  const totals = data.totals ?? {};
  return html`<div>
    <p class="totals">Last hour: ${count(totals.invocations, "invocation")}, ${count(totals.coldStarts, "cold start")},${" "}
      ${Number(totals.gbSeconds ?? 0).toFixed(4)} GB-seconds;${" "}
      ${totals.errors === null ? "errors and throttles are not recorded per invocation (see /metrics)"
        : `${count(totals.errors, "error")}, ${count(totals.throttles, "throttle")}`}.</p>
    <div class="charts">${SERIES.map(([key, title]) => html`<${Chart} title=${title} points=${data.points} field=${key} />`)}</div>
  </div>`;
}

function count(n, noun) {
  return `${n ?? 0} ${noun}${n === 1 ? "" : "s"}`;
}

function Chart({ title, points, field }) {
  const values = points.map((p) => p[field]);
  const known = values.filter((v) => v !== null && v !== undefined);
  const max = Math.max(1, ...known);
  const width = 280;
  const height = 90;
  const step = width / Math.max(points.length, 1);
  return html`<figure class="chart">
    <figcaption>${title}: ${known.length ? `max ${Math.round(Math.max(0, ...known) * 100) / 100}` : "not recorded"}</figcaption>
    <svg width=${width} height=${height} role="img" aria-label=${`${title} per minute`}>
      <line x1="0" y1=${height - 0.5} x2=${width} y2=${height - 0.5} class="axis" />
      ${values.map((v, k) => v ? html`<rect x=${k * step} y=${height - (v / max) * (height - 4)} width=${Math.max(step - 1, 1)}
        height=${(v / max) * (height - 4)} class="bar"><title>${points[k].timestamp}: ${v}</title></rect>` : null)}
    </svg>
  </figure>`;
}
