// Express executions keep no history (as on AWS): an asynchronous one is followed through its log
// events. The log view of one execution (#/executions/{express ARN}), a machine's "Logs" list, and
// the inline result of a synchronous start.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { EventTable } from "../components/events.js";
import { LoggingSummary, loggingPath } from "../components/logging.js";
import { asHistoryEvent, byExecution, lastAttempt, parseExpressArn, summarize } from "../express.js";
import { ErrorBox, Json, Loading, Status, duration, link, useLoad, when } from "../ui.js";

const LIMIT_MS = 6 * 60 * 1000; // an Express execution ends within five minutes; then stop asking
const PAGE = 250; // log events a read on a machine page (each may carry up to 256 KiB of data)

/** The log events of one execution, read again (from the last page) until it has ended (once: ``follow`` false). */
function useExecutionLog(arn, follow) {
  const [state, setState] = useState({ entries: null, error: null, watching: follow });
  useEffect(() => {
    let stopped = false;
    let timer = null;
    const pages = [];
    const tokens = [undefined];
    const began = Date.now();
    let delay = 200;
    async function poll() {
      try {
        for (;;) { // the last page is read again each time: new events join it, or a token follows
          const k = tokens.length - 1;
          const answer = await api("/v1/execution-logs", { query: { executionArn: arn, limit: PAGE, nextToken: tokens[k] } });
          pages[k] = answer.events;
          if (!answer.nextToken) break;
          tokens.push(answer.nextToken);
        }
        if (stopped) return;
        const entries = pages.flat();
        const ended = summarize(entries.map(asHistoryEvent)).status !== "RUNNING";
        const watching = follow && !ended && Date.now() - began < LIMIT_MS;
        setState({ entries, error: null, watching });
        if (watching) timer = setTimeout(poll, (delay = Math.min(delay * 1.5, 2000)));
      } catch (error) {
        if (stopped) return;
        setState((s) => ({ ...s, error }));
        timer = setTimeout(poll, 2000);
      }
    }
    poll();
    return () => ((stopped = true), clearTimeout(timer));
  }, [arn, follow]);
  return state;
}

export function ExpressExecutionPage({ arn }) {
  const { machine, name } = parseExpressArn(arn);
  const logging = useLoad(() => api(loggingPath(machine)), [machine]);
  if (logging.loading && !logging.data && !logging.error) return html`<${Loading} />`;
  return html`<${ExpressExecution} arn=${arn} machine=${machine} name=${name} config=${logging.data ?? null} configError=${logging.error} />`;
}

function ExpressExecution({ arn, machine, name, config, configError }) {
  const off = config?.level === "OFF";
  const { entries, error, watching } = useExecutionLog(arn, !off); // OFF: read once (it may have logged before)
  const { events, attempt, attempts } = lastAttempt((entries ?? []).map(asHistoryEvent));
  const run = summarize(events);
  const dataLogged = config ? config.includeExecutionData : true;
  return html`<div class="page-head">
      <h1>${name} <small>EXPRESS execution · log view</small></h1>
      ${entries && html`<span class="express-status">${events.length ? html`<${Status} status=${run.status} />` : ""}
        ${watching && html` <span class="live" aria-live="polite">reading its log…</span>`}</span>`}
    </div>
    <dl class="facts">
      <dt>Execution ARN</dt><dd><code data-arn>${arn}</code></dd>
      <dt>State machine</dt><dd><a href=${link("machines", machine)}>${machine}</a></dd>
      <dt>Logging</dt><dd><${LoggingSummary} config=${config} /></dd>
      ${events.length > 0 && html`<dt>Started</dt><dd>${when(run.startDate)}</dd>
        <dt>Duration</dt><dd>${run.stopDate ? duration(Date.parse(run.stopDate) - Date.parse(run.startDate)) : "—"}</dd>`}
      ${attempts > 1 && html`<dt>Attempts</dt><dd>run ${attempts} times (at least once); the events of attempt ${attempt}</dd>`}
    </dl>
    <p class="note">Express executions keep no history (as on AWS): what is shown is this execution's log events
      (<code>GET /v1/execution-logs?executionArn=…</code>).</p>
    <${ErrorBox} error=${configError} />
    <${ErrorBox} error=${error} />
    ${off && entries?.length === 0 && html`<div class="card express-off" role="note"><strong>Nothing is logged for this execution:</strong> logging of
      ${" "}<code>${machine}</code> is OFF, so its Express executions run but leave nothing to see. Turn logging on in the
      Logging section of <a href=${link("machines", machine)}>the machine's page</a> (or${" "}<code>PUT /v1/state-machines/${machine}/logging-configuration</code> with a level and a log group), then start it again.</div>`}
    ${config && !off && config.level !== "ALL" && html`<p class="note" role="note">Logging level is ${config.level}: only
      ${config.level === "FATAL" ? "the execution's own failure is" : "error events are"} logged; a run that succeeds logs nothing.</p>`}
    ${config && !off && !config.includeExecutionData && html`<p class="note" role="note">Input and output are not logged
      (<code>includeExecutionData</code> is false); turn it on in the machine's Logging section to see them.</p>`}
    ${entries === null && html`<${Loading} what="log events" />`}
    ${!off && entries && events.length === 0 && html`<p>No log events for this execution yet${watching ? "…" : "."}</p>`}
    ${events.length > 0 && html`
      ${dataLogged && html`<div class="split">
        <section aria-labelledby="input-title"><h2 id="input-title">Input</h2><${Json} value=${run.input} label="Execution input" /></section>
        <section aria-labelledby="output-title"><h2 id="output-title">Output</h2><${Json} value=${run.output} label="Execution output" /></section>
      </div>`}
      ${run.error && html`<div class="error" role="alert"><strong>${run.error}</strong>${run.cause && html`<pre class="cause">${run.cause}</pre>`}</div>`}
      <section aria-labelledby="events-title"><h2 id="events-title">Log events</h2>
        <${EventTable} events=${events} version=${`${events.length}:${attempt}`} /></section>`}`;
}

/** A machine's log events, newest first, a page at a time: {entries, more (a token), older()}. */
function useRecentLog(machine, level) {
  const [pages, setPages] = useState([]);
  const first = useLoad(() => api("/v1/execution-logs", { query: { stateMachine: machine, limit: PAGE, reverseOrder: true } }), [machine, level]);
  useEffect(() => setPages([]), [first.data]);
  const [older, setOlder] = useState({ loading: false, error: null });
  const last = pages.at(-1) ?? first.data;
  async function readOlder() {
    setOlder({ loading: true, error: null });
    try {
      const page = await api("/v1/execution-logs", { query: { stateMachine: machine, limit: PAGE, reverseOrder: true, nextToken: last.nextToken } });
      setPages((p) => [...p, page]);
      setOlder({ loading: false, error: null });
    } catch (error) {
      setOlder({ loading: false, error });
    }
  }
  const entries = first.data ? [first.data, ...pages].flatMap((p) => p.events) : null;
  return { entries, error: first.error ?? older.error, loading: first.loading || older.loading, reload: first.reload,
    older: last?.nextToken ? readOlder : null };
}

/** An EXPRESS machine's recent executions, from its log events (it has no executions list). */
export function ExpressLogs({ machine, config }) {
  const { entries: data, error, loading, reload, older } = useRecentLog(machine, config?.level);
  const off = config?.level === "OFF" && html`<p class="express-off note" role="note">Logging is OFF: nothing is logged, so
    this machine's Express executions from now on leave nothing to list. Turn it on in the Logging section above.</p>`;
  if (error && !data) return html`${off}<${ErrorBox} error=${error} />`;
  if (!data) return html`${off}<${Loading} what="log events" />`;
  const runs = byExecution(data);
  return html`${off}<div class="row"><button type="button" onClick=${reload} disabled=${loading}>Refresh</button>
      <span class="hint">the newest ${data.length} log events${older ? "; an execution whose first events are older shows those read" : ""}</span></div>
    <${ErrorBox} error=${error} />
    ${runs.length === 0 ? html`<p>No log events yet.</p>` : html`<div class="table-wrap"><table class="express-runs">
      <thead><tr><th>Name</th><th>Status</th><th>Started</th><th>Duration</th><th class="num">Events</th><th>Log group</th></tr></thead>
      <tbody>${runs.map((r) => html`<tr>
        <td><a href=${link("executions", r.arn)}>${r.name}</a>${r.sync ? html` <span class="hint">(synchronous)</span>` : ""}${r.attempts > 1 ? html` <span class="hint">(${r.attempts} attempts)</span>` : ""}</td>
        <td><${Status} status=${r.status} /></td><td>${when(r.startDate)}</td>
        <td class="num">${r.stopDate ? duration(Date.parse(r.stopDate) - Date.parse(r.startDate)) : "—"}</td>
        <td class="num">${r.count}</td><td><code>${data.find((e) => e.message?.execution_arn === r.arn)?.logGroup ?? ""}</code></td>
      </tr>`)}</tbody></table></div>`}
    ${older && html`<button type="button" onClick=${older} disabled=${loading}>Read older events</button>`}`;
}

/** The answer of a synchronous start (POST /v1/state-machines/{name}/sync-executions). */
export function SyncResult({ result }) {
  return html`<section class="card sync-result" aria-labelledby="sync-title">
    <h3 id="sync-title">Synchronous execution <${Status} status=${result.status} /></h3>
    <dl class="facts">
      <dt>Execution ARN</dt><dd><a href=${link("executions", result.executionArn)}><code>${result.executionArn}</code></a></dd>
      <dt>Duration</dt><dd>${duration(Date.parse(result.stopDate) - Date.parse(result.startDate))}</dd>
    </dl>
    ${result.error && html`<div class="error" role="alert"><strong>${result.error}</strong>${result.cause && html`<pre class="cause">${result.cause}</pre>`}</div>`}
    ${result.status === "SUCCEEDED" && html`<${Json} value=${result.output} label="Synchronous execution output" />`}
  </section>`;
}
