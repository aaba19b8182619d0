"""Liveness and readiness (``/healthz``) and Prometheus metrics (``/metrics``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api import schemas
from api.deps import StateDep
from api.json_input import JsonRoute

router = APIRouter(tags=["health"], route_class=JsonRoute)

CHECK_TIMEOUT = 2.0


@router.get("/healthz", response_model=schemas.Health)
async def health(state: StateDep) -> JSONResponse:
    """200 when PostgreSQL and Temporal both answer, 503 (same body) otherwise."""

    async def database() -> str:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return "ok"

    async def temporal() -> str:
        await state.temporal.service_client.check_health()
        return "ok"

    results: dict[str, str] = {}
    for name, check in (("database", database), ("temporal", temporal)):
        try:
            results[name] = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except (OSError, RuntimeError, TimeoutError) as exc:
            results[name] = f"unavailable: {exc.__class__.__name__}: {exc}"[:300]
    ok = all(v == "ok" for v in results.values())
    body = schemas.Health(status="ok" if ok else "degraded", **results)
    return JSONResponse(body.model_dump(by_alias=True), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    await state.metrics.event_rules.refresh(state.sessions)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
