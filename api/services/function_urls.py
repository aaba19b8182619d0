"""Function URL use cases: create, get, update, delete, list (Lambda's FunctionUrlConfig).

A URL belongs to a function unqualified or to one of its aliases (not a version, as Lambda rules),
lives at ``{base}/lambda-url/{url-id}/`` on Stepline's own port (``api.function_url_server``
serves it) and is deleted with its function. ``BUFFERED`` is the only invoke mode served.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from api import function_url_schemas as schemas
from foundation.errors import InvalidRequest
from foundation.registry import aliases, function_urls
from foundation.registry import functions as function_registry
from foundation.registry.functions import LATEST
from statemachine import function_arn

PATH_PREFIX = "/lambda-url/"
"""Function URLs' paths: ``/lambda-url/{url-id}/{the function's path}``; no /v1, console or AWS
route starts so."""


def is_function_url(path: str) -> bool:
    """Whether ``path`` is a function URL's (each URL decides who may call it)."""
    return path.startswith(PATH_PREFIX)


def _invalid(location: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "message": message, "code": "InvalidParameterValueException"}]
    )


async def _check_target(session: AsyncSession, function: str, qualifier: str | None) -> None:
    await function_registry.get_function(session, function)
    if qualifier in (None, LATEST):
        return
    if not aliases.is_alias(qualifier):
        raise _invalid("/qualifier", "A function URL belongs to a function or an alias, not a version.")
    assert qualifier is not None
    try:
        await aliases.get_alias(session, function, qualifier)
    except aliases.AliasNotFound:
        raise function_registry.FunctionNotFound(function, qualifier) from None


def _check_mode(mode: str | None) -> None:
    if mode == "RESPONSE_STREAM":
        raise _invalid(
            "/invokeMode", "InvokeMode RESPONSE_STREAM is not supported by Stepline: use BUFFERED."
        )


def url_of(row: function_urls.FunctionUrl, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{PATH_PREFIX}{row.url_id}/"


def public(row: function_urls.FunctionUrl, base_url: str, region: str) -> schemas.FunctionUrlPublic:
    return schemas.FunctionUrlPublic(
        function_url=url_of(row, base_url),
        function_arn=function_arn(
            row.function_name, row.qualifier if row.qualifier != LATEST else None, region
        ),
        auth_type=row.auth_type,
        cors=schemas.Cors.model_validate(row.cors) if row.cors is not None else None,
        invoke_mode=row.invoke_mode,
        creation_time=row.created_at,
        last_modified_time=row.last_modified,
    )


def _cors(cors: schemas.Cors | None) -> dict[str, object] | None:
    return cors.model_dump(exclude_none=True) if cors is not None else None


async def create_url(
    session: AsyncSession, function: str, qualifier: str | None, body: schemas.FunctionUrlIn, base_url: str,
    region: str,
) -> schemas.FunctionUrlPublic:  # fmt: skip
    if body.auth_type is None:
        raise _invalid("/authType", "AuthType is required: NONE or AWS_IAM.")
    _check_mode(body.invoke_mode)
    await _check_target(session, function, qualifier)
    row = await function_urls.create_url(
        session, function, qualifier, body.auth_type, _cors(body.cors), body.invoke_mode or "BUFFERED"
    )
    return public(row, base_url, region)


async def get_url(
    session: AsyncSession, function: str, qualifier: str | None, base_url: str, region: str
) -> schemas.FunctionUrlPublic:
    await _check_target(session, function, qualifier)
    return public(await function_urls.get_url(session, function, qualifier), base_url, region)


async def update_url(
    session: AsyncSession, function: str, qualifier: str | None, body: schemas.FunctionUrlIn, base_url: str,
    region: str,
) -> schemas.FunctionUrlPublic:  # fmt: skip
    _check_mode(body.invoke_mode)
    await _check_target(session, function, qualifier)
    row = await function_urls.get_url(session, function, qualifier, for_update=True)
    if body.auth_type is not None:
        row.auth_type = body.auth_type
    if "cors" in body.model_fields_set:
        row.cors = _cors(body.cors)
    if body.invoke_mode is not None:
        row.invoke_mode = body.invoke_mode
    row.last_modified = function_registry.utcnow()
    session.add(row)
    await session.flush()
    return public(row, base_url, region)


async def delete_url(session: AsyncSession, function: str, qualifier: str | None) -> None:
    await _check_target(session, function, qualifier)
    await function_urls.delete_url(session, function, qualifier)


async def list_urls(
    session: AsyncSession, function: str, base_url: str, region: str
) -> schemas.FunctionUrlList:
    await function_registry.get_function(session, function)
    rows = await function_urls.list_urls(session, function)
    return schemas.FunctionUrlList(function_url_configs=[public(r, base_url, region) for r in rows])
