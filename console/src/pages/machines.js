// State machines: the list, with executions counted by status (an EXPRESS machine's: a link to its logs).
import { html } from "../html.js";
import { all, api } from "../api.js";
import { ErrorBox, Loading, link, useLoad, when } from "../ui.js";

const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

async function load() {
  const [machines, counts] = await Promise.all([
    all("/v1/state-machines", "stateMachines"),
    api("/v1/execution-counts").catch(() => null), // older servers: no counts
  ]);
  const byName = new Map((counts?.stateMachines ?? []).map((c) => [c.name, c]));
  return { machines, byName, counted: counts !== null };
}

export function MachinesPage() {
  const { data, error, loading } = useLoad(load, []);
  return html`<div class="page-head"><h1>State machines</h1>
      <a class="button primary" href="#/machines/+new">Create state machine</a></div>
    <${ErrorBox} error=${error} />
    ${loading && !data ? html`<${Loading} />` : data && html`
      ${data.machines.length === 0 && html`<p>No state machines yet. <a href="#/machines/+new">Create one</a>.</p>`}
      ${data.machines.length > 0 && html`<div class="table-wrap"><table>
        <thead><tr><th>Name</th><th>Type</th><th>Latest version</th><th>Created</th>
          ${data.counted && STATUSES.map((s) => html`<th class="num">${s.toLowerCase().replace("_", " ")}</th>`)}</tr></thead>
        <tbody>${data.machines.map((m) => html`<tr>
          <td><a href=${link("machines", m.name)}>${m.name}</a></td><td>${m.type}</td>
          <td class="num">${m.latestVersion}</td><td>${when(m.creationDate)}</td>
          ${data.counted && m.type === "EXPRESS" && !data.byName.get(m.name) ? html`<td colspan=${STATUSES.length} class="hint">
            Express: no history kept; <a href=${link("machines", m.name)} aria-label=${`logs of ${m.name}`}>its logs</a></td>`
          : data.counted && STATUSES.map((s) => {
            const n = data.byName.get(m.name)?.counts?.[s] ?? 0;
            return html`<td class="num">${n ? html`<a href=${`#/executions?machine=${encodeURIComponent(m.name)}&status=${s}`}
              aria-label=${`${n} ${s.toLowerCase()} executions of ${m.name}`}>${n}</a>` : "0"}</td>`;
          })}
        </tr>`)}</tbody></table></div>`}`}`;
}
