"""Function invocation speed: cold starts, warm invokes, throughput, and the floors they sit on.

    python bench/invoke.py [--json FILE] [--rounds N] [--no-http]

Everything goes through the public invoke path (``FunctionService.invoke``), with a real
PostgreSQL (a scratch database on ``STEPLINE_BENCH_ADMIN_URL``, default the local server) and real
bubblewrap sandboxes. Measured in the same run, interleaved so that machine load hits all alike:

- floors: a bare ``bwrap ... python3 -c pass`` (and with ``-S``, as the bootstrap starts), and a
  bare Unix-socket round trip of 1 KB of JSON between this event loop and another process;
- cold start (new environment to first response) and warm invoke, p50/p95, Python and Node.js (a
  Python one also where no spare sandbox fits: a full sandbox start), and a
  container-image function (``tests/image_builder``'s Python image: Debian's python3.11 with a small
  Runtime API client over ``socket``; goal: its cold start within 2x the Python zip function's),
  like for like in three situations:
  - ``image`` / ``python``: the function's environments all shut down (``retire``: a cold start
    after ``idle_seconds``), so both start from a spare sandbox of their kind;
  - ``image_no_spare`` / ``python_no_spare``: another /tmp size, which no spare fits: a full start;
  - ``image_deployed`` / ``python_deployed``: the first cold start after a deployment (a new
    configuration, the old environments retired, as UpdateFunctionConfiguration does) once the
    deployment is done (``LastUpdateStatus: Successful``, what the SDK waiters wait for): the image
    function's takes the environment its deployment prepared, the zip function's a spare;
    ``*_deployed_at_once``: invoked right after the deployment without waiting, the image
    function's waiting for the preparation under way;
  - ``image_burst`` / ``python_burst``: a second invocation arrives while the first holds the warm
    environment (0.5 s asleep), the function having cold-started before: the image function's
    takes the prepared environment its previous cold start left (``pool.prepared``), the zip
    function's a spare (zip functions get no prepared environment); ``image_prepared_claims``
    counts the rounds of the burst, deployed and at-once rows that took one (3 per round);
- warm invoke through the HTTP API (uvicorn on loopback, httpx client, same process), with the function
  runtime in the API process (``stepline dev``'s colocated path) and, interleaved with it, through an
  API that runs none (``stepline api``) and a ``stepline worker`` process behind it (the hop to the
  worker's invoke endpoint: ``split_minus_colocated_p50_ms``, goal <= 1 ms);
- throughput with 2, 8 and 32 concurrent callers;
- warm invoke of the Python function with one external extension registered for INVOKE (a layer's
  ``extensions/``, over urllib as AWS's samples do): the invocation ends once it asks for its next
  event (``warm_invoke_ms.python_one_invoke_extension``, beside ``python`` without one).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from workers.functions.codestore import zip_files
from workers.functions.images.store import ImageStore
from workers.functions.sandbox import python_executable
from workers.functions.service import FunctionService

ADMIN_URL = os.environ.get("STEPLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
EVENT = json.dumps({"data": "x" * 1000}).encode()[:1024]
PYTHON_HELLO = {"app.py": "def handler(event, context):\n    return {'hello': 'world'}\n"}
PYTHON_SLEEPY = {
    "app.py": "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n"
}
"""The Python function of the burst rows: the holding invocation sleeps."""
NODE_HELLO = {"index.js": "exports.handler = async () => ({ hello: 'world' });\n"}
ECHO_SERVER = """
import socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1]); server.listen(1)
print("ready", flush=True)
conn, _ = server.accept()
while True:
    data = conn.recv(65536)
    if not data:
        break
    conn.sendall(data)
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "n": len(ordered),
    }


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


def bare_bwrap(args: list[str]) -> float:
    """One bare sandbox spawn: read-only /usr and interpreter, fresh namespaces, ``python3 args``."""
    prefix = str(Path(sys.base_prefix).resolve())
    cmd = ["bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64",
           "/lib64", "--symlink", "usr/bin", "/bin", "--ro-bind", prefix, prefix, "--proc", "/proc",
           "--dev", "/dev", "--tmpfs", "/tmp", "--unshare-all", "--die-with-parent", "--clearenv",
           str(python_executable()), *args]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return (time.perf_counter() - started) * 1000


@asynccontextmanager
async def echo_peer(directory: Path) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A Unix-socket echo server in another process, connected."""
    path = str(directory / "echo.sock")
    peer = await asyncio.create_subprocess_exec(
        sys.executable, "-S", "-c", ECHO_SERVER, path, stdout=asyncio.subprocess.PIPE
    )
    assert peer.stdout is not None
    await peer.stdout.readline()
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        yield reader, writer
    finally:
        writer.close()
        await peer.wait()


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    from foundation.db import upgrade

    name = f"stepline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def deploy(
    service: FunctionService, runtime: str, files: dict[str, str], handler: str, tmp_mb: int = 512
) -> str:
    """A zip function (``tmp_mb`` other than 512: one no spare sandbox fits, its cold start a full one)."""
    name = f"bench-{runtime.replace('.', '')}-{uuid.uuid4().hex[:6]}"
    stored = service.code.put(zip_files(files))
    settings = registry.FunctionSettings(
        runtime=runtime, handler=handler, code_sha256=stored.sha256, code_size=stored.size,
        ephemeral_storage=tmp_mb,
    )  # fmt: skip
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, settings)
    return name


def image_archive(work: Path) -> Path:
    """The test builder's Python image, as an OCI layout tar."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: its tests/ package
    from tests import image_builder

    files = image_builder.layout_files(image_builder.python_image(), "bench:1")
    return image_builder.write_tar(files, work / "image.tar")


async def deploy_image(service: FunctionService, work: Path, tmp_mb: int = 512) -> str:
    """An Image function of the test builder's Python image (``tmp_mb`` other than 512: no spare)."""
    archive = work / "image.tar"
    if not archive.exists():
        await asyncio.to_thread(image_archive, work)
    imported = await asyncio.to_thread(ImageStore.beside(service.code).import_archive, archive)
    name = f"bench-image-{uuid.uuid4().hex[:6]}"
    settings = registry.FunctionSettings(
        runtime="",
        handler="",
        package_type="Image",
        code_sha256=imported.digest[7:],
        code_size=imported.size,
        ephemeral_storage=tmp_mb,
    )
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, settings)
    return name


EXTENSION = """#!{python} -S
import os, urllib.request
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
def call(method, path, body=None, headers=None):
    url = f"http://{{API}}{{path}}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {{}})
    with urllib.request.urlopen(request) as answer:
        return answer.headers, answer.read()
registered, _ = call("POST", "/2020-01-01/extension/register", b'{{"events": ["INVOKE"]}}',
                     {{"Lambda-Extension-Name": "bench-extension"}})
me = {{"Lambda-Extension-Identifier": registered["Lambda-Extension-Identifier"]}}
while True:
    call("GET", "/2020-01-01/extension/event/next", headers=me)
"""


async def deploy_with_extension(service: FunctionService) -> str:
    """The Python hello function with a layer holding one extension registered for INVOKE."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("extensions/bench-extension")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(info, EXTENSION.format(python=python_executable()))
    layer = service.code.put(buffer.getvalue())
    name = f"bench-extension-{uuid.uuid4().hex[:6]}"
    stored = service.code.put(zip_files(PYTHON_HELLO))
    layers = [{"arn": f"arn:aws:lambda:us-east-1:000000000000:layer:{name}:1", "sha256": layer.sha256,
               "size": layer.size, "unzippedSize": layer.size}]  # fmt: skip
    settings = registry.FunctionSettings(
        runtime="python3.11", handler="app.handler", code_sha256=stored.sha256, code_size=stored.size,
        layers=layers,
    )  # fmt: skip
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, settings)
    return name


async def burst_cold_start(service: FunctionService, name: str) -> float:
    """A cold start while the function's warm environment is busy: the function cold-starts once
    (untimed; what it leaves behind is made), then one invocation sleeps in that environment while
    the timed one starts."""
    await service.pool.retire(name)
    await service.invoke(name, EVENT)
    await service.pool.spares_ready()
    holder = asyncio.create_task(service.invoke(name, json.dumps({"sleep": 0.5}).encode()))
    for _ in range(5000):  # until the holder has taken the warm environment
        if service.pool.in_use(name) or holder.done():
            break
        await asyncio.sleep(0.002)
    try:
        return await timed(lambda: service.invoke(name, EVENT))
    finally:
        await holder


async def redeploy(service: FunctionService, name: str, version: int, *, wait: bool) -> None:
    """A deployment as the API makes one: a new configuration (``DEPLOYMENT`` = ``version``), the old
    environments retired, and the new configuration's environment prepared (image functions):
    ``wait``: until it is (a client waiting for the update to succeed, as the SDK waiters do), else
    only started (a client invoking at once)."""
    async with unit_of_work(service.sessions) as session:
        await registry.update_function(session, name, {"environment": {"DEPLOYMENT": str(version)}})
    await service.forget(name, retire=True)
    if wait:
        await service.prepare(name)
    else:
        service.pool.prepare(await service.resolve(name, None))


async def throughput(service: FunctionService, name: str, callers: int, seconds: float) -> float:
    """Invocations per second with ``callers`` concurrent callers (environments warmed first)."""
    await asyncio.gather(*(service.invoke(name, EVENT) for _ in range(callers)))
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await service.invoke(name, EVENT)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return round(done / (time.perf_counter() - started), 1)


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[int]:
    """``app`` under uvicorn on a loopback port of its own, in this process; yields the port."""
    import uvicorn

    from shell.embedded import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # its failure
        await asyncio.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        await serving


@asynccontextmanager
async def worker_process(settings: Settings) -> AsyncIterator[None]:
    """``stepline worker`` in a process of its own, on ``settings`` (its invoke endpoint listening)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")}
    env |= {
        "STEPLINE_DATA_DIR": str(settings.data_dir),
        "STEPLINE_DATABASE_URL": settings.database.url.get_secret_value(),
        "STEPLINE_TEMPORAL_ADDRESS": settings.temporal.address,
        "STEPLINE_TEMPORAL__TASK_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
    }
    command = [sys.executable, "-c", "from shell.cli import app; app()", "worker"]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    drain: asyncio.Task[bytes] | None = None
    try:
        seen = b""
        while b"invocations from the API at" not in seen:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if not line:
                raise RuntimeError(f"stepline worker exited: {seen.decode(errors='replace')}")
            seen += line
        drain = asyncio.create_task(process.stdout.read())  # keeps its pipe from filling
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        if drain is not None:
            await drain


class RawClient:
    """A minimal keep-alive HTTP/1.1 client: shows the API's own cost without httpx's."""

    def __init__(self, port: int, url: str) -> None:
        self.port = port
        self.request = (
            f"POST {url} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(EVENT)}\r\n\r\n"
        ).encode() + EVENT

    async def __aenter__(self) -> RawClient:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def post(self) -> None:
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"the API answered {head[:60]!r}")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await self.reader.readexactly(length)


async def http_warm(settings: Settings, name: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Warm invokes through the HTTP API, interleaved: ``colocated`` (the runtime in the API process)
    and ``split`` (an API without one, handing invocations to a ``stepline worker`` process)."""
    import httpx

    from api.app import create_app

    url = f"/v1/functions/{name}/invocations"
    samples: dict[str, dict[str, list[float]]] = {
        kind: {"httpx_client": [], "raw_keepalive_client": []} for kind in ("colocated", "split")
    }
    async with (
        served(create_app(settings)) as colocated_port,
        worker_process(settings),
        served(create_app(settings, functions="remote")) as split_port,
    ):
        ports = {"colocated": colocated_port, "split": split_port}
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{colocated_port}") as colocated_httpx,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{split_port}") as split_httpx,
            RawClient(ports["colocated"], url) as colocated_raw,
            RawClient(ports["split"], url) as split_raw,
        ):
            clients = {"colocated": (colocated_httpx, colocated_raw), "split": (split_httpx, split_raw)}
            for http, raw in clients.values():
                for _ in range(5):
                    (await http.post(url, content=EVENT)).raise_for_status()
                    await raw.post()
            for _ in range(rounds):
                for kind, (http, raw) in clients.items():
                    samples[kind]["httpx_client"].append(
                        await timed(lambda h=http: h.post(url, content=EVENT))  # type: ignore[misc]
                    )
                    samples[kind]["raw_keepalive_client"].append(await timed(raw.post))
    return samples


@contextmanager
def temporal() -> Iterator[str]:
    """STEPLINE_TEMPORAL_ADDRESS, or a dev server for the run (the API's lifespan connects to it)."""
    from shell.embedded import temporal_dev_server

    existing = os.environ.get("STEPLINE_TEMPORAL_ADDRESS")
    if existing:
        yield existing
        return
    with temporal_dev_server() as address:
        yield address


async def run(rounds: int, with_http: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": rounds, "load_average": os.getloadavg()[0]}
    work = Path(tempfile.mkdtemp(prefix="stepline-bench-"))
    os.chmod(work, 0o711)  # reachable by the sandbox users: sandboxes run unprivileged, as in production
    try:
        async with scratch_database() as url:
            settings = Settings(database_url=SecretStr(url), data_dir=work / "data")
            async with FunctionService(settings, run_events=False) as service:
                results["sandbox_user"] = (
                    "unprivileged uid 993" if service.unprivileged else "root mapped to 993"
                )
                python = await deploy(service, "python3.11", PYTHON_HELLO, "app.handler")
                node = await deploy(service, "nodejs20", NODE_HELLO, "index.handler")
                unspared = await deploy(service, "python3.11", PYTHON_HELLO, "app.handler", tmp_mb=513)
                image = await deploy_image(service, work)
                image_unspared = await deploy_image(service, work, tmp_mb=513)
                image_burst = await deploy_image(service, work)
                python_burst = await deploy(service, "python3.11", PYTHON_SLEEPY, "app.handler")
                extended = await deploy_with_extension(service)
                floors: dict[str, list[float]] = {"bwrap_python_c_pass": [], "bwrap_python_S_c_pass": []}
                cold: dict[str, list[float]] = {
                    "python": [], "node": [], "python_no_spare": [], "image": [], "image_no_spare": [],
                    "python_burst": [], "image_burst": [], "python_deployed": [], "image_deployed": [],
                    "python_deployed_at_once": [], "image_deployed_at_once": [],
                }  # fmt: skip
                prepared_before = service.pool.prepared_claimed
                for _ in range(max(rounds // 10, 10)):
                    await service.pool.spares_ready()  # the refill after a claim is not timed with a floor
                    floors["bwrap_python_c_pass"].append(await asyncio.to_thread(bare_bwrap, ["-c", "pass"]))
                    floors["bwrap_python_S_c_pass"].append(
                        await asyncio.to_thread(bare_bwrap, ["-S", "-c", "pass"])
                    )
                    kinds = (
                        ("python", python),
                        ("node", node),
                        ("python_no_spare", unspared),
                        ("image", image),
                        ("image_no_spare", image_unspared),
                    )
                    for label, name in kinds:
                        await service.pool.retire(name)
                        cold[label].append(await timed(lambda n=name: service.invoke(n, EVENT)))  # type: ignore[misc]
                    for label, name in (("python_burst", python_burst), ("image_burst", image_burst)):
                        await service.pool.spares_ready()
                        cold[label].append(await burst_cold_start(service, name))
                    for label, name in (("python_deployed", python), ("image_deployed", image)):
                        await redeploy(service, name, len(cold[label]), wait=True)
                        await service.pool.spares_ready()  # (the zip function's spare refilled)
                        cold[label].append(await timed(lambda n=name: service.invoke(n, EVENT)))  # type: ignore[misc]
                    for label, name in (
                        ("python_deployed_at_once", python),
                        ("image_deployed_at_once", image),
                    ):
                        await service.pool.spares_ready()
                        await redeploy(service, name, len(cold[label]) + 10**6, wait=False)
                        cold[label].append(await timed(lambda n=name: service.invoke(n, EVENT)))  # type: ignore[misc]
                results["image_prepared_claims"] = service.pool.prepared_claimed - prepared_before
                socket_rtt: list[float] = []
                warm: dict[str, list[float]] = {
                    "python": [], "node": [], "image": [], "python_one_invoke_extension": [],
                }  # fmt: skip
                async with echo_peer(work) as (reader, writer):
                    for _ in range(rounds):

                        async def round_trip() -> None:
                            writer.write(EVENT)
                            await reader.readexactly(len(EVENT))

                        socket_rtt.append(await timed(round_trip))
                        warm["python"].append(await timed(lambda: service.invoke(python, EVENT)))
                        warm["node"].append(await timed(lambda: service.invoke(node, EVENT)))
                        warm["image"].append(await timed(lambda: service.invoke(image, EVENT)))
                        warm["python_one_invoke_extension"].append(
                            await timed(lambda: service.invoke(extended, EVENT))
                        )
                results["floors_ms"] = {k: percentiles(v) for k, v in floors.items()}
                results["floors_ms"]["unix_socket_rtt_1kb"] = percentiles(socket_rtt)
                results["cold_start_ms"] = {k: percentiles(v) for k, v in cold.items()}
                results["warm_invoke_ms"] = {k: percentiles(v) for k, v in warm.items()}
                results["throughput_per_s"] = {
                    f"python_{n}_callers": await throughput(service, python, n, 2.0) for n in (2, 8, 32)
                }
            if with_http:
                with temporal() as address:
                    api_settings = settings.model_copy(update={"temporal_address": address})
                    api_settings.temporal.address = address
                    samples = await http_warm(api_settings, python, rounds)
                results["http_warm_invoke_ms"] = {
                    f"python_{k}": percentiles(v) for k, v in samples["colocated"].items()
                }
                results["http_warm_invoke_split_ms"] = {
                    f"python_{k}": percentiles(v) for k, v in samples["split"].items()
                }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor = results["floors_ms"]
    split = {
        f"split_minus_colocated_p50_ms_{client}": round(
            results["http_warm_invoke_split_ms"][f"python_{client}"]["p50"]
            - results["http_warm_invoke_ms"][f"python_{client}"]["p50"],
            3,
        )
        for client in ("httpx_client", "raw_keepalive_client")
        if with_http
    }
    results["goals"] = {
        **split,
        "warm_p50_minus_socket_rtt_ms": round(
            results["warm_invoke_ms"]["python"]["p50"] - floor["unix_socket_rtt_1kb"]["p50"], 3
        ),
        "image_cold_p50_over_python_zip_cold_p50": round(
            results["cold_start_ms"]["image"]["p50"] / results["cold_start_ms"]["python"]["p50"], 2
        ),
        "image_cold_p50_over_python_zip_cold_p50_in_a_burst": round(
            results["cold_start_ms"]["image_burst"]["p50"] / results["cold_start_ms"]["python_burst"]["p50"],
            2,
        ),
        "image_cold_p50_over_python_zip_cold_p50_after_a_deployment": round(
            results["cold_start_ms"]["image_deployed"]["p50"]
            / results["cold_start_ms"]["python_deployed"]["p50"],
            2,
        ),
        "image_cold_p50_over_python_zip_cold_p50_invoked_as_deployed": round(
            results["cold_start_ms"]["image_deployed_at_once"]["p50"]
            / results["cold_start_ms"]["python_deployed_at_once"]["p50"],
            2,
        ),
        "image_cold_p50_over_python_zip_cold_p50_without_spare": round(
            results["cold_start_ms"]["image_no_spare"]["p50"]
            / results["cold_start_ms"]["python_no_spare"]["p50"],
            2,
        ),
        "cold_p50_over_bwrap_python_c_pass": round(
            results["cold_start_ms"]["python"]["p50"] / floor["bwrap_python_c_pass"]["p50"], 2
        ),
        "cold_p50_over_bwrap_python_S_c_pass": round(
            results["cold_start_ms"]["python"]["p50"] / floor["bwrap_python_S_c_pass"]["p50"], 2
        ),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--rounds", type=int, default=300, help="warm invocations per kind (default 300)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP API (it needs Temporal)")
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        sys.exit("bench/invoke.py needs bubblewrap (bwrap)")
    results = asyncio.run(run(args.rounds, not args.no_http))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
