// The timeline (Gantt): one bar per state visit, placed on the execution's time, coloured by status.
import { useMemo } from "preact/hooks";
import { html } from "../html.js";
import { duration, usePage } from "../ui.js";

export function Timeline({ analysis, executionStatus, onSelect, version }) {
  const visits = useMemo(() => [...analysis.visits], [version, executionStatus]);
  const [page, pager] = usePage(visits, 100);
  if (!visits.length) return html`<p>No state has started yet.</p>`;
  const start = analysis.start ?? visits[0].start;
  const end = analysis.end ?? Date.now(); // a visit never exited ends with the execution
  const span = Math.max(end - start, 1);
  return html`<div class="timeline">
    <ol class="gantt" aria-label="State durations">${page.map((visit) => {
      const status = analysis.visitStatus(visit, executionStatus);
      const left = ((visit.start - start) / span) * 100;
      const width = Math.max((((visit.end ?? end) - visit.start) / span) * 100, 0.3);
      const took = (visit.end ?? end) - visit.start;
      return html`<li>
        <button type="button" class="gantt-name" onClick=${() => onSelect(visit.name)} title=${`${visit.name}: ${status}`}>${visit.name}</button>
        <span class="gantt-track"><span class=${`gantt-bar st-${status.replace(" ", "-")}`}
          style=${{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }}></span></span>
        <span class="gantt-time">${duration(took)} · ${status}</span>
      </li>`;
    })}</ol>
    ${pager}
  </div>`;
}
