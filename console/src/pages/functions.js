// Functions: the list; a function's configuration, versions, concurrency, test invoke (result and the
// REPORT line), the live log tail, charts over time and the cost estimate.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { ApiError, all, api, apiRaw, streamEvents } from "../api.js";
import { JsonEditor } from "../editor.js";
import { Charts } from "../components/charts.js";
import { CostEstimate } from "../components/cost.js";
import { ErrorBox, Json, Loading, link, parsed, useLoad, when } from "../ui.js";

export function FunctionsPage() {
  const { data, error } = useLoad(() => all("/v1/functions", "functions"), []);
  return html`<h1>Functions</h1><${ErrorBox} error=${error} />
    ${!data && !error ? html`<${Loading} />` : data && (data.length === 0 ? html`<p>No functions yet (<code>POST /v1/functions</code>).</p>` : html`
    <div class="table-wrap"><table><thead><tr><th>Name</th><th>Runtime</th><th>Handler</th><th class="num">Memory (MB)</th>
      <th class="num">Timeout (s)</th><th>Last modified</th></tr></thead>
      <tbody>${data.map((f) => html`<tr><td><a href=${link("functions", f.functionName)}>${f.functionName}</a></td>
        <td>${f.runtime}</td><td><code>${f.handler}</code></td><td class="num">${f.memorySize}</td><td class="num">${f.timeout}</td>
        <td>${when(f.lastModified)}</td></tr>`)}</tbody></table></div>`)}`;
}

const IN_USE_SECONDS = 2;

/** Invocations running now over every worker (``GET .../concurrency``), read every 2 s while shown. */
function InUse({ path }) {
  const [inUse, setInUse] = useState(null);
  useEffect(() => {
    let live = true;
    const read = () => api(`${path}/concurrency`).then((c) => live && setInUse(c.inUse), () => live && setInUse(undefined));
    read();
    const timer = setInterval(read, IN_USE_SECONDS * 1000);
    return () => { live = false; clearInterval(timer); };
  }, [path]);
  if (inUse === null) return "…";
  return inUse === undefined ? "not available" : html`<span class="in-use" data-in-use=${inUse}>${inUse} running now</span>`;
}

export function FunctionPage({ name }) {
  const path = `/v1/functions/${encodeURIComponent(name)}`;
  const [invoked, setInvoked] = useState(0); // a test invocation shows in the charts once its REPORT is stored
  const fn = useLoad(() => Promise.all([api(path), api(`${path}/versions`),
    api(`${path}/aliases`).catch(() => ({ aliases: [] }))]), [name]);
  if (fn.error) return html`<h1>${name}</h1><${ErrorBox} error=${fn.error} />`;
  if (!fn.data) return html`<${Loading} />`;
  const [config, { versions }, { aliases }] = fn.data;
  return html`<h1>${config.functionName} <small>${config.runtime}</small></h1>
    <div class="split">
      <section aria-labelledby="config-title"><h2 id="config-title">Configuration</h2>
        <dl class="facts">
          <dt>ARN</dt><dd><code>${config.functionArn}</code></dd>
          <dt>Handler</dt><dd><code>${config.handler}</code></dd>
          <dt>Memory</dt><dd>${config.memorySize} MB</dd><dt>Timeout</dt><dd>${config.timeout} s</dd>
          <dt>Ephemeral storage</dt><dd>${config.ephemeralStorage?.size ?? config.ephemeralStorage ?? "—"} MB</dd>
          <dt>Code</dt><dd>${config.codeSize} bytes, sha256 <code>${config.codeSha256}</code></dd>
          <dt>Network</dt><dd>${String(config.network ?? false)}</dd>
          <dt>Environment</dt><dd>${Object.keys(config.environment ?? {}).join(", ") || "—"}</dd>
          <dt>DB proxies</dt><dd>${(config.dbProxies ?? []).join(", ") || "—"}</dd>
          <dt>File systems</dt><dd>${(config.fileSystemConfigs ?? []).map((f) => f.localMountPath ?? JSON.stringify(f)).join(", ") || "—"}</dd>
          <dt>Last modified</dt><dd>${when(config.lastModified)}</dd>
        </dl>
        <h3>Concurrency</h3>
        <dl class="facts concurrency">
          <dt>Reserved</dt><dd>${config.reservedConcurrency ?? "unreserved"}</dd>
          <dt>Provisioned</dt><dd>${config.provisionedConcurrency ?? 0}</dd>
          <dt>In use</dt><dd><${InUse} path=${path} /></dd>
        </dl>
        <h3>Versions</h3>
        <table><thead><tr><th>Version</th><th>Code sha256</th><th>Description</th><th>Modified</th></tr></thead>
          <tbody>${versions.map((v) => html`<tr><td>${v.version}</td><td><code>${v.codeSha256?.slice(0, 12)}…</code></td>
            <td>${v.description ?? ""}</td><td>${when(v.lastModified)}</td></tr>`)}</tbody></table>
        ${aliases.length > 0 && html`<h3>Aliases</h3>
          <table><thead><tr><th>Alias</th><th>Version</th><th>Routing</th><th class="num">Provisioned</th></tr></thead>
          <tbody>${aliases.map((a) => html`<tr><td>${a.name}</td><td>${a.functionVersion}</td>
            <td>${Object.entries(a.routingConfig?.additionalVersionWeights ?? {}).map(([v, w]) => `${Math.round(w * 100)}% to ${v}`).join(", ") || "—"}</td>
            <td class="num">${a.provisionedConcurrency}</td></tr>`)}</tbody></table>`}
      </section>
      <${TestInvoke} name=${config.functionName} onInvoked=${() => setTimeout(() => setInvoked((n) => n + 1), 1500)} />
    </div>
    <section aria-labelledby="charts-title"><h2 id="charts-title">Metrics (last hour)</h2>
      <${Charts} path=${`${path}/metrics`} refresh=${invoked} /></section>
    <${LogTail} name=${config.functionName} />
    <section aria-labelledby="fcost-title"><h2 id="fcost-title">Cost estimate (last hour)</h2>
      <${CostEstimate} path=${`${path}/cost`} refresh=${invoked} /></section>`;
}

function TestInvoke({ name, onInvoked }) {
  const [event, setEvent] = useState("{}");
  const [problem, setProblem] = useState(null);
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  async function invoke(e) {
    e.preventDefault();
    try {
      JSON.parse(event);
    } catch (parseError) {
      setProblem(`The event is not valid JSON: ${parseError.message}. Nothing was sent.`);
      return;
    }
    setProblem(null);
    setBusy(true);
    try {
      const response = await apiRaw(`/v1/functions/${encodeURIComponent(name)}/invocations`, {
        method: "POST", body: event, headers: { "Content-Type": "application/json", "X-Amz-Log-Type": "Tail" },
      });
      const tail = response.headers.get("X-Amz-Log-Result");
      const logs = tail ? new TextDecoder().decode(Uint8Array.from(atob(tail), (c) => c.charCodeAt(0))) : "";
      setResult({
        status: response.status, functionError: response.headers.get("X-Amz-Function-Error"),
        requestId: response.headers.get("X-Amzn-RequestId"), version: response.headers.get("X-Amz-Executed-Version"),
        payload: parsed(await response.text()), logs,
      });
      onInvoked();
    } catch (invokeError) {
      setResult({ error: invokeError });
    } finally {
      setBusy(false);
    }
  }
  const report = result?.logs?.split("\n").filter((l) => l.startsWith("REPORT")).pop();
  return html`<section aria-labelledby="invoke-title" class="card"><h2 id="invoke-title">Test invoke</h2>
    <form onSubmit=${invoke}>
      <span class="label">Event (JSON)</span>
      <${JsonEditor} value="{}" onChange=${setEvent} label="Test event (JSON)" height="8rem" />
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
      <button type="submit" class="primary" disabled=${busy}>${busy ? "Invoking…" : "Invoke"}</button>
    </form>
    ${result?.error && html`<${ErrorBox} error=${result.error} />`}
    ${result && !result.error && html`<div class="invoke-result" aria-live="polite">
      <p>${result.functionError ? html`<strong class="error-text">Function error (${result.functionError})</strong>`
        : html`<strong class="ok">${result.status === 200 ? "Succeeded" : `HTTP ${result.status}`}</strong>`}${" "}
        · request <code>${result.requestId}</code> · version ${result.version}</p>
      <h3>Result</h3><${Json} value=${result.payload} label="Invocation result" />
      ${report && html`<p class="report"><code>${report}</code></p>`}
      <h3>Log tail</h3><pre class="logs">${result.logs || "(no log)"}</pre>
    </div>`}
  </section>`;
}

function LogTail({ name }) {
  const [lines, setLines] = useState([]);
  const [state, setState] = useState("connecting");
  const box = useRef(null);
  useEffect(() => {
    const stop = new AbortController();
    const append = (more) => setLines((old) => [...old, ...more].slice(-500));
    const path = `/v1/functions/${encodeURIComponent(name)}/logs`;
    (async () => {
      setState("live");
      try {
        await streamEvents(`${path}/stream`, (m) => m.event === "log" && append([JSON.parse(m.data)]), stop.signal);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        setState("polling every 2 s"); // a server without the stream
        let since = new Date(Date.now() - 60000).toISOString();
        while (!stop.signal.aborted) {
          const page = await api(path, { query: { since, limit: 200 } });
          const fresh = page.events.filter((e) => e.timestamp > since);
          if (fresh.length) (append(fresh), (since = fresh[fresh.length - 1].timestamp));
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    })().catch(() => stop.signal.aborted || setState("disconnected"));
    return () => stop.abort();
  }, [name]);
  useEffect(() => {
    const el = box.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return html`<section aria-labelledby="logs-title"><h2 id="logs-title">Logs <small>(${state})</small></h2>
    <pre class="logs tail" ref=${box} tabindex="0" aria-live="off" aria-label="Log lines">${lines.length === 0 ? "(waiting for log lines)" : lines.map((l) =>
      `${l.timestamp?.slice(11, 23) ?? ""} ${l.message}`).join("\n")}</pre></section>`;
}
