"""TestState, redrive and state machine aliases against their floors, interleaved in one run.

    python bench/machine_tools.py [--json FILE] [--rounds N] [--quick]

Starts a Temporal dev server, a fresh migrated database on the local PostgreSQL and ``stepline dev``
against both (``bench/aws_api.py``'s helpers), then, round-robin within each group so that machine
load hits its rows alike, p50 and p95 in ms of:

- TestState: ``test_state_v1`` (``POST /v1/test-state`` of a Pass state with Parameters, an input
  and DEBUG inspection) against ``validate_v1`` (``POST /v1/state-machines/validate`` of a one-Pass
  machine: parse and check, no run; the floor); and the same pair through boto3 (``TestState``,
  ``ValidateStateMachineDefinition``);
- aliases: ``start_by_alias_v1`` (``POST /v1/state-machines/{name}/aliases/{alias}/executions``: the
  alias read, a version drawn by weight) against ``start_by_name_v1`` (the machine's latest
  version); through boto3, ``StartExecution`` by the alias ARN against by the machine ARN and by the
  version ARN;
- redrive: ``redrive_to_succeeded`` (``POST /v1/executions/{id}/redrive`` of a FAILED execution
  until it has SUCCEEDED: a Choice on ``$$.Execution.RedriveCount`` fails the first run and passes
  the redriven one) against ``start_to_succeeded`` (a fresh start of the same shape that passes at
  once, until SUCCEEDED); both observed in PostgreSQL, polled every millisecond.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from _common import finish, interleaved, rounds_arguments
from aws_api import ONE_PASS, ROLE, Bench, database, stepline_dev
from invoke import percentiles

from shell.embedded import temporal_dev_server

PASS_STATE = {
    "Type": "Pass",
    "Parameters": {"id.$": "$.order.id", "total.$": "States.MathAdd($.n, 1)"},
    "End": True,
}
INPUT = {"order": {"id": "o-1", "items": list(range(20))}, "n": 41}


def gate(redrives_needed: int) -> dict[str, Any]:
    """A Choice that matches once ``$$.Execution.RedriveCount`` reaches ``redrives_needed`` (else it
    fails with States.NoChoiceMatched), then Succeed."""
    rule = {
        "Variable": "$$.Execution.RedriveCount",
        "NumericGreaterThanEquals": redrives_needed,
        "Next": "Done",
    }
    return {
        "StartAt": "Gate",
        "States": {"Gate": {"Type": "Choice", "Choices": [rule]}, "Done": {"Type": "Succeed"}},
    }


Way = Callable[[], Awaitable[None]]


class Tools:
    def __init__(self, api: str, database_url: str) -> None:
        self.bench = Bench(api)
        self.api = httpx.AsyncClient(base_url=api, timeout=60)
        self.database_url = database_url
        run = uuid.uuid4().hex[:6]
        self.plain, self.failing, self.passing = f"tools-{run}", f"redrive-{run}", f"passing-{run}"
        self.db: asyncpg.Connection | None = None
        self.failed: list[str] = []

    async def create(self) -> None:
        created = self.bench.sfn.create_state_machine(
            name=self.plain, definition=json.dumps(ONE_PASS), roleArn=ROLE, publish=True
        )
        self.machine_arn, self.version_arn = created["stateMachineArn"], created["stateMachineVersionArn"]
        self.alias_arn = self.bench.sfn.create_state_machine_alias(
            name="live", routingConfiguration=[{"stateMachineVersionArn": self.version_arn, "weight": 100}]
        )["stateMachineAliasArn"]
        self.bench.machine(self.failing, gate(1))
        self.bench.machine(self.passing, gate(0))
        self.db = await asyncpg.connect(self.database_url)

    async def status(self, execution_id: str, wanted: str) -> None:
        assert self.db is not None
        deadline = time.monotonic() + 60
        query = "SELECT 1 FROM execution WHERE id = $1 AND status = $2"
        while await self.db.fetchval(query, execution_id, wanted) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_id} not {wanted} in 60 s")
            await asyncio.sleep(0.001)

    async def post(self, path: str, body: dict[str, Any], expected: int = 200) -> Any:
        answer = await self.api.post(path, json=body)
        assert answer.status_code == expected, answer.text
        return answer.json()

    # TestState
    async def test_state_v1(self) -> None:
        body = {"definition": PASS_STATE, "input": INPUT, "inspectionLevel": "DEBUG"}
        found = await self.post("/v1/test-state", body)
        assert found["status"] == "SUCCEEDED" and found["output"] == {"id": "o-1", "total": 42}, found

    async def validate_v1(self) -> None:
        found = await self.post("/v1/state-machines/validate", {"definition": ONE_PASS})
        assert found["result"] == "OK", found

    async def test_state_boto3(self) -> None:
        found = await asyncio.to_thread(
            self.bench.sfn.test_state, definition=json.dumps(PASS_STATE), roleArn=ROLE,
            input=json.dumps(INPUT), inspectionLevel="DEBUG",
        )  # fmt: skip
        assert found["status"] == "SUCCEEDED", found

    async def validate_boto3(self) -> None:
        found = await asyncio.to_thread(
            self.bench.sfn.validate_state_machine_definition, definition=json.dumps(ONE_PASS)
        )
        assert found["result"] == "OK", found

    # aliases
    async def start_by_alias_v1(self) -> None:
        await self.post(f"/v1/state-machines/{self.plain}/aliases/live/executions", {"input": {}}, 201)

    async def start_by_name_v1(self) -> None:
        await self.post(f"/v1/state-machines/{self.plain}/executions", {"input": {}}, 201)

    def starter(self, arn: str) -> Way:
        async def start() -> None:
            await asyncio.to_thread(self.bench.sfn.start_execution, stateMachineArn=arn, input="{}")

        return start

    # redrive
    async def fail_one(self) -> None:
        started = await self.post(f"/v1/state-machines/{self.failing}/executions", {"input": {}}, 201)
        await self.status(started["executionId"], "FAILED")
        self.failed.append(started["executionId"])

    async def redrive_to_succeeded(self) -> None:
        execution = self.failed.pop()
        await self.post(f"/v1/executions/{execution}/redrive", {})
        await self.status(execution, "SUCCEEDED")

    async def start_to_succeeded(self) -> None:
        started = await self.post(f"/v1/state-machines/{self.passing}/executions", {"input": {}}, 201)
        await self.status(started["executionId"], "SUCCEEDED")


async def measure(api: str, database_url: str, rounds: int) -> dict[str, Any]:
    tools = Tools(api, database_url)
    await tools.create()
    results: dict[str, Any] = {"rounds": rounds}
    try:
        groups: dict[str, dict[str, Way]] = {
            "test_state": {
                "test_state_v1": tools.test_state_v1, "validate_v1": tools.validate_v1,
                "test_state_boto3": tools.test_state_boto3, "validate_boto3": tools.validate_boto3,
            },
            "aliases": {
                "start_by_alias_v1": tools.start_by_alias_v1, "start_by_name_v1": tools.start_by_name_v1,
                "start_by_alias_arn_boto3": tools.starter(tools.alias_arn),
                "start_by_machine_arn_boto3": tools.starter(tools.machine_arn),
                "start_by_version_arn_boto3": tools.starter(tools.version_arn),
            },
        }  # fmt: skip
        for group, ways in groups.items():
            times = await interleaved(rounds, ways, warmup=5)
            results[group] = {name: percentiles(samples) for name, samples in times.items()}

        async def prepare() -> None:  # a FAILED execution ready for the redrive row, made untimed
            if not tools.failed:
                await tools.fail_one()

        ways = {
            "redrive_to_succeeded": tools.redrive_to_succeeded,
            "start_to_succeeded": tools.start_to_succeeded,
        }
        times = await interleaved(max(10, rounds // 4), ways, warmup=2, prepare=prepare)
        results["redrive"] = {name: percentiles(samples) for name, samples in times.items()}
    finally:
        if tools.db is not None:
            await tools.db.close()
        await tools.api.aclose()
    rows = {**results["test_state"], **results["aliases"], **results["redrive"]}
    results["differences_ms"] = {
        "test_state_v1 - validate_v1": round(rows["test_state_v1"]["p50"] - rows["validate_v1"]["p50"], 3),
        "start_by_alias_v1 - start_by_name_v1": round(
            rows["start_by_alias_v1"]["p50"] - rows["start_by_name_v1"]["p50"], 3
        ),
        "alias_arn - machine_arn (boto3)": round(
            rows["start_by_alias_arn_boto3"]["p50"] - rows["start_by_machine_arn_boto3"]["p50"], 3
        ),
        "redrive - start (to SUCCEEDED)": round(
            rows["redrive_to_succeeded"]["p50"] - rows["start_to_succeeded"]["p50"], 3
        ),
    }
    return results


def report(results: dict[str, Any]) -> None:
    print(f"{results['rounds']} rounds (redrive: a quarter, at least 10)")
    print(f"{'group':11} {'row':28} {'p50 ms':>9} {'p95 ms':>9}")
    for group in ("test_state", "aliases", "redrive"):
        for name, figures in results[group].items():
            print(f"{group:11} {name:28} {figures['p50']:9.3f} {figures['p95']:9.3f}")
    for name, value in results["differences_ms"].items():
        print(f"p50 {name}: {value:.3f} ms")


def main() -> int:
    args, rounds = rounds_arguments(__doc__, 120, quick=30)
    with temporal_dev_server() as temporal, database() as url, stepline_dev(url, temporal) as api:
        results = asyncio.run(measure(api, url, rounds))
    return finish(results, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
