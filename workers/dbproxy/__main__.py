"""Run one proxy on its own: ``python -m workers.dbproxy TARGET_URL SOCKET_DIR [--size N]``.

For benchmarks and for trying drivers against the proxy; the worker runs proxies itself. Processes
given the same ``STEPLINE_SECRET_KEY`` share the pool's cap (the slot locks' keys derive from it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from foundation.sealing import Sealer
from workers.dbproxy.pool import PoolConfig
from workers.dbproxy.proxy import Proxy
from workers.dbproxy.server import Target
from workers.dbproxy.slots import SLOT_KEY_PURPOSE, process_secret


async def serve(config: PoolConfig, directory: Path) -> None:
    proxy = Proxy(config, directory)
    await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"db proxy {config.name}: {directory} -> {config.target.describe()} (pool {config.size})", flush=True
    )
    try:
        await stop.wait()
    finally:
        await proxy.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers.dbproxy", description=__doc__)
    parser.add_argument("target", help="postgresql://user[:password]@host[:port]/database")
    parser.add_argument("directory", type=Path, help="where to create the sockets")
    parser.add_argument("--name", default="standalone")
    parser.add_argument("--size", type=int, default=10, help="server connections (default 10)")
    parser.add_argument("--borrow-timeout", type=float, default=5.0)
    args = parser.parse_args()
    secret = os.environ.get("STEPLINE_SECRET_KEY")  # shared by processes that share the pool's cap
    config = PoolConfig(
        args.name, Target.from_url(args.target), size=args.size, borrow_timeout=args.borrow_timeout,
        slot_secret=Sealer(secret).derive(SLOT_KEY_PURPOSE) if secret else process_secret(),
    )  # fmt: skip
    asyncio.run(serve(config, args.directory))


if __name__ == "__main__":
    main()
