"""A function's output cannot exhaust the worker: bounded per line, per invocation and in memory,
processed in linear time, and START/END/REPORT are always kept (real sandboxes, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from foundation.registry import functions as registry
from foundation.registry.database import create_engine, session_maker, unit_of_work
from shell.embedded import free_port
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from tests.security.watch import watching
from workers.functions.logs import LogBook
from workers.functions.output import MAX_INVOCATION_BYTES, MAX_INVOCATION_LINES, MAX_LINE_BYTES, TRUNCATED
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

WRITER = """
import os, sys, time
def write(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
def many_lines(event, context):
    line = b"line %d\\n"
    write(b"".join(line % i for i in range(event["lines"])))
    return "done"
def long_line(event, context):
    chunk = b"x" * (1 << 20)
    for _ in range(event["mb"]):
        write(chunk)
    if event.get("newline"):
        write(b"\\nafter\\n")
    return "done"
def background(event, context):
    if not event:
        return poll()
    if os.fork() == 0:  # outlives the invocation: writes while the environment is idle (or thawed)
        line = b"y" * 1023 + b"\\n"
        block = line * 1024
        for _ in range(event["mb"]):
            write(block)
        open("/tmp/done", "w").close()
        os._exit(0)
    return "started"
def poll():
    deadline = time.time() + 0.5
    while time.time() < deadline and not os.path.exists("/tmp/done"):
        time.sleep(0.02)
    print("polled")
    return os.path.exists("/tmp/done")
"""


async def logs_of(service: FunctionService, name: str, request_id: str) -> list[str]:
    await service.logs.flush()
    async with service.sessions() as session:
        rows = await registry.read_logs(session, name, request_id=request_id, since=None, limit=1_000_000)
    return [row.message for row in rows]


def assert_framed(lines: list[str], request_id: str) -> None:
    """START first, END and REPORT last: whatever happened to the output in between."""
    assert lines[0].startswith(f"START RequestId: {request_id}"), lines[:3]
    assert lines[-2] == f"END RequestId: {request_id}", lines[-3:]
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}"), lines[-3:]


async def test_an_invocation_of_200000_lines_keeps_its_frame_and_says_what_was_cut(
    service: FunctionService,
) -> None:
    name = await deploy(service, unique("lines"), {"app.py": WRITER}, handler="app.many_lines", timeout=30)
    result = await call(service, name, {"lines": 200_000})
    assert body(result) == "done"
    lines = await logs_of(service, name, result.request_id)
    assert_framed(lines, result.request_id)
    output = lines[1:-2]
    assert output[0] == "line 0"
    assert len(output) <= MAX_INVOCATION_LINES + 1
    assert output[-1].startswith(TRUNCATED) and "not kept" in output[-1], output[-1]


async def test_a_100_mb_line_is_cut_at_256_kb_in_linear_time(service: FunctionService) -> None:
    name = await deploy(service, unique("line"), {"app.py": WRITER}, handler="app.long_line", timeout=60)
    async with watching() as watch:
        started = time.perf_counter()
        result = await call(service, name, {"mb": 100, "newline": True})
        elapsed = time.perf_counter() - started
    assert body(result) == "done"
    assert elapsed < 10, f"100 MB of output took {elapsed:.1f} s"
    assert watch.max_lag < 0.3, f"the event loop was blocked for {watch.max_lag:.2f} s"
    assert watch.rss_growth < 64 * 1024 * 1024, watch.rss_growth
    lines = await logs_of(service, name, result.request_id)
    assert_framed(lines, result.request_id)
    cut, after = lines[1], lines[2]
    assert cut == "x" * MAX_LINE_BYTES + f" {TRUNCATED}"
    assert after == "after"


async def test_a_line_without_a_newline_is_not_quadratic(service: FunctionService) -> None:
    name = await deploy(service, unique("line"), {"app.py": WRITER}, handler="app.long_line", timeout=60)
    async with watching() as watch:
        started = time.perf_counter()
        result = await call(service, name, {"mb": 100})
        elapsed = time.perf_counter() - started
    assert body(result) == "done"
    assert elapsed < 10, f"100 MB without a newline took {elapsed:.1f} s"
    assert watch.max_lag < 0.3, f"the event loop was blocked for {watch.max_lag:.2f} s"
    assert watch.rss_growth < 64 * 1024 * 1024, watch.rss_growth


async def test_a_background_writer_cannot_grow_the_worker(service: FunctionService) -> None:
    """200 MB written by a process the function left behind: memory stays bounded, every invocation
    is logged with its frame, and the log says how much was not kept."""
    name = await deploy(service, unique("bg"), {"app.py": WRITER}, handler="app.background", timeout=10)
    async with watching() as watch:
        started = await call(service, name, {"mb": 200})
        assert body(started) == "started"
        request_ids = []
        deadline = time.monotonic() + 90
        done = False
        while not done:
            assert time.monotonic() < deadline, "the background writer never finished"
            result = await call(service, name, {})  # the same (warm) environment polls
            request_ids.append(result.request_id)
            done = body(result) is True
    assert watch.rss_growth < 64 * 1024 * 1024, f"the worker grew by {watch.rss_growth >> 20} MB"
    logs = [await logs_of(service, name, rid) for rid in request_ids]
    for rid, lines in zip(request_ids, logs, strict=True):
        assert_framed(lines, rid)
        assert sum(len(line) for line in lines) < MAX_INVOCATION_BYTES + 64 * 1024
    assert any(TRUNCATED in line for lines in logs for line in lines)


PRINTER = """
def handler(event, context):
    for i in range(3):
        print(f"line {i} of {event['n']}")
    return event["n"]
"""


class Stack:
    """``stepline worker`` and ``stepline api`` in processes of their own (whichever of them runs the
    functions, both are SIGKILLed together), on one database, data directory and task queue."""

    def __init__(self, database_url: str, temporal_address: str, data_dir: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")},
            "STEPLINE_DATABASE_URL": database_url, "STEPLINE_TEMPORAL_ADDRESS": temporal_address,
            "STEPLINE_DATA_DIR": str(data_dir), "STEPLINE_API__PORT": self.url.rsplit(":", 1)[1],
            "STEPLINE_TEMPORAL__TASK_QUEUE": f"crash-{data_dir.parent.name}",
        }  # fmt: skip
        self.log = log
        self.processes: list[subprocess.Popen[bytes]] = []
        with open(log, "ab") as out:
            for command in ("worker", "api"):
                argv = [sys.executable, "-c", "from shell.cli import app; app()", command]
                self.processes.append(subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT))
        self._wait(lambda: httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200)

    def _wait(self, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while True:
            alive = all(process.poll() is None for process in self.processes)
            assert alive and time.monotonic() < deadline, self.log.read_text()[-3000:]
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    def first_call(self, name: str) -> None:
        """Until a worker is up to run it (the API may need one), then the function is warm."""
        url = f"{self.url}/v1/functions/{name}/invocations"
        self._wait(lambda: httpx.post(url, json={"n": -1}, timeout=30).status_code == 200)

    @property
    def pids(self) -> set[int]:
        return {process.pid for process in self.processes}

    def kill(self) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()


@pytest.fixture
def crash_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="stepline-crash-"))
    base.chmod(0o711)  # reachable by the sandbox users
    yield base
    shutil.rmtree(base, ignore_errors=True)


def logged(url: str, name: str, request_id: str) -> list[str]:
    events = httpx.get(f"{url}/v1/functions/{name}/logs", params={"requestId": request_id}, timeout=30)
    assert events.status_code == 200, events.text
    return [event["message"] for event in events.json()["events"]]


@pytest.mark.slow
def test_what_an_invocation_printed_survives_a_crash_right_after_it_returned(
    database_url: str, temporal_address: str, crash_dir: Path
) -> None:
    """Invocations answered, then the processes SIGKILLed before their next log batch: every START,
    line, END and REPORT of every answered invocation is readable once new processes have started."""
    data_dir, log = crash_dir / "data", crash_dir / "stack.log"
    first = Stack(database_url, temporal_address, data_dir, log)
    try:
        name = unique("printer")
        code = {"files": {"app.py": PRINTER}}
        created = httpx.post(f"{first.url}/v1/functions", json={"name": name, "runtime": "python3.11",
                             "handler": "app.handler", "code": code}, timeout=30)  # fmt: skip
        assert created.status_code == 201, created.text
        first.first_call(name)
        answered: dict[str, int] = {}
        with httpx.Client(base_url=first.url, timeout=30) as client:
            for n in range(20):
                response = client.post(f"/v1/functions/{name}/invocations", json={"n": n})
                assert response.status_code == 200 and response.json() == n, response.text
                answered[response.headers["x-amzn-requestid"]] = n
    finally:
        first.kill()  # right after the last response: well within one 0.25 s log batch
    second = Stack(database_url, temporal_address, data_dir, log)
    try:
        deadline = time.monotonic() + 20  # (replayed by whichever process flushes its logs first)
        for request_id, n in answered.items():
            while len(messages := logged(second.url, name, request_id)) < 6 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(messages) == 6, (n, messages)
            assert_framed(messages, request_id)
            assert messages[1:4] == [f"line {i} of {n}" for i in range(3)]
    finally:
        second.kill()
    owners = {int(path.name.split("-")[0]) for path in (data_dir / "logs").rglob("*") if path.is_file()}
    assert owners <= second.pids, owners  # the first processes' journals were replayed, then removed


CRASHING_WRITER = """
import os, sys
from datetime import UTC, datetime
from pathlib import Path
from workers.functions.logjournal import LogJournal
journal = LogJournal(Path(sys.argv[1]))
for request_id in sys.argv[3:]:
    journal.write(sys.argv[2], request_id, datetime.now(UTC), [f"START {request_id}", "out", "END", "REPORT"])
os._exit(0)  # no retire, no close: as if killed
"""


async def test_a_replayed_journal_adds_only_what_postgresql_lacks(database_url: str, tmp_path: Path) -> None:
    """A process died after its batch was committed but before it retired the batch's journal: the
    replay skips the invocations PostgreSQL has (no duplicates) and adds the others."""
    directory = tmp_path / "logs"
    committed, lost = str(uuid.uuid4()), str(uuid.uuid4())
    function = unique("f")
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WRITER, str(directory), function, committed, lost
    )
    assert await writer.wait() == 0
    engine = create_engine(database_url, 2)
    sessions = session_maker(engine)
    try:
        now = datetime.now(UTC)
        async with unit_of_work(sessions) as session:
            await registry.add_log_lines(
                session, [(function, committed, now, m) for m in ("START", "out", "END", "R")]
            )
        book = LogBook(sessions, journal=directory)
        await book.flush()
        await book.close()
        async with sessions() as session:
            rows = await registry.read_logs(session, function, request_id=None, since=None, limit=100)
        by_request = {rid: [r.message for r in rows if r.request_id == rid] for rid in (committed, lost)}
        assert by_request == {
            committed: ["START", "out", "END", "R"],
            lost: [f"START {lost}", "out", "END", "REPORT"],
        }
        assert list(directory.iterdir()) == []  # replayed and removed; this book's own, empty, too
    finally:
        await engine.dispose()


async def test_when_the_log_store_is_behind_every_invocation_keeps_its_frame(
    database_url: str, tmp_path: Path
) -> None:
    """Past ``max_buffer`` rows waiting for PostgreSQL, an invocation keeps START, a marker, END and
    REPORT (not nothing); past twice that, nothing more is kept until a batch is written."""
    engine = create_engine(database_url, 2)
    sessions = session_maker(engine)
    function = unique("behind")
    try:
        book = LogBook(sessions, max_buffer=10, journal=tmp_path / "logs")
        request_ids = [str(uuid.uuid4()) for _ in range(8)]
        for rid in request_ids:
            lines = [f"START {rid}", *(f"line {i}" for i in range(6)), "END", f"REPORT {rid}"]
            book.add(function, rid, lines)
        await book.flush()
        await book.close()
        async with sessions() as session:
            rows = await registry.read_logs(session, function, request_id=None, since=None, limit=1000)
        by_request = {rid: [r.message for r in rows if r.request_id == rid] for rid in request_ids}
        assert len(by_request[request_ids[0]]) == 9  # the first fits whole
        framed = by_request[request_ids[1]]
        assert framed[0] == f"START {request_ids[1]}" and framed[2:] == ["END", f"REPORT {request_ids[1]}"]
        assert framed[1].startswith(TRUNCATED) and "6 lines not kept" in framed[1]
        kept = [len(by_request[rid]) for rid in request_ids[2:]]
        assert kept == [4, 0, 0, 0, 0, 0]  # 9 + 4 + 4 + 4 > 2 * 10
    finally:
        await engine.dispose()
