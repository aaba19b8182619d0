"""State transitions per second: Stepline's interpreter on the local host vs moto's ASL interpreter.

    python bench/engine.py [--json FILE] [--peer-scale 0.1] [--no-peer]

Three workloads: (a) a 1,000-state Pass chain with Parameters and ResultPath, (b) a Choice loop
counting to 10,000 with States.MathAdd, (c) a Map over 10,000 items with an ItemSelector. A
transition is one state entered (a Map iteration's states count, the Map itself counts once).
moto is slow (milliseconds per state), so by default it runs the same machines scaled down
(``--peer-scale``, default 1%, at least 50); rates are per transition, so they stay comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from statemachine import Limits, LocalHost, execute, execution_context, load_program

Definition = dict[str, Any]


def pass_chain(length: int) -> tuple[Definition, Any]:
    """(a) ``length`` Pass states, each with Parameters and a ResultPath."""
    states: dict[str, Any] = {}
    for i in range(length):
        state: dict[str, Any] = {
            "Type": "Pass",
            "Parameters": {"step": i, "previous.$": "$.last.step", "constant": "x"},
            "ResultPath": "$.last",
        }
        if i + 1 < length:
            state["Next"] = f"S{i + 1}"
        else:
            state["End"] = True
        states[f"S{i}"] = state
    return {"StartAt": "S0", "States": states}, {"last": {"step": -1}}


def choice_loop(count: int) -> tuple[Definition, Any]:
    """(b) A Choice loop counting to ``count`` with States.MathAdd."""
    return {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": count, "Next": "Increment"}],
                "Default": "Done",
            },
            "Increment": {
                "Type": "Pass",
                "Parameters": {"i.$": "States.MathAdd($.i, 1)"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }, {"i": 0}


def map_items(count: int) -> tuple[Definition, Any]:
    """(c) A Map over ``count`` items with an ItemSelector."""
    return {
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "ResultSelector": {"count.$": "States.ArrayLength($)"},
                "End": True,
            }
        },
    }, {"items": list(range(count))}


WORKLOADS: dict[str, tuple[Callable[[int], tuple[Definition, Any]], int]] = {
    "pass_chain_1000": (pass_chain, 1_000),
    "choice_loop_10000": (choice_loop, 10_000),
    "map_10000_items": (map_items, 10_000),
}


def transitions(name: str, size: int) -> int:
    """States entered by one run of a workload of ``size``."""
    if name.startswith("pass_chain"):
        return size
    if name.startswith("choice_loop"):
        return 2 * size + 2
    return size + 1


@dataclass
class Figure:
    """One workload's result on one engine."""

    engine: str
    workload: str
    size: int
    transitions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.transitions / self.seconds if self.seconds else float("inf")


def run_stepline(name: str, size: int, repeat: int = 3) -> Figure:
    """Best of ``repeat`` runs on the local host (virtual clock, history kept in memory).

    The definition is compiled once beforehand, as the service does when it is registered.
    """
    build, _ = WORKLOADS[name]
    definition, input_ = build(size)
    program = load_program(definition)
    limits = Limits(max_history_events=10_000_000)
    best = float("inf")
    for _ in range(repeat):
        host = LocalHost()
        context = execution_context("bench", name, host.now())
        started = time.perf_counter()
        outcome = asyncio.run(execute(program, input_, context, host, limits))
        best = min(best, time.perf_counter() - started)
        if outcome.status != "SUCCEEDED":
            raise SystemExit(f"{name}: {outcome}")
    return Figure("stepline", name, size, transitions(name, size), best)


def run_moto(name: str, size: int) -> Figure:
    """One run on moto's ASL interpreter (LocalStack-derived), polling describe_execution."""
    import boto3  # type: ignore[import-untyped]
    from moto import mock_aws

    build, _ = WORKLOADS[name]
    definition, input_ = build(size)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        machine = client.create_state_machine(
            name=f"bench-{name}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/bench",
        )
        started = time.perf_counter()
        execution = client.start_execution(
            stateMachineArn=machine["stateMachineArn"], input=json.dumps(input_)
        )
        while True:
            status = client.describe_execution(executionArn=execution["executionArn"])["status"]
            if status != "RUNNING":
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    if status != "SUCCEEDED":
        raise SystemExit(f"moto {name}: {status}")
    return Figure("moto", name, size, transitions(name, size), elapsed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--peer-scale", type=float, default=0.01, help="moto workload size factor")
    parser.add_argument("--no-peer", action="store_true", help="skip moto")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(10_000)
    rows: list[dict[str, Any]] = []
    print(f"{'workload':<20} {'stepline tr/s':>14} {'moto tr/s':>12} {'ratio':>8}")
    for name, (_, size) in WORKLOADS.items():
        ours = run_stepline(name, size)
        peer = None if args.no_peer else run_moto(name, max(50, int(size * args.peer_scale)))
        ratio = ours.per_second / peer.per_second if peer else None
        print(
            f"{name:<20} {ours.per_second:>14,.0f} "
            f"{(f'{peer.per_second:,.0f}' if peer else '-'):>12} {(f'{ratio:,.0f}x' if ratio else '-'):>8}"
        )
        rows.append(
            {
                "workload": name,
                "stepline": {**asdict(ours), "per_second": ours.per_second},
                "moto": {**asdict(peer), "per_second": peer.per_second} if peer else None,
                "ratio": ratio,
            }
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
