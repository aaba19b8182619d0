// A state's step-through (its data after each processing stage, retries), and for Map and Parallel
// the iteration/branch picker (paged, by status) with the states of the one picked.
import { useMemo, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { HistoryAnalysis } from "../history.js";
import { ErrorBox, Field, Json, Loading, Pager, duration, parsed, useLoad, useTokenPages } from "../ui.js";

const STAGE_TITLES = {
  input: "Input", afterInputPath: "After InputPath", afterParameters: "After Parameters",
  afterArguments: "After Arguments", result: "Task result", afterResultSelector: "After ResultSelector",
  afterResultPath: "After ResultPath", errorOutput: "Error output (caught)", output: "Output",
  variables: "Variables assigned",
};

export function StatePanel({ executionId, name, analysis, executionStatus, version }) {
  const visits = useMemo(() => analysis.visits.filter((v) => v.name === name), [name, version]);
  const [chosen, setChosen] = useState(null);
  if (!visits.length) return html`<p>${name} was not reached${executionStatus === "RUNNING" ? " yet" : ""}.</p>`;
  const visit = visits.find((v) => v.enteredId === chosen) ?? visits[visits.length - 1];
  const status = analysis.visitStatus(visit, executionStatus);
  return html`<div>
    ${visits.length > 1 && html`<${Field} label=${`Visit (${visits.length})`}>
      <select value=${visit.enteredId} onChange=${(e) => setChosen(Number(e.target.value))}>
        ${visits.map((v, k) => html`<option value=${v.enteredId}>#${k + 1} (event ${v.enteredId}) ${analysis.visitStatus(v, executionStatus)}</option>`)}
      </select></${Field}>`}
    <p>${visit.type} · <strong class=${`status-word st-${status.replace(" ", "-")}`}>${status}</strong>${" "}
      · ${duration((visit.end ?? Date.now()) - visit.start)}</p>
    <${StepThrough} executionId=${executionId} enteredId=${visit.enteredId} done=${visit.exitedId ?? executionStatus} visit=${visit} />
    ${(visit.type === "Map" || visit.type === "Parallel") && html`<${Iterations} executionId=${executionId}
      enteredId=${visit.enteredId} done=${visit.exitedId ?? executionStatus} />`}
  </div>`;
}

function StepThrough({ executionId, enteredId, done, visit = null }) {
  const path = `/v1/executions/${encodeURIComponent(executionId)}/states/${enteredId}/steps`;
  const { data, error } = useLoad(() => api(path), [path, done]);
  if (error && visit && error.status === 404) return html`<${Recorded} visit=${visit} />`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="the step-through" />`;
  return html`<div class="steps" data-status=${data.status}>
    ${data.nextState && html`<p>Next: <strong>${data.nextState}</strong></p>`}
    ${data.error && html`<div class="error"><strong>${data.error}</strong>${data.cause && html`<pre class="cause">${data.cause}</pre>`}</div>`}
    <ol class="stages">${data.stages.map((stage) => html`<li data-stage=${stage.name}>
      <h3>${STAGE_TITLES[stage.name] ?? stage.name}${stage.field && html` <small>(${stage.field}${stage.expression === null ? ": absent, unchanged" : ""})</small>`}</h3>
      ${stage.field && stage.expression !== null && stage.expression !== undefined && html`<p class="expression"><code>${typeof stage.expression === "string" ? stage.expression : JSON.stringify(stage.expression)}</code></p>`}
      <${Json} value=${stage.value} label=${STAGE_TITLES[stage.name] ?? stage.name} />
    </li>`)}</ol>
    ${data.variablesInScope && Object.keys(data.variablesInScope).length > 0 && html`<h3>Variables in scope when entered</h3>
      <${Json} value=${data.variablesInScope} label="Variables in scope" />`}
    ${data.variables && Object.keys(data.variables).length > 0 && !data.stages.some((st) => st.name === "variables") && html`
      <h3>Variables assigned</h3><${Json} value=${data.variables} label="Variables assigned" />`}
    ${data.attempts?.length > 0 && html`<h3>Failed attempts (${data.attempts.length})</h3><ol class="attempts">${data.attempts.map((a) => html`<li>
      event ${a.eventId}${a.type ? ` (${a.type})` : ""}: <strong>${a.error}</strong> ${a.cause}</li>`)}</ol>`}
    ${data.notes?.map((n) => html`<p class="note">${n}</p>`)}
  </div>`;
}

/** Without the server's step-through: the input and output the history recorded. */
function Recorded({ visit }) {
  return html`<div class="steps">
    <p class="note">This Stepline does not compute the stages in between; here is what the history recorded.</p>
    <ol class="stages">
      <li data-stage="input"><h3>Input</h3><${Json} value=${parsed(visit.input)} label="Input" /></li>
      ${visit.exitedId !== null && html`<li data-stage="output"><h3>Output</h3><${Json} value=${parsed(visit.output)} label="Output" /></li>`}
    </ol>
  </div>`;
}

const ITERATION_STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "ABORTED"];

function Iterations({ executionId, enteredId, done }) {
  const [status, setStatus] = useState("");
  const [picked, setPicked] = useState(null);
  const pages = useTokenPages(status);
  const path = `/v1/executions/${encodeURIComponent(executionId)}/states/${enteredId}/iterations`;
  const { data, error } = useLoad(() => api(path, { query: { status, limit: 50, nextToken: pages.token } }), [path, status, pages.token, done]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="iterations" />`;
  const noun = data.stateType === "Parallel" ? "Branch" : "Iteration";
  return html`<div class="iterations">
    <h3>${noun === "Branch" ? "Branches" : "Iterations"} <small>(${data.total})</small></h3>
    <p class="counts">${ITERATION_STATUSES.filter((s) => data.counts?.[s]).map((s) => html`<span class=${`badge s-${s.toLowerCase()}`}>${data.counts[s]} ${s.toLowerCase()}</span> `)}</p>
    <${Field} label="Show"><select value=${status} onChange=${(e) => setStatus(e.target.value)} aria-label=${`${noun} status`}>
      <option value="">all</option>${ITERATION_STATUSES.map((s) => html`<option value=${s}>${s.toLowerCase()}</option>`)}</select></${Field}>
    <ul class="iteration-list" aria-label=${`${noun}s, page ${pages.number}`}>${data.iterations.map((it) => html`<li>
      <button type="button" class=${`it s-${it.status.toLowerCase()}`} aria-pressed=${picked === it.index}
        onClick=${() => setPicked(it.index)}>#${it.index} ${it.status.toLowerCase()}</button></li>`)}</ul>
    <${Pager} label=${`Page ${pages.number}`} onPrev=${pages.number > 1 ? pages.prev : null}
      onNext=${data.nextToken ? () => pages.next(data.nextToken) : null} />
    <form class="row" onSubmit=${(e) => {
      e.preventDefault();
      const index = Number(new FormData(e.target).get("index"));
      if (Number.isInteger(index) && index >= 0 && index < data.total) setPicked(index);
    }}>
      <${Field} label=${`${noun} number`}><input name="index" type="number" min="0" max=${data.total - 1} required /></${Field}>
      <button type="submit">Show</button>
    </form>
    ${picked !== null && html`<${Iteration} key=${picked} path=${`${path}/${picked}/events`} executionId=${executionId} noun=${noun} />`}
  </div>`;
}

function Iteration({ path, executionId, noun }) {
  const { data, error } = useLoad(() => api(path), [path]);
  const [stepOf, setStepOf] = useState(null);
  const analysis = useMemo(() => {
    const a = new HistoryAnalysis();
    (data?.events ?? []).forEach((e) => a.add(e));
    return a;
  }, [data]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const runStatus = data.status === "RUNNING" ? "RUNNING" : data.status === "SUCCEEDED" ? "SUCCEEDED" : "FAILED";
  return html`<div class="iteration" data-index=${data.index}>
    <h4>${noun} #${data.index}: ${data.status.toLowerCase()}</h4>
    ${analysis.visits.length === 0 ? html`<p class="note">Its states' events are not in this history (it ran in a chunk of the Map).</p>`
      : html`<table><thead><tr><th>State</th><th>Status</th><th>Duration</th><th></th></tr></thead><tbody>
      ${analysis.visits.map((v) => html`<tr><td>${v.name}</td><td>${analysis.visitStatus(v, runStatus)}</td>
        <td>${duration((v.end ?? Date.now()) - v.start)}</td>
        <td><button type="button" onClick=${() => setStepOf(v.enteredId)}>Step through</button></td></tr>`)}</tbody></table>`}
    ${stepOf !== null && html`<${StepThrough} key=${stepOf} executionId=${executionId} enteredId=${stepOf} done=${true} />`}
  </div>`;
}
