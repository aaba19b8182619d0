"""Request and response bodies for function aliases (camelCase JSON, Lambda's field names)."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Schema


class RoutingConfig(Schema):
    additional_version_weights: dict[str, float] = Field(default_factory=dict)
    """{version: weight in [0, 1]}: the share of invocations that run that version instead."""


class AliasCreate(Schema):
    name: str = Field(min_length=1, max_length=128)
    function_version: str = Field(min_length=1, max_length=32)
    description: str = Field(default="", max_length=256)
    routing_config: RoutingConfig | None = None


class AliasUpdate(Schema):
    function_version: str | None = Field(default=None, min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=256)
    routing_config: RoutingConfig | None = None
    revision_id: str | None = None
    """When given, must be the alias's current revision (optimistic check: 412 otherwise)."""


class AliasPublic(Schema):
    alias_arn: str
    name: str
    function_version: str
    description: str
    routing_config: RoutingConfig
    revision_id: str
    provisioned_concurrency: int


class AliasList(Schema):
    aliases: list[AliasPublic]


class AliasConcurrency(Schema):
    provisioned: int = Field(ge=0, le=1000)
