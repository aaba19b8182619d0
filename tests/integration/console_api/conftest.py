"""The API served for real (uvicorn on a loopback port, a worker in the process, a bearer token), so
that streams are read as a browser's ``fetch`` reads them: chunk by chunk, while executions run."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from foundation.settings import Settings
from tests.integration.aws.server import ServerThread

TOKEN = "console-test-token"


@pytest.fixture(scope="module")
def console_url(database_url: str, temporal_address: str) -> Iterator[str]:
    """The API and its worker on a task queue of this module's own, requiring ``TOKEN``."""
    data_dir = Path(tempfile.mkdtemp(prefix="stepline-console-"))
    data_dir.chmod(0o711)  # sandbox users reach it (pytest's temporary directories are root's only)
    settings = Settings(
        database_url=SecretStr(database_url),
        temporal_address=temporal_address,
        data_dir=data_dir,
        temporal={"task_queue": f"console-{uuid.uuid4().hex[:12]}"},
        sandbox={"spare_environments": 0},
        api={"token": SecretStr(TOKEN)},
        worker={"metric_sample_seconds": 0.5},
    )
    try:
        with ServerThread(settings) as url:
            yield url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def console(console_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending the token as the console does (``Authorization: Bearer``)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=console_url, headers=headers, timeout=60) as client:
        yield client
