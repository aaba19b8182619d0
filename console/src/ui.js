// Small shared pieces: data loading, errors, statuses, dates, JSON blocks, paging.
import { useCallback, useEffect, useState } from "preact/hooks";
import { html } from "./html.js";

/** {data, error, loading, reload} for an async loader, re-run when ``deps`` change. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => (live = false);
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const errors = error.body?.errors ?? error.body?.diagnostics;
  return html`<div class="error" role="alert">
    <strong>${error.message}</strong>
    ${Array.isArray(errors) && html`<ul>${errors.map((e) => html`<li>${e.location ? html`<code>${e.location}</code> ` : ""}${e.message ?? e.msg ?? JSON.stringify(e)}</li>`)}</ul>`}
  </div>`;
}

export function Loading({ what = "" }) {
  return html`<p class="loading" aria-live="polite">Loading${what ? ` ${what}` : ""}…</p>`;
}

export function Status({ status }) {
  const word = (status ?? "").toLowerCase().replace("_", " ");
  return html`<span class=${`badge s-${(status ?? "").toLowerCase()}`}>${word}</span>`;
}

// One formatter (toLocaleString builds a new one per call: 3 ms each, 100 table rows a redraw).
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium", hour12: false });

export function when(date) {
  if (!date) return "—";
  const d = new Date(date);
  return Number.isNaN(d.getTime()) ? String(date) : DATE_TIME.format(d);
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60000);
  return `${minutes} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function Json({ value, label }) {
  const text = value === undefined ? "—" : JSON.stringify(value, null, 2);
  return html`<pre class="json" tabindex="0" aria-label=${label}>${text}</pre>`;
}

/** Parse JSON text if it is text (history details carry input/output as JSON text). */
export function parsed(text) {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Client-side pager over ``items``: (page of items, controls). */
export function usePage(items, size = 100, resetKey = null) {
  const [page, setPage] = useState(0);
  useEffect(() => setPage(0), [resetKey]);
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(page, pages - 1);
  const controls = pages > 1 && html`<${Pager} label=${`Page ${current + 1} of ${pages} (${items.length})`}
    onPrev=${current > 0 ? () => setPage(current - 1) : null} onNext=${current < pages - 1 ? () => setPage(current + 1) : null} />`;
  return [items.slice(current * size, (current + 1) * size), controls];
}

export function Pager({ label, onPrev, onNext }) {
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" onClick=${onPrev} disabled=${!onPrev}>← Previous</button>
    <span>${label}</span>
    <button type="button" onClick=${onNext} disabled=${!onNext}>Next →</button>
  </nav>`;
}

/** Server-side pages by nextToken: {tokens, page, next, prev} kept in state. */
export function useTokenPages(resetKey) {
  const [tokens, setTokens] = useState([null]);
  useEffect(() => setTokens([null]), [resetKey]);
  const token = tokens[tokens.length - 1];
  return {
    token,
    number: tokens.length,
    next: (nextToken) => setTokens((t) => [...t, nextToken]),
    prev: () => setTokens((t) => (t.length > 1 ? t.slice(0, -1) : t)),
  };
}

export function Field({ label, children, hint }) {
  return html`<label class="field"><span>${label}</span>${children}${hint && html`<small>${hint}</small>`}</label>`;
}

export function link(...parts) {
  return `#/${parts.map((p) => encodeURIComponent(p)).join("/")}`;
}
