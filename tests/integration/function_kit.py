"""Fixtures and helpers for the function runtime's integration tests (real bubblewrap + PostgreSQL)."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from workers.functions.codestore import zip_files
from workers.functions.service import FunctionService

requires_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


@pytest.fixture
def fn_settings(database_url: str) -> Iterator[Settings]:
    """Settings with the migrated test database and a data directory of the test's own, reachable by
    the sandbox users (pytest's own temporary directories are private to root)."""
    data_dir = Path(tempfile.mkdtemp(prefix="stepline-test-"))
    data_dir.chmod(0o711)
    yield Settings(database_url=SecretStr(database_url), data_dir=data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def service(fn_settings: Settings) -> AsyncIterator[FunctionService]:
    async with FunctionService(fn_settings, config_cache_seconds=0.0, event_retry_delays=(0.2, 0.2)) as svc:
        await svc.pool.spares_ready()  # cold starts then claim spare sandboxes, the default path
        yield svc


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def deploy(
    service: FunctionService, name: str, files: Mapping[str, str], handler: str = "app.handler",
    runtime: str = "python3.11", **settings: Any,
) -> str:  # fmt: skip
    """Store the code and register the function (``$LATEST``); returns its name."""
    stored = service.code.put(zip_files(files))
    fields = registry.FunctionSettings(
        runtime=runtime, handler=handler, code_sha256=stored.sha256, code_size=stored.size, **settings
    )
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, fields)
    return name


async def call(service: FunctionService, name: str, event: Any = None, **kwargs: Any) -> FunctionResult:
    return await service.invoke(name, json.dumps(event).encode(), **kwargs)


def body(result: FunctionResult) -> Any:
    return json.loads(result.payload)
