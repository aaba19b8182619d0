import { test } from "node:test";
import assert from "node:assert/strict";
import { describeRule, levelGraph, stateNames } from "../src/asl.js";
import { pointerRanges, rangeOf, stateOf, offsetOfLineColumn } from "../src/pointers.js";

test("Choice rules, Default and Catch become labelled edges of their kind", () => {
  const graph = levelGraph({
    StartAt: "Pick",
    States: {
      Pick: { Type: "Choice", Choices: [{ Variable: "$.n", NumericGreaterThan: 10, Next: "Big" }], Default: "Small" },
      Big: { Type: "Task", Resource: "x", Catch: [{ ErrorEquals: ["States.ALL"], Next: "Small" }], End: true },
      Small: { Type: "Succeed" },
    },
  });
  const edges = graph.edges.map((e) => [e.from, e.to, e.kind, e.label ?? null]);
  assert.deepEqual(edges, [
    ["^start", "Pick", "next", null],
    ["Pick", "Big", "choice", "$.n > 10"],
    ["Pick", "Small", "default", "Default"],
    ["Big", "^end", "next", null],
    ["Big", "Small", "catch", "Catch States.ALL"],
    ["Small", "^end", "next", null],
  ]);
});

test("a missing target is drawn as a missing state; nested states are listed", () => {
  const definition = {
    StartAt: "Fan",
    States: { Fan: { Type: "Map", ItemProcessor: { StartAt: "In", States: { In: { Type: "Pass", Next: "Gone" } } }, End: true } },
  };
  const inner = levelGraph(definition).nodes.find((n) => n.id === "Fan").processor;
  assert.ok(inner.nodes.some((n) => n.type === "Missing" && n.name === "Gone"));
  assert.deepEqual(stateNames(definition), ["Fan", "In"]);
});

test("rules read as one line", () => {
  assert.equal(describeRule({ And: [{ Variable: "$.a", IsPresent: true }, { Not: { Variable: "$.b", StringEquals: "x" } }] }),
    '($.a is present) and (not ($.b == "x"))');
  assert.equal(describeRule({ Condition: "{% $states.input.n > 1 %}" }), "$states.input.n > 1");
  assert.equal(describeRule({ Variable: "$.t", TimestampLessThanPath: "$.u" }), '$.t < "$.u"');
});

test("a diagnostic's JSON pointer finds its place in the text and its state", () => {
  const text = JSON.stringify({ StartAt: "A", States: { A: { Type: "Pass", Next: "B" } } }, null, 2);
  const ranges = pointerRanges(text);
  const at = rangeOf(ranges, "/States/A/Next");
  assert.equal(text.slice(at.from, at.to), '"Next": "B"');
  assert.equal(text.slice(rangeOf(ranges, "/States/A/Nope").from).split("\n")[0], '"A": {'); // the closest ancestor
  assert.equal(stateOf("/States/M/ItemProcessor/States/B/Next"), "B");
  assert.equal(stateOf("/StartAt"), null);
  assert.equal(pointerRanges("{not json").size, 0);
  assert.equal(offsetOfLineColumn("ab\ncd", "line: 2, column: 2"), 4);
});
