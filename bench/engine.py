"""State transitions per second: Stepline's interpreter on the local host vs moto's ASL interpreter.

    python bench/engine.py [--json FILE] [--peer-scale 0.1] [--no-peer] [--repeat 15]

Three workloads: (a) a 1,000-state Pass chain with Parameters and ResultPath, (b) a Choice loop
counting to 10,000 with States.MathAdd, (c) a Map over 10,000 items with an ItemSelector. A
transition is one state entered (a Map iteration's states count, the Map itself counts once).
moto is slow (milliseconds per state), so by default it runs the same machines scaled down
(``--peer-scale``, default 1%, at least 50); rates are per transition, so they stay comparable.

Stepline runs each workload ``--repeat`` times: the best wall-clock rate (the ratio's figure; as
with ``timeit``, the run no other process interrupted: a 1,000-state chain takes ~4 ms, about one
time slice on a busy machine), the median one, and the median rate in CPU time (process time),
which other processes do not slow down; the load average is printed first so that a figure can be
read against it. Objects alive
before a Stepline workload (moto's and botocore's, once the peer has run) are moved out of the
garbage collector's reach first (``gc.freeze``): every full collection the workload's allocations
trigger would walk them (the Choice loop fell from 211k to 137k tr/s after one moto run), a cost of
sharing the process with the peer, not of the engine (a server can do the same after start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
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
    """One workload's result on one engine: wall-clock (and CPU) seconds of each run."""

    engine: str
    workload: str
    size: int
    transitions: int
    runs: list[float]
    cpu_runs: list[float]

    @property
    def per_second(self) -> float:
        """The best run's rate."""
        return self.rate(min(self.runs))

    @property
    def median_per_second(self) -> float:
        return self.rate(statistics.median(self.runs))

    @property
    def cpu_per_second(self) -> float:
        """The median run's rate in CPU time."""
        return self.rate(statistics.median(self.cpu_runs))

    def rate(self, seconds: float) -> float:
        return self.transitions / seconds if seconds else float("inf")


def run_stepline(name: str, size: int, repeat: int) -> Figure:
    """``repeat`` runs on the local host (virtual clock, history kept in memory).

    The definition is compiled once beforehand, as the service does when it is registered.
    """
    build, _ = WORKLOADS[name]
    definition, input_ = build(size)
    program = load_program(definition)
    limits = Limits(max_history_events=10_000_000)
    runs: list[float] = []
    cpu_runs: list[float] = []
    gc.collect()
    gc.freeze()
    for _ in range(repeat):
        host = LocalHost()
        context = execution_context("bench", name, host.now())
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = asyncio.run(execute(program, input_, context, host, limits))
        runs.append(time.perf_counter() - started)
        cpu_runs.append(time.process_time() - cpu_started)
        if outcome.status != "SUCCEEDED":
            raise SystemExit(f"{name}: {outcome}")
    return Figure("stepline", name, size, transitions(name, size), runs, cpu_runs)


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
        started, cpu_started = time.perf_counter(), time.process_time()
        execution = client.start_execution(
            stateMachineArn=machine["stateMachineArn"], input=json.dumps(input_)
        )
        while True:
            status = client.describe_execution(executionArn=execution["executionArn"])["status"]
            if status != "RUNNING":
                break
            time.sleep(0.05)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if status != "SUCCEEDED":
        raise SystemExit(f"moto {name}: {status}")
    return Figure("moto", name, size, transitions(name, size), [elapsed], [cpu])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--peer-scale", type=float, default=0.01, help="moto workload size factor")
    parser.add_argument("--no-peer", action="store_true", help="skip moto")
    parser.add_argument("--repeat", type=int, default=15, help="Stepline runs per workload")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(10_000)
    rows: list[dict[str, Any]] = []
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs; Stepline: {args.repeat} runs per workload")
    print(
        f"{'workload':<20} {'best tr/s':>10} {'median':>10} {'cpu median':>11} "
        f"{'moto tr/s':>10} {'best/moto':>10} {'median/moto':>12}"
    )
    for name, (_, size) in WORKLOADS.items():
        ours = run_stepline(name, size, args.repeat)
        peer = None if args.no_peer else run_moto(name, max(50, int(size * args.peer_scale)))
        ratio = ours.per_second / peer.per_second if peer else None
        median_ratio = ours.median_per_second / peer.per_second if peer else None
        moto = f"{peer.per_second:,.0f}" if peer else "-"
        print(
            f"{name:<20} {ours.per_second:>10,.0f} {ours.median_per_second:>10,.0f} "
            f"{ours.cpu_per_second:>11,.0f} {moto:>10} {_times(ratio):>10} {_times(median_ratio):>12}"
        )
        rows.append(
            {
                "workload": name,
                "stepline": _summary(ours),
                "moto": _summary(peer) if peer else None,
                "ratio": ratio,
                "median_ratio": median_ratio,
            }
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=2)
    return 0


def _times(ratio: float | None) -> str:
    return f"{ratio:,.0f}x" if ratio else "-"


def _summary(figure: Figure) -> dict[str, Any]:
    return {
        **asdict(figure),
        "per_second": figure.per_second,
        "median_per_second": figure.median_per_second,
        "cpu_per_second": figure.cpu_per_second,
    }


if __name__ == "__main__":
    raise SystemExit(main())
