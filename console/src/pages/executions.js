// Executions across machines: filters (status, machine, started between) and pages.
import { html } from "../html.js";
import { all, api } from "../api.js";
import { ErrorBox, Field, Loading, Pager, Status, duration, link, useLoad, useTokenPages, when } from "../ui.js";

const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
const PAGE = 50;

function iso(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function ExecutionsPage({ query }) {
  const filters = {
    stateMachine: query.get("machine") ?? "",
    status: query.get("status") ?? "",
    startedAfter: query.get("after") ?? "",
    startedBefore: query.get("before") ?? "",
  };
  function apply(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = new URLSearchParams();
    for (const key of ["machine", "status", "after", "before"]) if (form.get(key)) next.set(key, form.get(key));
    location.hash = `#/executions?${next}`;
  }
  return html`<h1>Executions</h1>
    <form class="filters" onSubmit=${apply} aria-label="Filter executions">
      <${Field} label="State machine"><input name="machine" value=${filters.stateMachine} list="machine-names" autocomplete="off" /></${Field}>
      <${MachineNames} />
      <${Field} label="Status"><select name="status" value=${filters.status}>
        <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s.toLowerCase().replace("_", " ")}</option>`)}
      </select></${Field}>
      <${Field} label="Started after"><input type="datetime-local" name="after" value=${filters.startedAfter} /></${Field}>
      <${Field} label="Started before"><input type="datetime-local" name="before" value=${filters.startedBefore} /></${Field}>
      <button type="submit" class="primary">Filter</button>
      <a class="button" href="#/executions">Clear</a>
    </form>
    <${ExecutionsTable} filters=${{ ...filters, startedAfter: iso(filters.startedAfter), startedBefore: iso(filters.startedBefore) }} showMachine=${true} />`;
}

function MachineNames() {
  const { data } = useLoad(() => all("/v1/state-machines", "stateMachines", {}, 1000).catch(() => []), []);
  return html`<datalist id="machine-names">${(data ?? []).map((m) => html`<option value=${m.name} />`)}</datalist>`;
}

/** One page of executions matching ``filters`` ({stateMachine, status, startedAfter, startedBefore}). */
export function ExecutionsTable({ filters, showMachine = false }) {
  const key = JSON.stringify(filters);
  const pages = useTokenPages(key);
  const { data, error, loading } = useLoad(
    () => api("/v1/executions", { query: { ...filters, limit: PAGE, nextToken: pages.token } }), [key, pages.token]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="executions" />`;
  if (data.executions.length === 0 && pages.number === 1) return html`<p>No executions${loading ? "…" : "."}</p>`;
  return html`<div class="table-wrap"><table class="executions">
      <thead><tr><th>Name</th>${showMachine && html`<th>State machine</th>`}<th>Status</th><th>Version</th><th>Started</th><th>Duration</th></tr></thead>
      <tbody>${data.executions.map((e) => html`<tr>
        <td><a href=${link("executions", e.executionId)}>${e.name}</a></td>
        ${showMachine && html`<td><a href=${link("machines", e.stateMachine)}>${e.stateMachine}</a></td>`}
        <td><${Status} status=${e.status} /></td><td class="num">${e.version}</td><td>${when(e.startDate)}</td>
        <td class="num">${e.stopDate ? duration(new Date(e.stopDate) - new Date(e.startDate)) : "—"}</td>
      </tr>`)}</tbody></table></div>
    <${Pager} label=${`Page ${pages.number}`} onPrev=${pages.number > 1 ? pages.prev : null}
      onNext=${data.nextToken ? () => pages.next(data.nextToken) : null} />`;
}
