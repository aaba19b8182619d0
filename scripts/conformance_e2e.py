"""Every conformance case end to end: API over HTTP, PostgreSQL, Temporal and sandboxed functions.

    python3 scripts/conformance_e2e.py /work/shared/conformance/cases [--only TEXT] [--json FILE] [--aws]

Starts what it needs on free ports and removes it afterwards: a Temporal dev server (unless
STEPLINE_TEMPORAL_ADDRESS is set), a fresh database on the PostgreSQL server of
STEPLINE_TEST_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres), migrated; then the
API and a worker with the function runtime (``shell.conformance.stack``), and runs the cases
with ``stepline conformance DIR --api URL``'s runner (``--aws``: ``--aws URL``'s, through the Step
Functions endpoint with boto3). ``stepline dev`` cannot stand in for this
yet: its worker runs no function runtime (``workers.main.function_runtime`` yields None).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from pydantic import SecretStr

from foundation.db import upgrade
from foundation.settings import Settings
from shell.conformance.aws import run_aws
from shell.conformance.cases import load_cases
from shell.conformance.remote import run_remote
from shell.conformance.report import print_report, write_json
from shell.conformance.stack import stack
from shell.embedded import temporal_dev_server

ADMIN_URL = os.environ.get("STEPLINE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _database(action: str, name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        if action == "create":
            await admin.execute(f'CREATE DATABASE "{name}"')
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _run(args: argparse.Namespace, temporal: str, data_dir: Path) -> int:
    cases = load_cases(args.directory, args.only)
    name = f"stepline_conformance_{uuid.uuid4().hex[:8]}"
    await _database("create", name)
    try:
        url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        await asyncio.to_thread(upgrade, url)
        settings = Settings(
            database_url=SecretStr(url),
            temporal_address=temporal,
            data_dir=data_dir,
            temporal={"task_queue": f"conformance-{uuid.uuid4().hex[:8]}"},
            sandbox={"idle_seconds": 20.0},
        )
        async with stack(settings) as api_url:
            print(f"API at {api_url}; {len(cases)} cases", flush=True)
            started = time.perf_counter()
            run = run_aws if args.aws else run_remote
            results = await run(cases, api_url, concurrency=args.concurrency)
            seconds = time.perf_counter() - started
    finally:
        await _database("drop", name)
    print_report(results, sys.stdout, quiet=args.quiet)
    print(f"({seconds:.1f} s end to end)")
    if args.json is not None:
        write_json(results, args.json)
    return 0 if all(r.passed for r in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--only", help="only cases whose id contains this text")
    parser.add_argument("--json", type=Path, help="write per-case results here")
    parser.add_argument("--quiet", action="store_true", help="do not print each failing case")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--aws", action="store_true", help="through the Step Functions endpoint (boto3)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack_:
        temporal = os.environ.get("STEPLINE_TEMPORAL_ADDRESS") or stack_.enter_context(temporal_dev_server())
        data_dir = Path(stack_.enter_context(tempfile.TemporaryDirectory(prefix="stepline-conformance-")))
        return asyncio.run(_run(args, temporal, data_dir))


if __name__ == "__main__":
    sys.exit(main())
