// Express executions, which keep no history: their log events (GET /v1/execution-logs) read as one.
// Pure functions (no DOM, no fetch), checked by test/express.test.mjs.

const ENDINGS = {
  ExecutionSucceeded: "SUCCEEDED",
  ExecutionFailed: "FAILED",
  ExecutionTimedOut: "TIMED_OUT",
  ExecutionAborted: "ABORTED",
};

/** Is ``id`` an Express execution's ARN (arn:aws:states:R:A:express:MACHINE:NAME:UUID)? */
export function isExpressArn(id) {
  return /^arn:[^:]+:states:[^:]*:[^:]*:express:[^:]+:[^:]+:[^:]+$/.test(id ?? "");
}

/** {machine, name, run} of an Express execution ARN (null for another string). */
export function parseExpressArn(arn) {
  if (!isExpressArn(arn)) return null;
  const parts = arn.split(":");
  return { machine: parts[6], name: parts[7], run: parts[8] };
}

/** A log event as the event table shows a history event: {id, type, timestamp (ISO), logEventDetails}. */
export function asHistoryEvent(entry) {
  const message = entry.message ?? {};
  const ms = Number(message.event_timestamp);
  return {
    id: String(message.id ?? ""),
    type: message.type ?? "",
    timestamp: Number.isFinite(ms) ? new Date(ms).toISOString() : entry.timestamp,
    attempt: entry.attempt ?? 1,
    ...(message.details ? { logEventDetails: message.details } : {}),
  };
}

/** The status a run's events end with (RUNNING until an ending event is there). */
export function statusOf(events) {
  for (let k = events.length - 1; k >= 0; k--) if (ENDINGS[events[k].type]) return ENDINGS[events[k].type];
  return "RUNNING";
}

/** The events of one execution's last attempt (an asynchronous Express run is at least once), by id. */
export function lastAttempt(events) {
  const attempts = new Set(events.map((e) => e.attempt)); // a synchronous run's are all 0
  const last = attempts.size ? Math.max(...attempts) : 1;
  const mine = events.filter((e) => e.attempt === last).sort((a, b) => Number(a.id) - Number(b.id));
  return { attempt: last, attempts: attempts.size, events: mine };
}

/**
 * What a run's events tell: status, start and stop dates, input and output (parsed when they are
 * JSON, undefined when not logged), error and cause.
 */
export function summarize(events) {
  const started = events.find((e) => e.type === "ExecutionStarted");
  const ended = [...events].reverse().find((e) => ENDINGS[e.type]);
  const data = (event, key) => (event?.logEventDetails && key in event.logEventDetails ? parsedJson(event.logEventDetails[key]) : undefined);
  return {
    status: statusOf(events),
    startDate: started?.timestamp ?? events[0]?.timestamp,
    stopDate: ended?.timestamp,
    input: data(started, "input"),
    output: data(ended, "output"),
    error: ended?.logEventDetails?.error,
    cause: ended?.logEventDetails?.cause,
  };
}

function parsedJson(text) {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Log entries (GET /v1/execution-logs) grouped by execution, the latest started first. */
export function byExecution(entries) {
  const runs = new Map();
  for (const entry of entries) {
    const arn = entry.message?.execution_arn;
    if (!arn) continue;
    if (!runs.has(arn)) runs.set(arn, []);
    runs.get(arn).push(asHistoryEvent(entry));
  }
  return [...runs].map(([arn, all]) => {
    const { events, attempts, attempt } = lastAttempt(all);
    const name = parseExpressArn(arn)?.name ?? arn.split(":").at(-1);
    return { arn, name, sync: attempt === 0, attempts, count: events.length, ...summarize(events) };
  }).sort((a, b) => Date.parse(b.startDate ?? 0) - Date.parse(a.startDate ?? 0));
}

/** A log group ARN for ``group`` in the region and account of a state machine's ARN. */
export function logGroupArn(machineArn, group) {
  const [, partition = "aws", , region = "", account = ""] = (machineArn ?? "").split(":");
  return `arn:${partition}:logs:${region}:${account}:log-group:${group}:*`;
}

/** The log group name of a logging configuration (null when it has none). */
export function logGroupOf(config) {
  const arn = config?.destinations?.[0]?.cloudWatchLogsLogGroup?.logGroupArn;
  const match = /:log-group:(.+?)(:\*)?$/.exec(arn ?? "");
  return match ? match[1] : null;
}
