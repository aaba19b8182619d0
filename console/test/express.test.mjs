import { test } from "node:test";
import assert from "node:assert/strict";
import { byExecution, isExpressArn, lastAttempt, logGroupArn, logGroupOf, parseExpressArn, summarize, asHistoryEvent } from "../src/express.js";

const ARN = "arn:aws:states:us-east-1:000000000000:express:orders:first:5f5d";
const entry = (id, type, details, attempt = 1, arn = ARN) => ({
  logGroup: "/stepline/orders", attempt, timestamp: "2026-12-04T00:00:00Z",
  message: { id: String(id), type, details, event_timestamp: String(1796353200000 + id), execution_arn: arn },
});

test("Express ARNs are told from execution ids and read", () => {
  assert.equal(isExpressArn(ARN), true);
  assert.equal(isExpressArn("arn:aws:states:us-east-1:000000000000:execution:orders:first"), false);
  assert.equal(isExpressArn("0b6c3f3e-uuid"), false);
  assert.deepEqual(parseExpressArn(ARN), { machine: "orders", name: "first", run: "5f5d" });
});

test("a run's events tell its status, input and output; an unlogged input stays undefined", () => {
  const events = [entry(1, "ExecutionStarted", { input: '{"n":1}' }), entry(2, "PassStateEntered", { name: "P" }),
    entry(3, "ExecutionSucceeded", { output: '{"n":7}' })].map(asHistoryEvent);
  assert.deepEqual(summarize(events.slice(0, 2)).status, "RUNNING");
  const run = summarize(events);
  assert.equal(run.status, "SUCCEEDED");
  assert.deepEqual(run.input, { n: 1 });
  assert.deepEqual(run.output, { n: 7 });
  assert.equal(summarize([entry(1, "ExecutionStarted", {}), entry(2, "ExecutionSucceeded", {})].map(asHistoryEvent)).output, undefined);
  const failed = summarize([entry(1, "ExecutionFailed", { error: "E", cause: "c" })].map(asHistoryEvent));
  assert.deepEqual([failed.status, failed.error, failed.cause], ["FAILED", "E", "c"]);
});

test("only the last attempt of a run that ran again is shown, in id order", () => {
  const events = [entry(1, "ExecutionStarted", {}), entry(2, "ExecutionStarted", {}, 2), entry(1, "ExecutionStarted", {}, 2)]
    .map(asHistoryEvent);
  const last = lastAttempt(events);
  assert.deepEqual([last.attempt, last.attempts, last.events.map((e) => e.id)], [2, 2, ["1", "2"]]);
});

test("log entries are grouped by execution, the latest first", () => {
  const other = ARN.replace("first:5f5d", "second:77");
  const runs = byExecution([entry(1, "ExecutionStarted", {}), entry(5, "ExecutionStarted", {}, 1, other),
    entry(2, "ExecutionSucceeded", {})]);
  assert.deepEqual(runs.map((r) => [r.name, r.status, r.count]), [["second", "RUNNING", 1], ["first", "SUCCEEDED", 2]]);
});

test("log group ARNs are made in the machine's region and account, and read back", () => {
  const arn = logGroupArn("arn:aws:states:eu-west-1:123456789012:stateMachine:orders", "/stepline/orders");
  assert.equal(arn, "arn:aws:logs:eu-west-1:123456789012:log-group:/stepline/orders:*");
  assert.equal(logGroupOf({ destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: arn } }] }), "/stepline/orders");
  assert.equal(logGroupOf({ level: "OFF" }), null);
});

test("a synchronous run's events (attempt 0) are its events", () => {
  const runs = byExecution([entry(1, "ExecutionStarted", {}, 0), entry(2, "ExecutionSucceeded", {}, 0)]);
  assert.deepEqual(runs.map((r) => [r.status, r.count, r.sync]), [["SUCCEEDED", 2, true]]);
});
