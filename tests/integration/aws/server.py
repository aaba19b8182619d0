"""The real API on a loopback port for synchronous clients (boto3, the AWS CLI, subprocesses).

uvicorn and a worker inside the API process (``ColocatedWorker``, as ``stepline dev`` runs it) run in
a thread with an event loop of their own, so a test can block in a boto3 call while executions run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from pydantic import SecretStr

from api.app import create_app
from api.colocated_worker import ColocatedWorker
from foundation.settings import Settings
from shell.embedded import free_port

START_SECONDS = 60.0


@contextlib.contextmanager
def own_settings(database_url: str, temporal_address: str, name: str, **fields: Any) -> Iterator[Settings]:
    """Settings for an API a module serves: a data directory of its own that the sandbox users reach
    (pytest's temporary directories are root's only; removed afterwards) and a task queue named
    after ``name``; ``fields`` add the rest (``sandbox``, ``api``, ...)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"stepline-{name}-"))
    data_dir.chmod(0o711)
    try:
        yield Settings(
            database_url=SecretStr(database_url), temporal_address=temporal_address, data_dir=data_dir,
            temporal={"task_queue": f"{name}-{uuid.uuid4().hex[:12]}"}, **fields,
        )  # fmt: skip
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class _Server(uvicorn.Server):
    """uvicorn without signal handlers (the test owns the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServerThread:
    """``with ServerThread(settings) as url:`` the API, with a worker, at ``url`` until the block ends."""

    def __init__(self, settings: Settings, port: int | None = None, *, worker: bool = True) -> None:
        """``worker=False``: the API alone (workers run elsewhere, e.g. in processes a test kills)."""
        self.port = port or free_port()
        app = create_app(settings, worker=ColocatedWorker() if worker else None)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = _Server(config)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"api-{self.port}", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # reported by __enter__ (a failed lifespan exits this way)
            self._failure = exc

    def __enter__(self) -> str:
        self._thread.start()
        self._thread.join(0.05)
        deadline = threading.Event()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the API did not start: {self._failure!r}")
            if waited > START_SECONDS:
                raise RuntimeError(f"the API did not start within {START_SECONDS:.0f} s")
            deadline.wait(0.05)
            waited += 0.05
        return f"http://127.0.0.1:{self.port}"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(30)
