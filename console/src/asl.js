// ASL definition -> a graph per level (states, transitions, nested Parallel branches and Map processors).

const TERMINAL = new Set(["Succeed", "Fail"]);

/**
 * The graph of one level of states: {nodes, edges, startAt}. A Parallel node carries ``branches``
 * (one graph each), a Map node ``processor`` (one graph). Node ids are state names (unique in a machine).
 */
export function levelGraph(level) {
  const states = level && typeof level.States === "object" && level.States ? level.States : {};
  const nodes = [];
  const edges = [];
  const names = new Set(Object.keys(states));
  const add = (from, to, kind, label, title) => {
    if (typeof to === "string") edges.push({ from, to: names.has(to) ? to : `?${to}`, kind, label, title });
  };
  nodes.push({ id: "^start", name: "Start", type: "Start" });
  if (typeof level?.StartAt === "string") add("^start", level.StartAt, "next");
  let ends = false;
  for (const [name, state] of Object.entries(states)) {
    const type = state && typeof state.Type === "string" ? state.Type : "?";
    const node = { id: name, name, type, state };
    if (type === "Parallel" && Array.isArray(state.Branches)) node.branches = state.Branches.map(levelGraph);
    if (type === "Map") {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) node.processor = levelGraph(processor);
    }
    nodes.push(node);
    if (type === "Choice") {
      (Array.isArray(state.Choices) ? state.Choices : []).forEach((rule, index) => {
        const text = describeRule(rule);
        add(name, rule?.Next, "choice", shorten(text, 36) || `rule ${index + 1}`, text);
      });
      if (state.Default !== undefined) add(name, state.Default, "default", "Default", "Default");
    } else if (state?.Next !== undefined) add(name, state.Next, "next");
    if (state?.End === true || TERMINAL.has(type)) {
      add(name, "^end", "next");
      ends = true;
    }
    (Array.isArray(state?.Catch) ? state.Catch : []).forEach((catcher) => {
      const errors = Array.isArray(catcher?.ErrorEquals) ? catcher.ErrorEquals.join(", ") : "";
      add(name, catcher?.Next, "catch", shorten(`Catch ${errors}`, 30), `Catch ${errors}`);
    });
  }
  if (ends) {
    names.add("^end");
    for (const edge of edges) if (edge.to === "?^end") edge.to = "^end";
    nodes.push({ id: "^end", name: "End", type: "End" });
  }
  for (const edge of edges) {
    if (edge.to.startsWith("?") && !nodes.some((n) => n.id === edge.to)) {
      nodes.push({ id: edge.to, name: edge.to.slice(1), type: "Missing" });
    }
  }
  return { nodes, edges };
}

const OPERATORS = {
  StringEquals: "==", NumericEquals: "==", BooleanEquals: "==", TimestampEquals: "==",
  StringLessThan: "<", NumericLessThan: "<", TimestampLessThan: "<",
  StringGreaterThan: ">", NumericGreaterThan: ">", TimestampGreaterThan: ">",
  StringLessThanEquals: "<=", NumericLessThanEquals: "<=", TimestampLessThanEquals: "<=",
  StringGreaterThanEquals: ">=", NumericGreaterThanEquals: ">=", TimestampGreaterThanEquals: ">=",
  StringMatches: "matches",
};

/** A Choice rule as one line: ``$.x == 1``, ``a and b``, a JSONata ``Condition`` as written. */
export function describeRule(rule) {
  if (!rule || typeof rule !== "object") return "";
  if (typeof rule.Condition === "string") return rule.Condition.replace(/^\{%\s*|\s*%\}$/g, "");
  if (Array.isArray(rule.And)) return rule.And.map((r) => `(${describeRule(r)})`).join(" and ");
  if (Array.isArray(rule.Or)) return rule.Or.map((r) => `(${describeRule(r)})`).join(" or ");
  if (rule.Not) return `not (${describeRule(rule.Not)})`;
  const variable = rule.Variable ?? "";
  for (const [key, value] of Object.entries(rule)) {
    if (key === "Variable" || key === "Next") continue;
    const base = key.replace(/Path$/, "");
    if (OPERATORS[base]) return `${variable} ${OPERATORS[base]} ${JSON.stringify(value)}`;
    if (key === "IsPresent") return `${variable} ${value ? "is present" : "is absent"}`;
    if (key === "IsNull") return `${variable} ${value ? "is null" : "is not null"}`;
    if (key.startsWith("Is")) return `${variable} ${value ? "is" : "is not"} ${key.slice(2).toLowerCase()}`;
  }
  return variable;
}

function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Every state name of a definition, depth first (nested ones included). */
export function stateNames(definition) {
  const out = [];
  const walk = (level) => {
    for (const [name, state] of Object.entries(level?.States ?? {})) {
      out.push(name);
      (state?.Branches ?? []).forEach(walk);
      if (state?.ItemProcessor || state?.Iterator) walk(state.ItemProcessor ?? state.Iterator);
    }
  };
  walk(definition);
  return out;
}
