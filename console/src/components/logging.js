// A machine's logging configuration (Step Functions' loggingConfiguration): shown, and changed with
// PUT /v1/state-machines/{name}/logging-configuration.
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { logGroupArn, logGroupOf } from "../express.js";
import { ErrorBox, Field } from "../ui.js";

const LEVELS = ["OFF", "ALL", "ERROR", "FATAL"];

export function loggingPath(machine) {
  return `/v1/state-machines/${encodeURIComponent(machine)}/logging-configuration`;
}

/** One line saying what is logged; ``config`` null: not known. */
export function LoggingSummary({ config }) {
  if (!config) return html`<span class="hint">not known</span>`;
  if (config.level === "OFF") return html`<span data-logging="OFF"><strong>OFF</strong>: nothing is logged</span>`;
  const data = config.includeExecutionData ? "with input and output" : "without input and output (includeExecutionData is false)";
  return html`<span data-logging=${config.level}><strong>${config.level}</strong> to log group <code>${logGroupOf(config)}</code>, ${data}</span>`;
}

export function LoggingCard({ machine, config, onChanged }) {
  const [level, setLevel] = useState(config?.level ?? "OFF");
  const [include, setInclude] = useState(config?.includeExecutionData ?? false);
  const [group, setGroup] = useState(logGroupOf(config) ?? `/stepline/${machine.name}`);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function save(event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    const body = { level, includeExecutionData: include };
    if (level !== "OFF" || group) body.destinations = [{ cloudWatchLogsLogGroup: { logGroupArn: logGroupArn(machine.stateMachineArn, group) } }];
    try {
      onChanged(await api(loggingPath(machine.name), { method: "PUT", body }));
    } catch (saveError) {
      setError(saveError);
    } finally {
      setBusy(false);
    }
  }
  return html`<section aria-labelledby="logging-title" class="card">
    <h2 id="logging-title">Logging</h2>
    <p><${LoggingSummary} config=${config} /></p>
    <form class="filters" onSubmit=${save} aria-label="Logging configuration">
      <${Field} label="Level"><select name="level" value=${level} onChange=${(e) => setLevel(e.target.value)}>
        ${LEVELS.map((l) => html`<option value=${l}>${l}</option>`)}</select></${Field}>
      <${Field} label="Log group"><input name="log-group" value=${group} onInput=${(e) => setGroup(e.target.value)} /></${Field}>
      <label class="check"><input type="checkbox" name="include-data" checked=${include} onChange=${(e) => setInclude(e.target.checked)} />
        Include input and output</label>
      <button type="submit" disabled=${busy}>Save logging</button>
    </form>
    <p class="hint">Executions started from now on log by it (${"GET /v1/execution-logs"} reads the events).
      ${machine.type === "EXPRESS" && "Express executions keep no history: their log events are all there is to see of them."}</p>
    <${ErrorBox} error=${error} />
  </section>`;
}
