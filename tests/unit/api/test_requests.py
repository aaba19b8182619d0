"""Requests the API refuses before touching PostgreSQL or Temporal: auth, malformed bodies.

The app runs without its lifespan here; only routes with no backing services are called.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from foundation.settings import Settings

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as client:
        yield client


@pytest.fixture
async def open_api() -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(Settings()):
        yield client


@pytest.fixture
async def guarded_api() -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(Settings(api_token=SecretStr("s3cret"))):
        yield client


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": "Basic s3cret"}, {"authorization": "s3cret"}],
    ids=["missing", "wrong", "other-scheme", "no-scheme"],
)
async def test_token_is_required_when_configured(
    guarded_api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await guarded_api.post(
        "/v1/state-machines/validate", json={"definition": PASS}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_right_token_passes(guarded_api: httpx.AsyncClient) -> None:
    response = await guarded_api.post(
        "/v1/state-machines/validate", json={"definition": PASS}, headers={"authorization": "Bearer s3cret"}
    )
    assert response.status_code == 200
    assert response.json()["result"] == "OK"


async def test_malformed_json_body_is_400_with_position(open_api: httpx.AsyncClient) -> None:
    response = await open_api.post(
        "/v1/state-machines/validate",
        content=b'{"definition": {',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid request" and "not valid JSON" in body["detail"]


async def test_missing_field_is_400_with_its_location(open_api: httpx.AsyncClient) -> None:
    response = await open_api.post("/v1/state-machines/validate", json={})
    assert response.status_code == 400
    assert response.json()["errors"][0]["location"] == "/definition"


async def test_unknown_field_is_400(open_api: httpx.AsyncClient) -> None:
    response = await open_api.post("/v1/state-machines/validate", json={"definition": PASS, "extra": 1})
    assert response.status_code == 400
    assert response.json()["errors"][0]["location"] == "/extra"


async def test_invalid_definition_is_fail_with_diagnostics(open_api: httpx.AsyncClient) -> None:
    response = await open_api.post("/v1/state-machines/validate", json={"definition": {"StartAt": "X"}})
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "FAIL"
    assert all({"severity", "code", "message", "location"} <= d.keys() for d in body["diagnostics"])


async def test_unknown_route_is_problem_json(open_api: httpx.AsyncClient) -> None:
    response = await open_api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
