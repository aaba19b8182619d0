// The console: a hash router over the pages, the navigation, and the token dialog.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { onTokenNeeded } from "./api.js";
import { MachinesPage } from "./pages/machines.js";
import { MachinePage } from "./pages/machine.js";
import { EditorPage } from "./pages/editor.js";
import { ExecutionsPage } from "./pages/executions.js";
import { ExecutionPage } from "./pages/execution.js";
import { FunctionsPage, FunctionPage } from "./pages/functions.js";
import { ResourcesPage } from "./pages/resources.js";
import { ExpressExecutionPage } from "./pages/express.js";
import { isExpressArn } from "./express.js";

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function route({ parts, query }) {
  const [section, name, sub] = parts;
  switch (section ?? "machines") {
    case "machines":
      if (name === undefined) return [MachinesPage, {}, "machines"];
      if (name === "+new") return [EditorPage, {}, "machines"];
      if (sub === "edit") return [EditorPage, { name }, "machines"];
      return [MachinePage, { name, version: query.get("version") }, "machines"];
    case "executions":
      if (name === undefined) return [ExecutionsPage, { query }, "executions"];
      if (isExpressArn(name)) return [ExpressExecutionPage, { arn: name }, "executions"]; // no history: its log
      return [ExecutionPage, { id: name, state: query.get("state") }, "executions"];
    case "functions":
      return name === undefined ? [FunctionsPage, {}, "functions"] : [FunctionPage, { name }, "functions"];
    case "resources":
      return [ResourcesPage, {}, "resources"];
    default:
      return [NotFound, {}, null];
  }
}

function NotFound() {
  return html`<h1>Not found</h1><p>No console page here. <a href="#/machines">State machines</a></p>`;
}

const SECTIONS = [
  ["machines", "State machines"],
  ["executions", "Executions"],
  ["functions", "Functions"],
  ["resources", "DB proxies & file systems"],
];

function App() {
  const [where, setWhere] = useState(parseHash);
  const [asking, setAsking] = useState(null);
  const main = useRef(null);
  useEffect(() => {
    const changed = () => {
      const next = parseHash();
      setWhere((previous) => {
        if (previous.parts.join("/") !== next.parts.join("/")) main.current?.focus({ preventScroll: true });
        return next;
      });
    };
    addEventListener("hashchange", changed);
    onTokenNeeded((refused) => new Promise((resolve) => setAsking({ refused, answer: (token) => (setAsking(null), resolve(token)) })));
    return () => removeEventListener("hashchange", changed);
  }, []);
  const [Page, props, section] = route(where);
  return html`
    <a class="skip" href="#main" onClick=${(e) => (e.preventDefault(), main.current?.focus())}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/machines">Stepline</a>
      <nav aria-label="Sections"><ul>
        ${SECTIONS.map(([key, label]) => html`<li><a href=${`#/${key}`} aria-current=${section === key ? "page" : undefined}>${label}</a></li>`)}
      </ul></nav>
    </header>
    <main id="main" tabindex="-1" ref=${main}>
      <${Page} key=${where.parts.join("/")} ...${props} />
    </main>
    ${asking && html`<${TokenDialog} onToken=${asking.answer} refused=${asking.refused} />`}
  `;
}

function TokenDialog({ onToken, refused }) {
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);
  return html`<div class="modal-backdrop">
    <form class="modal" role="dialog" aria-modal="true" aria-labelledby="token-title"
      onSubmit=${(e) => (e.preventDefault(), input.current.value && onToken(input.current.value.trim()))}>
      <h2 id="token-title">API token</h2>
      <p>This Stepline API requires a token (<code>STEPLINE_API__TOKEN</code>). It is kept for this tab
        only (session storage) and sent as an <code>Authorization</code> header.</p>
      ${refused && html`<p class="error" role="alert">The API refused that token.</p>`}
      <label class="field"><span>Token</span><input ref=${input} type="password" autocomplete="off" required /></label>
      <button type="submit" class="primary">Continue</button>
    </form>
  </div>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading" placeholder
render(html`<${App} />`, root);
