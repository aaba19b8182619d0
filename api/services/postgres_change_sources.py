"""PostgreSQL table change sources of event source mappings: the source ARN, and the change outbox
installed in (and dropped from) the user's database with a db proxy's credentials.

``EventSourceArn`` ``arn:aws:postgres:REGION:ACCOUNT:db-proxy/PROXY/table/[SCHEMA.]TABLE[/stream/VIEW]``:
PROXY names a db proxy (its target URL holds the database and the role the outbox is installed as),
SCHEMA (default ``public``) and TABLE are taken exactly as written (letters, digits and ``_``; no
quoting needed or allowed) and VIEW is DynamoDB's ``StreamViewType`` (default NEW_AND_OLD_IMAGES).
``StartingPosition``: TRIM_HORIZON (every existing row first, as an INSERT, then the changes) or LATEST
(changes from the mapping's creation on).
"""

from __future__ import annotations

import logging
import re

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.errors import InvalidRequest
from foundation.pg_connections import close_or_terminate
from foundation.registry import event_source_mappings as mappings
from foundation.registry.resources import ResourceNotFound
from foundation.settings import Settings
from workers.events.sources import postgres_outbox as outbox
from workers.events.sources.postgres_changes import split_name, target_url

log = logging.getLogger(__name__)
KIND = "postgres"  # an event source mapping's source_kind
PREFIX = "arn:aws:postgres:"
_ARN = re.compile(
    r"arn:aws:postgres:[a-z0-9-]*:[0-9]*:db-proxy/(?P<proxy>[^/]*)/table/(?P<relation>[^/]*)"
    r"(?:/stream/(?P<view>[^/]*))?"
)
_SHAPE = "arn:aws:postgres:REGION:ACCOUNT:db-proxy/PROXY/table/[SCHEMA.]TABLE[/stream/VIEW]."
_PROXY = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(
        message,
        [{"location": "/eventSourceArn", "message": message, "code": "InvalidParameterValueException"}],
    )


def source_name(arn: str) -> str:
    """``PROXY/SCHEMA.TABLE/VIEW`` of a source ARN; InvalidRequest naming what is wrong."""
    found = _ARN.fullmatch(arn)
    if found is None:
        raise _invalid(f"{arn[:300]!r} is not a PostgreSQL table source: " + _SHAPE)
    proxy, relation, view = found["proxy"], found["relation"], found["view"] or "NEW_AND_OLD_IMAGES"
    if not _PROXY.fullmatch(proxy):
        raise _invalid(f"{proxy[:80]!r} is not a db proxy name.")
    schema, _, table = relation.rpartition(".")
    for part in (schema or "public", table):
        if not outbox.IDENTIFIER.fullmatch(part):
            raise _invalid(
                f"{part[:80]!r} is not a schema or table name Stepline reads (1-63 letters, digits and _, "
                "not starting with a digit; taken as written)."
            )
    if view not in outbox.VIEW_TYPES:
        raise _invalid(f"{view[:40]!r} is not a StreamViewType ({', '.join(outbox.VIEW_TYPES)}).")
    return f"{proxy}/{schema or 'public'}.{table}/{view}"


async def install(
    session: AsyncSession, settings: Settings | None, uuid: str, name: str, position: str | None
) -> None:
    """Install the mapping's outbox and trigger (TRIM_HORIZON: with the table's rows first)."""
    if position not in ("TRIM_HORIZON", "LATEST"):
        message = "StartingPosition of a PostgreSQL table source is TRIM_HORIZON or LATEST."
        raise InvalidRequest(message, [{"location": "/startingPosition", "message": message}])
    if settings is None:
        raise _invalid("PostgreSQL table sources are not served here.")
    proxy, schema, table, view = split_name(name)
    try:
        url = await target_url(session, settings, proxy)
    except ResourceNotFound:
        raise _invalid(f"The db proxy {proxy!r} does not exist.") from None
    names = outbox.Names.of(uuid, schema, table)
    try:
        connection = await outbox.connect(url)
    except Exception as exc:  # refused, unreachable, bad credentials: the user's to fix
        raise _invalid(
            f"Cannot reach the database of db proxy {proxy!r}: {type(exc).__name__}: {exc}"
        ) from None
    try:
        await outbox.install(connection, names, view, snapshot=position == "TRIM_HORIZON")
    except outbox.OutboxError as exc:
        raise _invalid(f"{exc}.") from None
    finally:
        await close_or_terminate(connection)


async def uninstall(session: AsyncSession, settings: Settings | None, uuid: str, name: str) -> None:
    """Drop the mapping's trigger and outbox; a failure is logged (the trigger's retention still bounds
    the outbox), never raised: a mapping can always be deleted."""
    if settings is None:
        return
    proxy, schema, table, _ = split_name(name)
    names = outbox.Names.of(uuid, schema, table)
    try:
        connection = await outbox.connect(await target_url(session, settings, proxy))
        try:
            await outbox.uninstall(connection, names)
        finally:
            await close_or_terminate(connection)
    except Exception as exc:
        log.warning(
            "event source mapping %s: the trigger %s on %s, the function %s.%s() and the table %s.%s were "
            "not dropped (drop them by hand): %s",
            uuid, names.outbox, names.shown, schema, names.outbox, schema, names.outbox, exc,
        )  # fmt: skip


async def uninstall_of_function(session: AsyncSession, settings: Settings | None, function: str) -> None:
    """Drop what each PostgreSQL mapping of ``function`` installed (best effort, as ``uninstall``), before
    the function's deletion cascades to the mappings."""
    for row in await mappings.list_mappings(session, function=function):
        if row.source_kind == KIND:
            await uninstall(session, settings, row.uuid, row.source_name)
