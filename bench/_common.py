"""What the benches share: rows timed round-robin, their p50/p95, and the command line of a bench that
prints a table (``--rounds``/``--quick``/``--json``) or one of JSON figures (``--json`` only).

Imported by name from the other scripts (``from _common import ...``): they run as ``python bench/X.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from invoke import percentiles

Way = Callable[[], Awaitable[None]]


async def interleaved(
    rounds: int, ways: dict[str, Way], warmup: int, prepare: Way | None = None
) -> dict[str, list[float]]:
    """Every way once per round, the order rotating between rounds (so machine load hits all rows
    alike), after ``warmup`` untimed rounds; ``prepare`` (untimed) before each call. Times in ms."""
    names = list(ways)
    for _ in range(warmup):
        for name in names:
            if prepare is not None:
                await prepare()
            await ways[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            if prepare is not None:
                await prepare()
            started = time.perf_counter()
            await ways[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    return times


async def interleaved_percentiles(
    rounds: int, ways: dict[str, Way], warmup: int
) -> dict[str, dict[str, float]]:
    """``interleaved``'s rows as p50/p95 (``invoke.percentiles``)."""
    return {name: percentiles(samples) for name, samples in (await interleaved(rounds, ways, warmup)).items()}


def rounds_arguments(doc: str | None, default: int, quick: int) -> tuple[argparse.Namespace, int]:
    """The command line of a table bench: its arguments and the rounds to run."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--rounds", type=int, default=default)
    parser.add_argument("--quick", action="store_true", help=f"{quick} rounds")
    args = parser.parse_args()
    return args, quick if args.quick else args.rounds


def finish(results: dict[str, Any], report: Callable[[dict[str, Any]], None], path: Path | None) -> int:
    """Print the table, write the figures to ``path`` if given; the exit status."""
    report(results)
    if path is not None:
        path.write_text(json.dumps(results, indent=2))
    return 0


def json_main(
    doc: str | None, count: str, default: int, run: Callable[[int, int], Coroutine[Any, Any, dict[str, Any]]]
) -> None:
    """The command line of a JSON bench: ``--<count> N --samples N [--json FILE]``; prints the figures."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(f"--{count}", type=int, default=default)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run(getattr(args, count), args.samples))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
