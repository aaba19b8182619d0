// Where each JSON pointer of a JSON text is: "/States/A/Next" -> {from, to} (key through value), so that
// a validation diagnostic is drawn at its state in the editor.

/** Map of pointer -> {from, to}; empty when the text is not JSON. */
export function pointerRanges(text) {
  const ranges = new Map();
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = (pointer, keyStart) => {
    ws();
    const start = keyStart ?? i;
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      while (text[i] !== "}") {
        ws();
        const at = i;
        const key = string();
        ws();
        if (text[i++] !== ":") throw new Error("colon");
        value(`${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`, at);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") throw new Error("comma");
      }
      i++;
    } else if (c === "[") {
      i++;
      ws();
      let index = 0;
      while (text[i] !== "]") {
        value(`${pointer}/${index++}`);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "]") throw new Error("comma");
        ws();
      }
      i++;
    } else if (c === '"') string();
    else {
      const m = /^-?[\w.+-]+/.exec(text.slice(i, i + 400));
      if (!m) throw new Error("value");
      i += m[0].length;
    }
    ranges.set(pointer, { from: start, to: i });
  };
  try {
    value("");
  } catch {
    return new Map();
  }
  return ranges;
}

/** The range for ``pointer``, or for its closest ancestor present in ``ranges``. */
export function rangeOf(ranges, pointer) {
  let p = pointer ?? "";
  for (;;) {
    const range = ranges.get(p);
    if (range) return range;
    if (!p) return null;
    p = p.slice(0, p.lastIndexOf("/"));
  }
}

/** The state a pointer points into: "/States/A/Next" -> "A", nested "/States/M/ItemProcessor/States/B" -> "B". */
export function stateOf(pointer) {
  const parts = (pointer ?? "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let state = null;
  for (let k = 1; k + 1 < parts.length; k++) if (parts[k] === "States") state = parts[k + 1];
  return state;
}

/** "line: 1, column: 13" in a parse error's message -> an offset in ``text``. */
export function offsetOfLineColumn(text, message) {
  const m = /line:?\s*(\d+),\s*column:?\s*(\d+)/i.exec(message ?? "");
  if (!m) return null;
  const lines = text.split("\n");
  const line = Math.min(Number(m[1]), lines.length) - 1;
  let offset = 0;
  for (let k = 0; k < line; k++) offset += lines[k].length + 1;
  return Math.min(offset + Math.max(Number(m[2]) - 1, 0), text.length);
}
