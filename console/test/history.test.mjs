// node --test console/test: the pure modules (no browser, no packages needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { HistoryAnalysis } from "../src/history.js";

let clock = Date.parse("2026-12-03T22:00:00Z");
function events(...specs) {
  return specs.map(([type, details], k) => {
    const key = `${type[0].toLowerCase()}${type.slice(1).replace(/^(\w+?)State(Entered|Exited)$/, "state$2")}EventDetails`;
    return { id: k + 1, previousEventId: k, timestamp: new Date((clock += 10)).toISOString(), type, ...(details ? { [key]: details } : {}) };
  });
}

function analyse(list) {
  const analysis = new HistoryAnalysis();
  list.forEach((event) => analysis.add(event));
  return analysis;
}

test("a task that failed, was retried and succeeded is retried; one whose error was caught is caught", () => {
  const history = events(
    ["ExecutionStarted", { input: "{}" }],
    ["TaskStateEntered", { name: "Flaky", input: "{}" }],
    ["LambdaFunctionScheduled", {}], ["LambdaFunctionStarted"], ["LambdaFunctionFailed", { error: "Boom", cause: "once" }],
    ["LambdaFunctionScheduled", {}], ["LambdaFunctionStarted"], ["LambdaFunctionSucceeded", { output: "1" }],
    ["TaskStateExited", { name: "Flaky", output: "1" }],
    ["TaskStateEntered", { name: "Doomed", input: "1" }],
    ["LambdaFunctionScheduled", {}], ["LambdaFunctionStarted"], ["LambdaFunctionFailed", { error: "Boom", cause: "always" }],
    ["TaskStateExited", { name: "Doomed", output: "{}" }],
    ["PassStateEntered", { name: "Handler", input: "{}" }], ["PassStateExited", { name: "Handler", output: "{}" }],
    ["ExecutionSucceeded", { output: "{}" }],
  );
  const analysis = analyse(history);
  const statuses = analysis.statuses("SUCCEEDED");
  assert.deepEqual(Object.fromEntries(statuses), { Flaky: "retried", Doomed: "caught", Handler: "succeeded" });
  const flaky = analysis.visits[0];
  assert.equal(flaky.attempts, 2);
  assert.deepEqual(flaky.error, { error: "Boom", cause: "once" });
  assert.equal(flaky.output, "1");
});

test("an unexited state is running while the execution runs, then failed or cancelled", () => {
  const history = events(
    ["ExecutionStarted", {}],
    ["ParallelStateEntered", { name: "Both", input: "{}" }], ["ParallelStateStarted"],
    ["TaskStateEntered", { name: "Left", input: "{}" }],
    ["WaitStateEntered", { name: "Right", input: "{}" }],
    ["LambdaFunctionScheduled", {}], ["LambdaFunctionFailed", { error: "Boom" }],
  );
  history[4].previousEventId = 3; // both branches start after ParallelStateStarted
  history[5].previousEventId = 4; // the task's events follow its own state
  const analysis = analyse(history);
  assert.deepEqual(Object.fromEntries(analysis.statuses("RUNNING")), { Both: "running", Left: "running", Right: "running" });
  const failed = Object.fromEntries(analysis.statuses("FAILED"));
  assert.equal(failed.Left, "failed"); // its own failure
  assert.equal(failed.Both, "failed"); // the Parallel around it
  assert.equal(failed.Right, "cancelled"); // a sibling stopped by it
  assert.equal(Object.fromEntries(analysis.statuses("ABORTED")).Left, "cancelled");
});

test("a Fail state is failed; events seen twice (a resumed stream) count once", () => {
  const history = events(["ExecutionStarted", {}], ["FailStateEntered", { name: "Refuse", input: "{}" }], ["ExecutionFailed", { error: "E" }]);
  const analysis = new HistoryAnalysis();
  for (const event of [...history, ...history]) analysis.add(event);
  assert.equal(analysis.visits.length, 1);
  assert.equal(analysis.statuses("FAILED").get("Refuse"), "failed");
  assert.deepEqual(analysis.executionError, { error: "E" });
});

test("a redriven execution: the state it failed in is retried once it succeeds, the earlier attempt's visit failed", () => {
  const history = events(
    ["ExecutionStarted", { input: "{}" }],
    ["PassStateEntered", { name: "Check", input: "{}" }], ["PassStateExited", { name: "Check", output: "{}" }],
    ["ChoiceStateEntered", { name: "Gate", input: "{}" }],
    ["ExecutionFailed", { error: "States.NoChoiceMatched" }],
    ["ExecutionRedriven", { redriveCount: 1 }],
    ["ChoiceStateEntered", { name: "Gate", input: "{}" }], ["ChoiceStateExited", { name: "Gate", output: "{}" }],
    ["PassStateEntered", { name: "Done", input: "{}" }], ["PassStateExited", { name: "Done", output: "{}" }],
    ["ExecutionSucceeded", { output: "{}" }],
  );
  const analysis = analyse(history);
  assert.deepEqual(Object.fromEntries(analysis.statuses("SUCCEEDED")), { Check: "succeeded", Gate: "retried", Done: "succeeded" });
  assert.equal(analysis.visitStatus(analysis.visits[1], "SUCCEEDED"), "failed");
  assert.equal(analysis.visits[1].end, Date.parse(history[4].timestamp)); // ended with the failed attempt
  assert.equal(analysis.executionError, null);
});
