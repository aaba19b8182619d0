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
