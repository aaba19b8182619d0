"""Request and response bodies for layers (camelCase JSON, Lambda's field names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.function_schemas import FunctionCode
from api.schemas import Schema


class LayerPublish(Schema):
    content: FunctionCode
    """The layer's zip (base64 ``zipFile``) or a ``files`` map; unpacked under /opt in a function."""
    description: str = Field(default="", max_length=256)
    compatible_runtimes: list[str] = Field(default_factory=list, max_length=15)
    compatible_architectures: list[str] = Field(default_factory=list, max_length=2)
    license_info: str | None = Field(default=None, max_length=512)


class LayerContent(Schema):
    code_sha256: str
    code_size: int
    unzipped_size: int
    signing_profile_version_arn: str | None = None
    """The profile whose signature the zip carries (checked when a function under code signing uses it)."""


class LayerVersionPublic(Schema):
    layer_name: str
    layer_arn: str
    layer_version_arn: str
    version: int
    description: str
    created_date: datetime
    compatible_runtimes: list[str]
    compatible_architectures: list[str]
    license_info: str | None
    content: LayerContent


class LayerVersionList(Schema):
    layer_versions: list[LayerVersionPublic]


class LayerPermissionAdd(Schema):
    statement_id: str = Field(min_length=1, max_length=100)
    action: str = Field(max_length=22)
    """``lambda:GetLayerVersion`` (the only action a layer grants)."""
    principal: str = Field(max_length=256)
    """An account id, an account's root ARN, or ``*`` (with ``organizationId``: its accounts)."""
    organization_id: str | None = Field(default=None, max_length=34)
    revision_id: str | None = Field(default=None, max_length=36)
    """The policy's current revision (else 409): optimistic concurrency, as Lambda's."""


class LayerPermissionAdded(Schema):
    statement: str
    """The statement added, as JSON text (Lambda's shape)."""
    revision_id: str


class LayerPolicy(Schema):
    policy: str
    """The policy document as JSON text (``{"Version": "2012-10-17", "Id": "default", "Statement"}``)."""
    revision_id: str
