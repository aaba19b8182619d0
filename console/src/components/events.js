// The event table: filter by type, pages of 100, any event's details expanded in place.
import { useMemo, useState } from "preact/hooks";
import { html } from "../html.js";
import { detailsOf } from "../history.js";
import { Field, parsed, usePage, when } from "../ui.js";

export function EventTable({ events, version, analysis = null }) {
  const [type, setType] = useState("");
  const types = useMemo(() => [...new Set(events.map((e) => e.type))].sort(), [version]);
  const shown = useMemo(() => (type ? events.filter((e) => e.type === type) : events), [type, version]);
  const [page, pager] = usePage(shown, 100, type);
  const start = events.length ? Date.parse(events[0].timestamp) : 0;
  return html`<div class="events">
    <${Field} label="Event type"><select value=${type} onChange=${(e) => setType(e.target.value)} aria-label="Filter events by type">
      <option value="">all (${events.length})</option>${types.map((t) => html`<option value=${t}>${t}</option>`)}</select></${Field}>
    <div class="table-wrap"><table>
      <thead><tr><th class="num">ID</th><th>Type</th><th>State</th><th class="num">Elapsed</th><th>Time</th><th>Details</th></tr></thead>
      <tbody>${page.map((event) => html`<${EventRow} key=${event.id} event=${event} start=${start} analysis=${analysis} />`)}</tbody>
    </table></div>
    ${pager}
  </div>`;
}

function EventRow({ event, start, analysis }) {
  const details = detailsOf(event);
  const state = details?.name ?? analysis?.owner.get(Number(event.id))?.name ?? ""; // a task's events: its state
  const failed = /(Failed|TimedOut|Aborted)$/.test(event.type);
  return html`<tr class=${failed ? "failed-row" : ""} data-type=${event.type}>
    <td class="num">${event.id}</td><td>${event.type}</td><td>${state}</td>
    <td class="num">${Date.parse(event.timestamp) - start} ms</td><td>${when(event.timestamp)}</td>
    <td>${details ? html`<details><summary>details</summary><pre class="json">${JSON.stringify(expand(details), null, 2)}</pre></details>` : ""}</td>
  </tr>`;
}

function expand(details) {
  const out = {};
  for (const [key, value] of Object.entries(details)) out[key] = ["input", "output", "parameters"].includes(key) ? parsed(value) : value;
  return out;
}
