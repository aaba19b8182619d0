// What an execution's history says about each state: visits (entered -> exited), a status per state
// for the graph, and the rows of the timeline.

const ORDER = ["running", "failed", "caught", "retried", "cancelled", "succeeded"];

function isFailure(type) {
  return /(Failed|TimedOut)$/.test(type) && !type.startsWith("Execution") && !type.startsWith("MapIteration")
    && !type.endsWith("StateFailed");
}

function isAttemptSuccess(type) {
  return /^(Task|LambdaFunction|Activity)Succeeded$/.test(type);
}

function isAttemptStart(type) {
  return /^(Task|LambdaFunction|Activity)Scheduled$/.test(type);
}

/** The details object of an event (``<type>EventDetails``, whatever its type). */
export function detailsOf(event) {
  for (const [key, value] of Object.entries(event)) if (key.endsWith("EventDetails")) return value;
  return null;
}

/**
 * A running analysis: feed events in id order with ``add``; read ``statuses(executionStatus)`` and
 * ``visits``. Incremental, so live events cost one step each.
 */
export class HistoryAnalysis {
  constructor() {
    this.visits = [];
    this.owner = new Map(); // event id -> visit
    this.open = new Map(); // state name -> open visits (first in, first out)
    this.start = null;
    this.end = null;
    this.lastId = 0;
    this.types = new Set();
    this.executionError = null;
  }

  add(event) {
    const id = Number(event.id);
    if (id <= this.lastId) return false; // a duplicate (a stream resumed)
    this.lastId = id;
    const type = event.type;
    this.types.add(type);
    const time = Date.parse(event.timestamp);
    if (type === "ExecutionStarted") this.start = time;
    if (/^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(type)) {
      this.end = time;
      const details = detailsOf(event);
      if (details?.error) this.executionError = details;
    }
    if (type === "ExecutionRedriven") { // the earlier attempt's unfinished visits ended with it
      const failed = this.failedVisits();
      for (const queue of this.open.values()) {
        for (const visit of queue) Object.assign(visit, { redriven: failed.has(visit) ? "failed" : "cancelled", end: this.end ?? time });
        queue.length = 0;
      }
      this.end = null;
      this.executionError = null;
      return true;
    }
    const previous = this.owner.get(Number(event.previousEventId));
    if (type.endsWith("StateEntered")) {
      const details = detailsOf(event) ?? {};
      const visit = {
        name: details.name, type: type.slice(0, -"StateEntered".length), enteredId: id, exitedId: null,
        start: time, end: null, failures: 0, attempts: 0, lastOutcome: null, error: null, parent: previous ?? null,
        input: details.input, output: undefined, // JSON text, as recorded
      };
      this.visits.push(visit);
      this.owner.set(id, visit);
      const queue = this.open.get(visit.name) ?? [];
      queue.push(visit);
      this.open.set(visit.name, queue);
      return true;
    }
    if (type.endsWith("StateExited")) {
      const name = detailsOf(event)?.name;
      const queue = this.open.get(name) ?? [];
      let visit = previous && previous.name === name && previous.exitedId === null ? previous : queue[0];
      if (visit) {
        visit.exitedId = id;
        visit.end = time;
        visit.output = detailsOf(event)?.output;
        const at = queue.indexOf(visit);
        if (at >= 0) queue.splice(at, 1);
        this.owner.set(id, visit.parent ?? null);
      }
      return true;
    }
    if (previous) {
      this.owner.set(id, previous);
      if (isAttemptStart(type)) previous.attempts += 1;
      if (isAttemptSuccess(type)) previous.lastOutcome = "ok";
      if (isFailure(type)) {
        previous.failures += 1;
        previous.lastOutcome = "failed";
        const details = detailsOf(event);
        previous.error = details ? { error: details.error, cause: details.cause } : null;
      }
    }
    return true;
  }

  /** The status word of one visit, given the execution's status. */
  visitStatus(visit, executionStatus) {
    if (visit.redriven) return visit.redriven; // "failed" or "cancelled" in the attempt before a redrive
    if (visit.exitedId !== null) {
      if (visit.failures === 0) return "succeeded";
      return visit.lastOutcome === "ok" ? "retried" : "caught";
    }
    if (executionStatus === "RUNNING") return "running";
    if (executionStatus === "FAILED" || executionStatus === "TIMED_OUT") {
      return this.failedVisits().has(visit) ? "failed" : "cancelled";
    }
    return "cancelled";
  }

  /** The open visits that failed the execution: those with a failure of their own (or a Fail
   * state; else the last one entered), and the Parallel/Map visits around them. */
  failedVisits() {
    if (this.failedAt?.lastId === this.lastId) return this.failedAt.set;
    const open = this.visits.filter((v) => v.exitedId === null && !v.redriven);
    let roots = open.filter((v) => v.failures > 0 || v.type === "Fail");
    if (!roots.length && open.length) roots = [open[open.length - 1]];
    const set = new Set();
    for (const root of roots) for (let v = root; v; v = v.parent) set.add(v);
    this.failedAt = { lastId: this.lastId, set };
    return set;
  }

  /** Map of state name -> the most telling status among its visits. */
  statuses(executionStatus) {
    const out = new Map();
    const cut = [];
    for (const visit of this.visits) {
      // a state that failed, then ran again after a redrive: "retried" (or "failed" again)
      const status = visit.redriven === "failed" ? "retried" : this.visitStatus(visit, executionStatus);
      if (visit.redriven === "cancelled") cut.push(visit); // only where nothing else ran since
      const known = out.get(visit.name);
      if (visit.redriven !== "cancelled" && (!known || ORDER.indexOf(status) < ORDER.indexOf(known))) out.set(visit.name, status);
    }
    for (const visit of cut) if (!out.has(visit.name)) out.set(visit.name, "cancelled");
    return out;
  }
}
