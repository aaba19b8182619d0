// One execution: status, input/output/error, the graph coloured by what happened (live while it runs),
// the selected state's step-through, the timeline, the events, the cost estimate.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { ApiError, api, streamEvents } from "../api.js";
import { Graph, Legend } from "../graph.js";
import { HistoryAnalysis } from "../history.js";
import { stateNames } from "../asl.js";
import { ErrorBox, Field, Json, Loading, Status, duration, link, when } from "../ui.js";
import { EventTable } from "../components/events.js";
import { Timeline } from "../components/timeline.js";
import { StatePanel } from "../components/steps.js";
import { CostEstimate } from "../components/cost.js";

const HISTORY_PAGE = 5000;

/** Loads the execution and its events, then follows them live while it runs. */
function useExecution(id, attempt) {
  const [execution, setExecution] = useState(null);
  const [machine, setMachine] = useState(null);
  const [error, setError] = useState(null);
  const [loaded, setLoaded] = useState(false);
  const [live, setLive] = useState(false);
  const [, setVersion] = useState(0);
  const analysis = useRef(new HistoryAnalysis());
  const events = useRef([]);
  useEffect(() => {
    const stop = new AbortController();
    analysis.current = new HistoryAnalysis(); // read afresh (a redrive continues the history)
    events.current = [];
    setLoaded(false);
    // Redrawn at most every 100 ms while a long history arrives.
    let frame = null;
    let drawn = 0;
    const redraw = () => {
      if (frame !== null) return;
      frame = setTimeout(() => requestAnimationFrame(() => {
        frame = null;
        drawn = performance.now();
        setVersion((v) => v + 1);
      }), Math.max(0, drawn + 100 - performance.now()));
    };
    const take = (event) => {
      if (analysis.current.add(event)) events.current.push(event);
    };
    const path = `/v1/executions/${encodeURIComponent(id)}`;
    (async () => {
      const described = await api(path);
      setExecution(described);
      api(`/v1/state-machines/${encodeURIComponent(described.stateMachine)}`, { query: { version: described.version } })
        .then(setMachine, setError);
      // What is recorded comes in pages of 5,000 (a finished history; 1,000 from a running workflow);
      // then, while it runs, the stream pushes each new event and finally the status.
      await readHistory(path, take, redraw, stop.signal);
      if (described.status !== "RUNNING") {
        setLoaded(true);
        return;
      }
      setLive(true);
      try {
        await streamEvents(`${path}/events`, (message) => {
          if (message.event === "history") {
            take(JSON.parse(message.data));
            redraw();
          } else if (message.event === "status") {
            const status = JSON.parse(message.data);
            setExecution((e) => ({ ...e, ...status }));
            setLoaded(true);
            setLive(false);
            api(path).then(setExecution); // the output
          }
        }, stop.signal, { after: analysis.current.lastId });
      } catch (streamError) {
        if (!(streamError instanceof ApiError && streamError.status === 404)) throw streamError;
        await pollHistory(path, take, redraw, setExecution, setLoaded, stop.signal); // no live stream here
      }
      setLive(false);
    })().catch((loadError) => stop.signal.aborted || setError(loadError));
    return () => {
      stop.abort();
      clearTimeout(frame);
    };
  }, [id, attempt]);
  return { execution, machine, error, loaded, live, analysis: analysis.current, events: events.current };
}

/** Every recorded event, a page (up to 5,000) at a time; the next page is asked for before this
 * one is taken in, so the server reads while the page works. */
async function readHistory(path, take, redraw, signal) {
  const read = (nextToken) => api(`${path}/history`, { query: { limit: HISTORY_PAGE, nextToken } });
  let page = await read(null);
  for (;;) {
    if (signal.aborted) return;
    const next = page.nextToken ? read(page.nextToken) : null;
    next?.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    page.events.forEach(take);
    redraw();
    if (!next) return;
    page = await next;
  }
}

/** A server without the live stream: the history again each second until the execution ends. */
async function pollHistory(path, take, redraw, setExecution, setLoaded, signal) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (signal.aborted) return;
    const now = await api(path);
    await readHistory(path, take, redraw, signal); // take() skips the events already seen
    setExecution(now);
    if (now.status !== "RUNNING") break;
  }
  setLoaded(true);
}

const REDRIVABLE = new Set(["FAILED", "ABORTED", "TIMED_OUT"]);

export function ExecutionPage({ id, state }) {
  const [attempt, setAttempt] = useState(0);
  const { execution, machine, error, loaded, live, analysis, events } = useExecution(id, attempt);
  const [selected, setSelected] = useState(state ?? null);
  const [, tick] = useState(0);
  useEffect(() => { // the duration counts while it runs
    if (execution?.status !== "RUNNING") return undefined;
    const timer = setInterval(() => tick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [execution?.status]);
  const statuses = useMemo(() => (execution ? withMapChunks(analysis.statuses(execution.status), machine?.definition) : new Map()),
    [execution?.status, analysis.lastId, machine]);
  if (error) return html`<h1>Execution</h1><${ErrorBox} error=${error} />`;
  if (!execution) return html`<${Loading} what="the execution" />`;
  const elapsed = (execution.stopDate ? Date.parse(execution.stopDate) : Date.now()) - Date.parse(execution.startDate);
  return html`<div class="execution" data-loaded=${loaded ? "yes" : "no"} data-status=${execution.status}>
    <div class="page-head">
      <h1>${execution.name} <${Status} status=${execution.status} />${live && html`<span class="live" title="Updates arrive as they happen">● live</span>`}</h1>
      ${execution.status === "RUNNING" && html`<${StopForm} id=${id} onStopped=${() => {}} />`}
      ${REDRIVABLE.has(execution.status) && html`<${RedriveButton} id=${id} onRedriven=${() => setAttempt((a) => a + 1)} />`}
    </div>
    <dl class="facts">
      <dt>State machine</dt><dd><a href=${link("machines", execution.stateMachine)}>${execution.stateMachine}</a> version ${execution.version}</dd>
      <dt>Started</dt><dd>${when(execution.startDate)}</dd>
      <dt>Stopped</dt><dd>${when(execution.stopDate)}</dd>
      <dt>Duration</dt><dd>${duration(elapsed)}</dd>
      <dt>ARN</dt><dd><code>${execution.executionArn}</code></dd>
      ${execution.redriveCount > 0 && html`<dt>Redriven</dt><dd>${execution.redriveCount} time${execution.redriveCount > 1 ? "s" : ""}, last ${when(execution.redriveDate)}</dd>`}
    </dl>
    ${(execution.error || execution.cause) && html`<div class="error failure" role="alert">
      <strong>Error: <span class="error-name">${execution.error ?? "—"}</span></strong>
      ${execution.cause && html`<pre class="cause">${execution.cause}</pre>`}</div>`}
    <div class="split">
      <section aria-labelledby="in-title"><h2 id="in-title">Input</h2><${Json} value=${execution.input} label="Execution input" /></section>
      <section aria-labelledby="out-title"><h2 id="out-title">Output</h2><${Json} value=${execution.output ?? undefined} label="Execution output" /></section>
    </div>
    <div class="split graph-and-state">
      <section aria-labelledby="graph-title"><h2 id="graph-title">Graph</h2>
        <${Legend} />
        ${machine ? html`<${Graph} definition=${machine.definition} statuses=${statuses} selected=${selected} onSelect=${setSelected} />`
          : html`<${Loading} what="the graph" />`}
        <p class="hint">Select a state (click, or Tab then Enter) to step through its data.</p>
      </section>
      <section aria-labelledby="state-title" class="state-panel"><h2 id="state-title">${selected ? `State ${selected}` : "State"}</h2>
        ${selected ? html`<${StatePanel} key=${selected} executionId=${id} name=${selected} analysis=${analysis}
          executionStatus=${execution.status} version=${analysis.lastId} />`
          : html`<p>No state selected.</p>`}
      </section>
    </div>
    <section aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2>
      <${Timeline} analysis=${analysis} executionStatus=${execution.status} onSelect=${setSelected} version=${analysis.lastId} /></section>
    <section aria-labelledby="events-title"><h2 id="events-title">Events <small>(${events.length})</small></h2>
      <${EventTable} events=${events} version=${events.length} analysis=${analysis} /></section>
    <section aria-labelledby="cost-title"><h2 id="cost-title">Cost estimate</h2>
      ${loaded ? html`<${CostEstimate} path=${`/v1/executions/${encodeURIComponent(id)}/cost`} refresh=${execution.status} />`
        : html`<p class="hint">Estimated once the history has been read.</p>`}</section>
  </div>`;
}

/** A Map whose iterations ran in chunks (over 200 items) records no events of its inner states: they
 * say "see iterations" (the Map's step-through pages them) rather than "not reached". */
function withMapChunks(statuses, definition) {
  const walk = (level) => {
    for (const [name, state] of Object.entries(level?.States ?? {})) {
      const processor = state?.ItemProcessor ?? state?.Iterator;
      if (state?.Type === "Map" && processor && statuses.has(name)) {
        const inner = stateNames(processor);
        if (!inner.some((n) => statuses.has(n))) inner.forEach((n) => statuses.set(n, "see iterations"));
      }
      (state?.Branches ?? []).forEach(walk);
      if (processor) walk(processor);
    }
  };
  walk(definition);
  return statuses;
}

function StopForm({ id }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function stop(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    try {
      await api(`/v1/executions/${encodeURIComponent(id)}/stop`, {
        method: "POST", body: { error: form.get("error") || null, cause: form.get("cause") || null },
      });
    } catch (stopError) {
      setError(stopError);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="stop-form" onSubmit=${stop} aria-label="Stop the execution">
    <${Field} label="Error"><input name="error" placeholder="optional" /></${Field}>
    <${Field} label="Cause"><input name="cause" placeholder="optional" /></${Field}>
    <button type="submit" class="danger" disabled=${busy}>Stop execution</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

/** Redrive: the execution continues from the state it stopped in, as the same execution. */
function RedriveButton({ id, onRedriven }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function redrive() {
    setBusy(true);
    setError(null);
    try {
      await api(`/v1/executions/${encodeURIComponent(id)}/redrive`, { method: "POST" });
      onRedriven();
    } catch (redriveError) {
      setError(redriveError);
    } finally {
      setBusy(false);
    }
  }
  return html`<div class="redrive">
    <button type="button" class="primary" onClick=${redrive} disabled=${busy}
      title="Continue from the state where it stopped; states that succeeded are not run again">Redrive</button>
    <${ErrorBox} error=${error} />
  </div>`;
}
