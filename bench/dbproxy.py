"""Throughput and latency through the db proxy (both ways in) against direct asyncpg, same run.

    python bench/dbproxy.py [--clients 100] [--pool 10] [--seconds 6] [--rounds 3] [--json FILE]

Every client loops on a primary-key lookup for ``--seconds``. ``direct``: one asyncpg pool of
``--pool`` connections in this process. ``wire``: each client its own asyncpg connection to the
proxy's PostgreSQL socket. ``native``: each client on the proxy's JSON socket (the bundled clients'
protocol). The proxy runs in its own process with a pool of ``--pool`` connections, as in a worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

ADMIN_URL = os.environ.get("STEPLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERY = "SELECT id, name FROM bench_item WHERE id = $1"

Op = Callable[[int], Awaitable[Any]]


class NativeClient:
    """The bundled clients' protocol, asynchronously (one request at a time)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, path: str) -> NativeClient:
        return cls(*await asyncio.open_unix_connection(path))

    async def query(self, sql: str, params: list[Any]) -> Any:
        body = json.dumps({"op": "query", "sql": sql, "params": params}).encode()
        self.writer.write(b"J" + struct.pack("!I", len(body) + 4) + body)
        header = await self.reader.readexactly(5)
        answer = json.loads(await self.reader.readexactly(struct.unpack("!I", header[1:])[0] - 4))
        if not answer["ok"]:
            raise RuntimeError(answer["error"])
        return answer["rows"]

    def close(self) -> None:
        self.writer.close()


def wire_op(conn: asyncpg.Connection) -> Op:
    async def op(i: int) -> Any:
        return await conn.fetchrow(QUERY, i)

    return op


def native_op(client: NativeClient) -> Op:
    async def op(i: int) -> Any:
        return await client.query(QUERY, [i])

    return op


async def run_clients(ops: list[Op], seconds: float, latencies: list[float]) -> float:
    """Every op loops for ``seconds``; latencies are appended; returns the elapsed time."""
    deadline = time.perf_counter() + seconds

    async def loop(op: Op, k: int) -> None:
        i = k
        while (start := time.perf_counter()) < deadline:
            await op(i % 1000 + 1)
            latencies.append(time.perf_counter() - start)
            i += 7

    began = time.perf_counter()
    await asyncio.gather(*(loop(op, k) for k, op in enumerate(ops)))
    return time.perf_counter() - began


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    latencies.sort()
    return {
        "queries": len(latencies),
        "qps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


async def bench(clients: int, pool_size: int, seconds: float, rounds: int) -> dict[str, Any]:
    """The three ways take turns for ``rounds`` rounds, so a busy machine slows them alike."""
    name = f"stepline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    directory = Path(tempfile.mkdtemp(prefix="sl-bench-"))
    proxy = None
    try:
        setup = await asyncpg.connect(url)
        await setup.execute(
            "CREATE TABLE bench_item (id int PRIMARY KEY, name text);"
            "INSERT INTO bench_item SELECT g, 'item ' || g FROM generate_series(1, 1000) g"
        )
        await setup.close()
        command = [sys.executable, "-m", "workers.dbproxy", url, str(directory), "--size", str(pool_size)]
        proxy = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
        assert proxy.stdout is not None
        await proxy.stdout.readline()  # the banner: sockets are ready

        pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)
        assert pool is not None

        async def direct(i: int) -> Any:
            async with pool.acquire() as conn:
                return await conn.fetchrow(QUERY, i)

        wire_conns = [
            await asyncpg.connect(host=str(directory), user="fn", database="any") for _ in range(clients)
        ]
        native = [await NativeClient.connect(str(directory / "stepline.sock")) for _ in range(clients)]
        ways: dict[str, list[Op]] = {
            "direct": [direct] * clients,
            "wire": [wire_op(c) for c in wire_conns],
            "native": [native_op(c) for c in native],
        }
        latencies: dict[str, list[float]] = {way: [] for way in ways}
        elapsed = dict.fromkeys(ways, 0.0)
        for _ in range(rounds):
            for way, ops in ways.items():
                elapsed[way] += await run_clients(ops, seconds / rounds, latencies[way])
        await pool.close()
        for conn in wire_conns:
            await conn.close()
        for client in native:
            client.close()

        results: dict[str, Any] = {"clients": clients, "pool_size": pool_size, "seconds": seconds}
        for way in ways:
            results[way] = summary(latencies[way], elapsed[way])
        for way in ("wire", "native"):
            results[f"{way}_vs_direct"] = round(results[way]["qps"] / results["direct"]["qps"], 2)
        return results
    finally:
        if proxy is not None:
            proxy.terminate()
            await proxy.wait()
        shutil.rmtree(directory, ignore_errors=True)
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=6.0, help="per way, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(bench(args.clients, args.pool, args.seconds, args.rounds))
    for way in ("direct", "wire", "native"):
        r = results[way]
        print(f"{way:7} {r['qps']:>9.1f} q/s   p50 {r['p50_ms']:>7.2f} ms   p99 {r['p99_ms']:>7.2f} ms")
    wire, native = results["wire_vs_direct"], results["native_vs_direct"]
    print(f"through the proxy vs direct: wire {wire}x, native {native}x")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
