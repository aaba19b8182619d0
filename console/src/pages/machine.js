// One state machine: its graph, its definition with diagnostics at their state, versions, logging,
// the start form, and its executions (an EXPRESS machine's: from its log events, pages/express.js).
import { useMemo, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { Graph } from "../graph.js";
import { JsonEditor } from "../editor.js";
import { placeDiagnostics } from "../diagnostics.js";
import { ErrorBox, Field, Loading, link, useLoad, when } from "../ui.js";
import { ExecutionsTable } from "./executions.js";
import { ExpressLogs, SyncResult } from "./express.js";
import { LoggingCard, loggingPath } from "../components/logging.js";

async function load(name, version) {
  const path = `/v1/state-machines/${encodeURIComponent(name)}`;
  const machine = await api(path, { query: { version } });
  const validation = await api("/v1/state-machines/validate", { method: "POST", body: { definition: machine.definition } })
    .catch(() => ({ diagnostics: [] }));
  const { aliases } = await api(`${path}/aliases`).catch(() => ({ aliases: [] }));
  const logging = await api(loggingPath(name)).catch(() => null);
  return { machine, diagnostics: validation.diagnostics, aliases, logging };
}

export function MachinePage({ name, version }) {
  const { data, error, loading } = useLoad(() => load(name, version), [name, version]);
  if (error) return html`<h1>${name}</h1><${ErrorBox} error=${error} />`;
  if (loading && !data) return html`<${Loading} />`;
  return html`<${Machine} ...${data} />`;
}

function Machine({ machine, diagnostics, aliases, logging: kept }) {
  const [logging, setLogging] = useState(kept);
  const express = machine.type === "EXPRESS";
  const text = useMemo(() => JSON.stringify(machine.definition, null, 2), [machine]);
  const placed = useMemo(() => placeDiagnostics(text, diagnostics), [text, diagnostics]);
  const versions = Array.from({ length: machine.latestVersion }, (_, k) => machine.latestVersion - k);
  return html`<div class="page-head">
      <h1>${machine.name} <small>${machine.type} · version ${machine.version} of ${machine.latestVersion}</small></h1>
      <a class="button" href=${link("machines", machine.name, "edit")}>Edit</a>
    </div>
    ${machine.description && html`<p>${machine.description}</p>`}
    <dl class="facts">
      <dt>ARN</dt><dd><code>${machine.stateMachineArn}</code></dd>
      <dt>Created</dt><dd>${when(machine.creationDate)}</dd>
      <dt>This version</dt><dd>${when(machine.versionDate)}</dd>
      <dt>Versions</dt><dd><nav aria-label="Versions" class="versions">${versions.slice(0, 50).map((v) => html`
        <a href=${`${link("machines", machine.name)}?version=${v}`} aria-current=${v === machine.version ? "page" : undefined}>${v}</a>`)}
        ${versions.length > 50 && html`<span>… (${versions.length} in all)</span>`}</nav></dd>
      <dt>Aliases</dt><dd>${aliases.length === 0 ? "none" : html`<ul class="aliases" aria-label="Aliases">${aliases.map((a) => html`
        <li data-alias=${a.name}><strong>${a.name}</strong> → ${a.routing.map((r, k) => html`${k > 0 && " · "}<a
          href=${`${link("machines", machine.name)}?version=${r.version}`}>version ${r.version}</a> ${r.weight}%`)}
          ${a.description && html` <span class="hint">${a.description}</span>`}</li>`)}</ul>`}</dd>
    </dl>
    <div class="split">
      <section aria-labelledby="graph-title"><h2 id="graph-title">Graph</h2>
        <${Graph} definition=${machine.definition} problems=${placed.byState} /></section>
      <section aria-labelledby="def-title"><h2 id="def-title">Definition</h2>
        <${JsonEditor} value=${text} readOnly=${true} diagnostics=${placed.marks} label="Definition (read only)" />
        ${diagnostics.length > 0 && html`<ul class="diagnostics">${diagnostics.map((d) => html`<li class=${d.severity.toLowerCase()}>
          <strong>${d.severity}</strong> ${d.location && html`<code>${d.location}</code>`} ${d.code}: ${d.message}</li>`)}</ul>`}
      </section>
    </div>
    <${LoggingCard} machine=${machine} config=${logging} onChanged=${setLogging} />
    <${StartForm} machine=${machine} />
    ${express
      ? html`<section aria-labelledby="runs-title"><h2 id="runs-title">Logs</h2>
          <p class="note">Express executions keep no history: here are its recent executions as its log events tell them.</p>
          <${ExpressLogs} machine=${machine.name} config=${logging} /></section>`
      : html`<section aria-labelledby="runs-title"><h2 id="runs-title">Executions</h2>
          <${ExecutionsTable} filters=${{ stateMachine: machine.name }} /></section>`}`;
}

function StartForm({ machine }) {
  const [input, setInput] = useState("{}");
  const [name, setName] = useState("");
  const [problem, setProblem] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const express = machine.type === "EXPRESS";
  async function start(event) {
    event.preventDefault();
    const sync = event.submitter?.value === "sync";
    setError(null);
    let value;
    try {
      value = JSON.parse(input);
    } catch (parseError) {
      setProblem(`The input is not valid JSON: ${parseError.message}. Nothing was sent.`);
      return;
    }
    setProblem(null);
    setBusy(true);
    setResult(null);
    try {
      const path = `/v1/state-machines/${encodeURIComponent(machine.name)}/${sync ? "sync-executions" : "executions"}`;
      const answer = await api(path, { method: "POST", body: { input: value, ...(name ? { name } : {}) } });
      if (sync) setResult(answer); // the result, inline
      else location.hash = link("executions", answer.executionId); // an Express one: its log view
    } catch (startError) {
      setError(startError);
    } finally {
      setBusy(false);
    }
  }
  return html`<section aria-labelledby="start-title" class="card">
    <h2 id="start-title">Start an execution</h2>
    <form onSubmit=${start} class="start-form">
      <${Field} label=${express ? "Name (optional)" : "Name (optional; the same name starts once)"}><input name="execution-name" value=${name} onInput=${(e) => setName(e.target.value)} /></${Field}>
      <span class="label" id="input-label">Input (JSON)</span>
      <${JsonEditor} value="{}" onChange=${setInput} label="Execution input (JSON)" height="8rem" />
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
      <${ErrorBox} error=${error} />
      <div class="row">
        <button type="submit" class="primary" value="async" disabled=${busy}>Start execution</button>
        ${express && html`<button type="submit" value="sync" disabled=${busy}>Start synchronously</button>`}
      </div>
      ${express && html`<small class="hint">An Express execution started asynchronously keeps no history: the console
        follows it through its log events. A synchronous one answers with its result here.</small>`}
    </form>
    ${result && html`<${SyncResult} result=${result} />`}
  </section>`;
}
