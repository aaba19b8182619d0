// Create or update a state machine: a JSON editor validated as you type, with the draft's graph. A new
// EXPRESS machine gets its logging with it (Express executions keep no history: the log is what shows them).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { api } from "../api.js";
import { JsonEditor } from "../editor.js";
import { Graph } from "../graph.js";
import { placeDiagnostics } from "../diagnostics.js";
import { ErrorBox, Field, Loading, link, useLoad } from "../ui.js";
import { loggingPath } from "../components/logging.js";
import { logGroupArn } from "../express.js";

const STARTER = {
  Comment: "A first state machine",
  StartAt: "Hello",
  States: {
    Hello: { Type: "Pass", Result: { greeting: "Hello" }, ResultPath: "$.hello", Next: "Done" },
    Done: { Type: "Succeed" },
  },
};

export function EditorPage({ name = null }) {
  const existing = useLoad(() => (name ? api(`/v1/state-machines/${encodeURIComponent(name)}`) : Promise.resolve(null)), [name]);
  if (existing.error) return html`<h1>Edit ${name}</h1><${ErrorBox} error=${existing.error} />`;
  if (existing.loading) return html`<${Loading} />`;
  return html`<${Editor} machine=${existing.data} />`;
}

function Editor({ machine }) {
  const initial = useMemo(() => JSON.stringify(machine?.definition ?? STARTER, null, 2), [machine]);
  const [text, setText] = useState(initial);
  const [name, setName] = useState("");
  const [type, setType] = useState("STANDARD");
  const [logLevel, setLogLevel] = useState("ALL"); // a new EXPRESS machine's
  const [logData, setLogData] = useState(true);
  const [description, setDescription] = useState(machine?.description ?? "");
  const [validation, setValidation] = useState(null);
  const [graphDefinition, setGraphDefinition] = useState(machine?.definition ?? STARTER);
  const [parseError, setParseError] = useState(null);
  const [saveError, setSaveError] = useState(null);
  const [saving, setSaving] = useState(false);
  const sequence = useRef(0);

  useEffect(() => {
    try {
      setGraphDefinition(JSON.parse(text));
      setParseError(null);
    } catch (error) {
      setParseError(error.message);
    }
    const mine = ++sequence.current;
    const timer = setTimeout(() => {
      api("/v1/state-machines/validate", { method: "POST", body: { definition: text } }).then(
        (answer) => mine === sequence.current && setValidation({ text, ...answer }),
        (error) => mine === sequence.current && setValidation({ text, result: "ERROR", diagnostics: [], error }),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [text]);

  const placed = useMemo(() => placeDiagnostics(validation?.text ?? text, validation?.diagnostics), [validation]);

  async function save(event) {
    event.preventDefault();
    setSaving(true);
    setSaveError(null);
    try {
      const saved = machine
        ? await api(`/v1/state-machines/${encodeURIComponent(machine.name)}`, { method: "PUT", body: { definition: text, description: description || null } })
        : await api("/v1/state-machines", { method: "POST", body: { name, type, definition: text, description: description || null } });
      if (!machine && type === "EXPRESS" && logLevel !== "OFF") {
        const group = { cloudWatchLogsLogGroup: { logGroupArn: logGroupArn(saved.stateMachineArn, `/stepline/${saved.name}`) } };
        await api(loggingPath(saved.name), { method: "PUT", body: { level: logLevel, includeExecutionData: logData, destinations: [group] } });
      }
      location.hash = link("machines", saved.name);
    } catch (error) {
      setSaveError(error);
    } finally {
      setSaving(false);
    }
  }

  const count = validation?.diagnostics?.length ?? 0;
  return html`<h1>${machine ? `Update ${machine.name}` : "Create a state machine"}</h1>
    <form class="editor-form" onSubmit=${save}>
      <div class="row">
        ${machine ? html`<p>Saving publishes version ${machine.latestVersion + 1}.</p>` : html`
          <${Field} label="Name"><input name="name" required pattern="[A-Za-z0-9_\\-]+" value=${name} onInput=${(e) => setName(e.target.value)} /></${Field}>
          <${Field} label="Type"><select name="type" value=${type} onChange=${(e) => setType(e.target.value)}>
            <option>STANDARD</option><option>EXPRESS</option></select></${Field}>
          ${type === "EXPRESS" && html`<${Field} label=${`Logging (to log group /stepline/${name || "NAME"})`}><select name="log-level" value=${logLevel} onChange=${(e) => setLogLevel(e.target.value)}>
            ${["ALL", "ERROR", "FATAL", "OFF"].map((l) => html`<option value=${l}>${l}</option>`)}</select></${Field}>
            <label class="check"><input type="checkbox" name="log-data" checked=${logData} onChange=${(e) => setLogData(e.target.checked)} />
              Log input and output</label>`}`}
        <${Field} label="Description"><input name="description" value=${description} onInput=${(e) => setDescription(e.target.value)} /></${Field}>
      </div>
      <div class="split">
        <section aria-labelledby="definition-title">
          <h2 id="definition-title">Definition</h2>
          <${JsonEditor} value=${initial} onChange=${setText} diagnostics=${placed.marks} label="State machine definition (JSON)" height="28rem" />
          <div class="validation" aria-live="polite" data-result=${validation?.result ?? "pending"}>
            ${!validation ? "Validating…" : validation.error ? html`<${ErrorBox} error=${validation.error} />`
              : count === 0 ? html`<p class="ok">✓ Valid definition</p>`
              : html`<p class="error-text">${count} problem${count > 1 ? "s" : ""}${validation.truncated ? " (more not shown)" : ""}:</p>
                <ul class="diagnostics">${validation.diagnostics.map((d) => html`<li class=${d.severity.toLowerCase()}>
                  <strong>${d.severity}</strong> ${d.location && html`<code>${d.location}</code>`} ${d.code}: ${d.message}</li>`)}</ul>`}
          </div>
        </section>
        <section aria-labelledby="draft-title">
          <h2 id="draft-title">Graph of the draft</h2>
          ${parseError && html`<p class="note">Not JSON yet (${parseError}); the graph shows the last JSON that parsed.</p>`}
          <${Graph} definition=${graphDefinition} problems=${placed.byState} />
        </section>
      </div>
      <${ErrorBox} error=${saveError} />
      <div class="actions">
        <button type="submit" class="primary" disabled=${saving}>${machine ? "Save new version" : "Create"}</button>
        <a class="button" href=${machine ? link("machines", machine.name) : "#/machines"}>Cancel</a>
      </div>
    </form>`;
}
