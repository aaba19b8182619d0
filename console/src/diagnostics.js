// Validation diagnostics placed in the text (for the editor) and on the states (for the graph).
import { offsetOfLineColumn, pointerRanges, rangeOf, stateOf } from "./pointers.js";

/** {marks: CodeMirror diagnostics, byState: Map state -> messages, unplaced: diagnostics} */
export function placeDiagnostics(text, diagnostics) {
  const ranges = pointerRanges(text);
  const marks = [];
  const byState = new Map();
  const unplaced = [];
  for (const d of diagnostics ?? []) {
    const severity = d.severity === "ERROR" ? "error" : "warning";
    const message = `${d.code}: ${d.message}`;
    let from = null;
    let to = null;
    const pointer = typeof d.location === "string" && d.location.startsWith("/") ? d.location : null;
    const range = pointer !== null ? rangeOf(ranges, pointer) : null;
    if (range) {
      from = range.from;
      const lineEnd = text.indexOf("\n", from);
      to = Math.min(range.to, lineEnd < 0 ? text.length : lineEnd);
    } else {
      from = offsetOfLineColumn(text, d.location ?? d.message);
      if (from !== null) to = Math.min(from + 1, text.length);
    }
    if (from !== null) marks.push({ from, to: Math.max(to, from), severity, message });
    else unplaced.push(d);
    const state = stateOf(pointer);
    if (state) byState.set(state, [...(byState.get(state) ?? []), message]);
  }
  return { marks, byState, unplaced };
}
