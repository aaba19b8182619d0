"""``stepline api`` and ``stepline worker`` as separate processes: the API runs no function; its
direct invocations (``/v1`` and Lambda's Invoke), synchronous executions' Task states and a Standard
execution's Task states all run in the worker, with Lambda's semantics intact across the hop; a
worker killed mid-invocation fails it at once, and with no worker left the API says so (503)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from shell.embedded import free_port
from tests.integration.conftest import create_database, drop_database
from tests.integration.function_kit import requires_bwrap
from tests.integration.helpers import create_function, create_machine, start, unique, wait_until_done

pytestmark = [pytest.mark.integration, pytest.mark.slow, requires_bwrap]

CLI = [sys.executable, "-c", "from shell.cli import app; app()"]
HANDLER = """
import time

def handler(event, context):
    print("ran", event.get("n"))
    if event.get("fail"):
        raise ValueError("asked to fail")
    time.sleep(event.get("sleep", 0))
    return {"doubled": event.get("n", 0) * 2}
"""


@dataclass
class Deployment:
    """``stepline api`` and ``stepline worker`` on one database, data directory and task queue."""

    env: dict[str, str]
    url: str
    logs: Path
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None

    def start(self, role: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{role}.log", "ab")  # noqa: SIM115 - the child holds it
        process = subprocess.Popen([*CLI, role], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return process

    def log(self, role: str) -> str:
        return (self.logs / f"{role}.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        for process in (self.api, self.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_for(
    predicate: Any, what: str, process: subprocess.Popen[bytes], log: Any, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what}: the process exited\n{log()}"
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds:.0f} s\n{log()}")


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A database of this test's own: the API picks any live worker registered in its database."""
    from foundation.db import upgrade

    url = await create_database()
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(url)


@pytest.fixture
def deployment(database: str, temporal_address: str) -> Iterator[Deployment]:
    parent = Path(tempfile.mkdtemp(prefix="sl-split-"))
    parent.chmod(0o711)  # sandbox users reach the data directory
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")},
        "STEPLINE_DATA_DIR": str(parent / "data"),
        "STEPLINE_DATABASE_URL": database,
        "STEPLINE_TEMPORAL_ADDRESS": temporal_address,
        "STEPLINE_TEMPORAL__TASK_QUEUE": unique("split"),
        "STEPLINE_API__PORT": str(port),
    }
    deployment = Deployment(env, f"http://127.0.0.1:{port}", parent)
    try:
        deployment.worker = deployment.start("worker")
        wait_for(
            lambda: "invocations from the API at" in deployment.log("worker"), "the worker did not listen",
            deployment.worker, lambda: deployment.log("worker"),
        )  # fmt: skip
        deployment.api = deployment.start("api")
        wait_for(
            lambda: healthy(deployment.url),
            "the API was not healthy",
            deployment.api,
            lambda: deployment.log("api"),
        )
        yield deployment
    finally:
        deployment.stop()
        shutil.rmtree(parent, ignore_errors=True)


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below ``pid``, as (pid, command name), from /proc."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
        names[int(entry.name)] = name
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append((child, names.get(child, "?")))
        queue += children.get(child, [])
    return found


def lambda_client(url: str) -> Any:
    return boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )  # fmt: skip


async def test_the_worker_serves_what_the_api_hands_it_and_the_api_runs_no_sandbox(
    deployment: Deployment,
) -> None:
    assert deployment.api is not None and deployment.worker is not None
    async with httpx.AsyncClient(base_url=deployment.url, timeout=60) as api:
        name = await create_function(api, HANDLER, "split")
        invocations = f"/v1/functions/{name}/invocations"

        ran = await api.post(invocations, json={"n": 21}, headers={"X-Amz-Log-Type": "Tail"})
        assert ran.status_code == 200, ran.text
        assert ran.json() == {"doubled": 42}
        assert ran.headers["x-amz-executed-version"] == "$LATEST"
        assert "ran 21" in base64.b64decode(ran.headers["x-amz-log-result"]).decode()

        failed = await api.post(invocations, json={"fail": True})
        assert (failed.status_code, failed.headers["x-amz-function-error"]) == (200, "Unhandled")
        assert failed.json()["errorType"] == "ValueError"

        too_large = await api.post(invocations, content=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
        assert too_large.status_code == 413, too_large.text

        queued = await api.post(invocations, json={"n": 5}, headers={"X-Invocation-Type": "Event"})
        assert queued.status_code == 202, queued.text
        for _ in range(100):  # the worker runs the queued event; its log shows it (flushed on read)
            logs = (await api.get(f"/v1/functions/{name}/logs")).json()["events"]
            if any("ran 5" in e["message"] for e in logs):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the Event invocation did not run: {logs}")

        lam = lambda_client(deployment.url)
        answer = await asyncio.to_thread(lam.invoke, FunctionName=name, Payload=b'{"n": 4}', LogType="Tail")
        assert (answer["StatusCode"], answer["ExecutedVersion"]) == (200, "$LATEST")
        assert json.loads(answer["Payload"].read()) == {"doubled": 8}
        assert "ran 4" in base64.b64decode(answer["LogResult"]).decode()

        resource = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
        machine = await create_machine(api, task)  # a Standard machine: its Task runs in the worker
        done = await wait_until_done(api, (await start(api, machine, {"n": 7}))["executionId"])
        assert (done["status"], done["output"]) == ("SUCCEEDED", {"doubled": 14}), done
        express = await create_machine(
            api, task, type="EXPRESS"
        )  # interpreted in the API, Task in the worker
        sync = await api.post(f"/v1/state-machines/{express}/sync-executions", json={"input": {"n": 8}})
        assert (sync.json()["status"], sync.json()["output"]) == ("SUCCEEDED", {"doubled": 16}), sync.text

        response = await api.put(f"/v1/functions/{name}/concurrency", json={"reserved": 0})
        assert response.status_code == 200, response.text
        for _ in range(40):  # the API tells the worker after answering
            throttled = await api.post(invocations, json={})
            if throttled.status_code != 200:
                break
            await asyncio.sleep(0.05)
        assert throttled.status_code == 429, throttled.text
        assert throttled.headers["x-amzn-errortype"] == "TooManyRequestsException"

    api_children = descendants(deployment.api.pid)
    assert not [c for c in api_children if c[1] == "bwrap"], api_children
    worker_children = descendants(deployment.worker.pid)
    assert [c for c in worker_children if c[1] == "bwrap"], worker_children  # warm sandboxes live there


async def test_a_worker_killed_mid_invocation_fails_it_at_once_then_the_api_says_none_is_live(
    deployment: Deployment,
) -> None:
    assert deployment.worker is not None
    async with httpx.AsyncClient(base_url=deployment.url, timeout=60) as api:
        name = await create_function(api, HANDLER, "split")
        invocations = f"/v1/functions/{name}/invocations"
        assert (await api.post(invocations, json={"n": 1})).status_code == 200  # warm
        slow = asyncio.create_task(api.post(invocations, json={"n": 2, "sleep": 30}))
        await asyncio.sleep(1.0)
        assert not slow.done()
        deployment.worker.kill()
        started = time.monotonic()
        broken = await asyncio.wait_for(slow, 10)
        assert time.monotonic() - started < 5
        assert broken.status_code == 500, broken.text
        assert broken.headers["x-amzn-errortype"] == "ServiceException"
        assert "stopped before answering" in broken.json()["detail"], broken.text

        # the killed process may still be closing its sockets for a moment: a request that reaches one
        # of them breaks the same way (never resent); within seconds the API says none is live
        deadline = time.monotonic() + 5
        while (none := await api.post(invocations, json={"n": 3})).status_code == 500:
            assert "stopped before answering" in none.json()["detail"], none.text
            assert time.monotonic() < deadline, none.text
            await asyncio.sleep(0.1)
        assert none.status_code == 503, none.text
        assert "no live worker" in none.json()["detail"] and "stepline worker" in none.json()["detail"]

        lam = lambda_client(deployment.url)
        with pytest.raises(ClientError) as refused:
            await asyncio.to_thread(lam.invoke, FunctionName=name, Payload=b"{}")
        error = refused.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
            "ServiceException",
            503,
        )
        assert "no live worker" in error["Error"]["Message"]
