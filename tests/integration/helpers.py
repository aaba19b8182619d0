"""Small helpers for the API integration tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create_machine(api: httpx.AsyncClient, definition: dict[str, Any], **extra: Any) -> str:
    name = unique("sm")
    response = await api.post("/v1/state-machines", json={"name": name, "definition": definition, **extra})
    assert response.status_code == 201, response.text
    return name


async def create_function(api: httpx.AsyncClient, code: str, prefix: str = "fn") -> str:
    """A Python function (``app.handler`` in ``code``) created through ``/v1``; its unique name."""
    name = unique(prefix)
    body = {
        "name": name,
        "runtime": "python3.11",
        "handler": "app.handler",
        "code": {"files": {"app.py": code}},
    }
    response = await api.post("/v1/functions", json=body)
    assert response.status_code == 201, response.text
    return name


async def start(api: httpx.AsyncClient, machine: str, input: Any = None, **extra: Any) -> dict[str, Any]:
    response = await api.post(f"/v1/state-machines/{machine}/executions", json={"input": input, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_until_done(api: httpx.AsyncClient, execution_id: str, seconds: float = 30) -> dict[str, Any]:
    """Poll until the execution leaves RUNNING."""
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = (await api.get(f"/v1/executions/{execution_id}")).json()
        if body["status"] != "RUNNING":
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"still running after {seconds} s: {body['executionId']}")
        await asyncio.sleep(0.05)


async def all_history(
    api: httpx.AsyncClient, execution_id: str, limit: int = 100, **params: Any
) -> list[Any]:
    """Every event, following nextToken."""
    events: list[Any] = []
    token = None
    while True:
        query = {"limit": limit, **params} | ({"nextToken": token} if token else {})
        response = await api.get(f"/v1/executions/{execution_id}/history", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events
