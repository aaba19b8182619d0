// A JSON editor (CodeMirror 6: line numbers, bracket matching, folding, lint marks at their place).
import { useEffect, useRef } from "preact/hooks";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, foldGutter, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { json } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { html } from "./html.js";

/**
 * ``value`` is the initial text (and the text, when ``readOnly``); ``onChange(text)`` on every edit;
 * ``diagnostics``: [{from, to, severity: "error"|"warning", message}].
 */
export function JsonEditor({ value, onChange, readOnly = false, diagnostics = [], label, height = "24rem" }) {
  const host = useRef(null);
  const view = useRef(null);
  const changed = useRef(onChange);
  changed.current = onChange;
  useEffect(() => {
    const extensions = [
      lineNumbers(), foldGutter(), history(), drawSelection(), indentOnInput(), bracketMatching(),
      highlightActiveLine(), syntaxHighlighting(defaultHighlightStyle), json(), lintGutter(),
      keymap.of([...defaultKeymap, ...historyKeymap]),
      EditorView.contentAttributes.of({ "aria-label": label ?? "JSON" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) changed.current?.(update.state.doc.toString());
      }),
    ];
    // Tab indents only while editing; Escape then Tab leaves the editor (CodeMirror's own escape hatch).
    if (!readOnly) extensions.push(keymap.of([indentWithTab]));
    else extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));
    view.current = new EditorView({ state: EditorState.create({ doc: value ?? "", extensions }), parent: host.current });
    return () => view.current.destroy();
  }, []);
  useEffect(() => {
    const current = view.current;
    if (readOnly && current && current.state.doc.toString() !== value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value ?? "" } });
    }
  }, [value, readOnly]);
  useEffect(() => {
    const current = view.current;
    if (!current) return;
    const length = current.state.doc.length;
    const marks = diagnostics
      .map((d) => ({ ...d, from: Math.min(d.from, length), to: Math.min(Math.max(d.to, d.from), length) }));
    current.dispatch(setDiagnostics(current.state, marks));
  }, [diagnostics]);
  return html`<div class="editor" style=${{ "--editor-height": height }} ref=${host}></div>
    ${!readOnly && html`<small class="hint">Tab indents; Esc then Tab leaves the editor.</small>`}`;
}
