"""Request and response bodies for state machine aliases on ``/v1`` (camelCase JSON).

Versions are published version numbers (the ``N`` of ``...:stateMachine:NAME:N``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas import Schema


class Route(Schema):
    version: int = Field(ge=1, le=2**31 - 1)
    """A published version number."""
    weight: int = Field(ge=0, le=100)


class MachineAliasCreate(Schema):
    name: str = Field(min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=256)
    routing: list[Route] = Field(min_length=1, max_length=2)


class MachineAliasUpdate(Schema):
    description: str | None = Field(default=None, max_length=256)
    routing: list[Route] | None = Field(default=None, min_length=1, max_length=2)


class MachineAliasPublic(Schema):
    name: str
    alias_arn: str
    state_machine: str
    description: str | None
    routing: list[Route]
    creation_date: datetime
    update_date: datetime


class MachineAliasList(Schema):
    aliases: list[MachineAliasPublic]
    next_token: str | None = None
