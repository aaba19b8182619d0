"""Routes for blueprints (thin): ``GET /v1/blueprints`` lists them, ``GET /v1/blueprints/{name}`` gives
one with its files, ready to become a function (``api.blueprints`` says what one holds)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import blueprints
from api.json_input import JsonRoute
from api.schemas import Schema

router = APIRouter(prefix="/v1/blueprints", tags=["functions"], route_class=JsonRoute)


class BlueprintSummary(Schema):
    name: str
    description: str
    runtime: str
    handler: str
    settings: dict[str, Any]
    url: dict[str, Any] | None
    event_source_mapping: dict[str, Any] | None
    sample_event: Any
    file_names: list[str]


class BlueprintPublic(BlueprintSummary):
    files: dict[str, str]


class BlueprintList(Schema):
    blueprints: list[BlueprintSummary]


def _summary(found: blueprints.Blueprint) -> dict[str, Any]:
    return {
        "name": found.name, "description": found.description, "runtime": found.runtime,
        "handler": found.handler, "settings": found.settings, "url": found.url,
        "event_source_mapping": found.event_source_mapping,
        "sample_event": found.sample_event, "file_names": sorted(found.files),
    }  # fmt: skip


@router.get("")
async def list_blueprints() -> BlueprintList:
    return BlueprintList(
        blueprints=[BlueprintSummary(**_summary(blueprints.load(n))) for n in blueprints.names()]
    )


@router.get("/{name}")
async def get_blueprint(name: str) -> BlueprintPublic:
    found = blueprints.load(name)
    return BlueprintPublic(**_summary(found), files=found.files)
