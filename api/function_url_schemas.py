"""Request and response bodies of function URLs (camelCase JSON, Lambda's names)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas import Schema

AuthType = Literal["NONE", "AWS_IAM"]
InvokeMode = Literal["BUFFERED", "RESPONSE_STREAM"]


class Cors(Schema):
    """Lambda's ``Cors``: answered for the function (preflight ``OPTIONS`` too), whatever it returns."""

    allow_credentials: bool | None = None
    allow_headers: list[str] | None = Field(default=None, max_length=100)
    allow_methods: list[str] | None = Field(default=None, max_length=6)
    allow_origins: list[str] | None = Field(default=None, max_length=100)
    expose_headers: list[str] | None = Field(default=None, max_length=100)
    max_age: int | None = Field(default=None, ge=0, le=86400)


class FunctionUrlIn(Schema):
    """Create takes every member (``authType`` required); Update changes those given."""

    auth_type: AuthType | None = None
    cors: Cors | None = None
    invoke_mode: InvokeMode | None = None


class FunctionUrlPublic(Schema):
    function_url: str
    function_arn: str
    auth_type: AuthType
    cors: Cors | None
    invoke_mode: str
    creation_time: datetime
    last_modified_time: datetime


class FunctionUrlList(Schema):
    function_url_configs: list[FunctionUrlPublic]
