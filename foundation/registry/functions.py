"""Functions, their published versions, their logs and their queued (Event) invocations.

``$LATEST`` is the ``function`` row itself; ``publish_version`` copies it into an immutable numbered
``function_version``. Code is referenced by its SHA-256 (the code store keeps the bytes).
Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Text,
    delete,
    func,
    text,
    update,
)
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, LimitExceeded, NotFound
from foundation.registry.storable import storable

LATEST = "$LATEST"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable))


class FunctionSettings(SQLModel):
    """The configuration a version freezes (shared by ``Function`` and ``FunctionVersion``)."""

    runtime: str = Field(max_length=32)
    handler: str = Field(max_length=128)
    description: str = Field(default="", sa_type=Text)
    memory_size: int = 128
    timeout: int = 3
    ephemeral_storage: int = 512
    """/tmp size in MB."""
    network: bool = False
    aws_api: bool = False
    """Calls to this Stepline's AWS APIs from inside the sandbox, with per-invocation session
    credentials (``foundation.session_credentials``); see docs/aws-api.md, Functions calling back."""
    environment: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    file_system_configs: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    db_proxies: list[str] = Field(default_factory=list, sa_type=JSON)
    code_sha256: str = Field(max_length=64)
    code_size: int = 0
    layers: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    """The layer versions merged under /opt, in order, each frozen when configured: ``{"arn",
    "sha256", "size", "unzippedSize"}`` (a deleted layer version keeps working; ``registry.layers``)."""
    signing_profile_version_arn: str | None = Field(default=None, sa_type=Text)
    """The signing profile whose signature the code carried, when it was verified (``code_signing``)."""
    package_type: str = Field(default="Zip", max_length=8)
    """``Zip`` (code at /var/task) or ``Image``: ``code_sha256`` is then the image's manifest digest
    (hex), ``runtime`` and ``handler`` are empty, the image's root file system is the sandbox's root."""
    image_uri: str | None = Field(default=None, sa_type=Text)
    """The ImageUri as given (``Image``)."""
    image_config: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """Lambda's ImageConfig overrides: ``EntryPoint``, ``Command``, ``WorkingDirectory`` (``Image``)."""


class Function(FunctionSettings, table=True):
    """A function; its columns are the ``$LATEST`` version."""

    __tablename__ = "function"

    name: str = Field(primary_key=True, max_length=64)
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    latest_published: int = 0
    revision_id: str = Field(max_length=36)
    """Changes on every update (optimistic checks, cache invalidation)."""
    created_at: datetime = _ts()
    last_modified: datetime = _ts()
    pending: str | None = Field(default=None, max_length=16)
    """``Creating`` or ``Updating`` while the deployment of this revision is being prepared (an
    image function's environment: Lambda's Pending state, or its update InProgress), until
    ``pending_until`` at the latest."""
    pending_until: datetime | None = _ts(nullable=True)


def pending_now(row: Function) -> str | None:
    """``row.pending`` while it holds (``Creating``/``Updating``), else None."""
    if row.pending is None or row.pending_until is None or row.pending_until <= utcnow():
        return None
    return row.pending


def mark_pending(row: Function, kind: str, seconds: float) -> None:
    """``row``'s deployment reads as ``kind`` (``Creating``/``Updating``) until it is prepared
    (``end_pending``), or for ``seconds`` at most (a process that dies meanwhile leaves no function
    pending for ever)."""
    row.pending, row.pending_until = kind, utcnow() + timedelta(seconds=seconds)


async def end_pending(session: AsyncSession, name: str, revision_id: str) -> None:
    """The deployment of ``revision_id`` is prepared (a later revision's stays pending); the
    revision itself does not change (environments of it stay current)."""
    await session.exec(
        update(Function)
        .where(col(Function.name) == name, col(Function.revision_id) == revision_id)
        .values(pending=None, pending_until=None)
    )


class FunctionVersion(FunctionSettings, table=True):
    """An immutable published version."""

    __tablename__ = "function_version"

    function_name: str = Field(
        sa_column=Column(Text, ForeignKey("function.name", ondelete="CASCADE"), primary_key=True)
    )
    version: int = Field(primary_key=True)
    created_at: datetime = _ts()


class FunctionLog(SQLModel, table=True):
    """One log line of an invocation (START/END/REPORT or the function's own output)."""

    __tablename__ = "function_log"
    __table_args__ = (
        Index("ix_function_log_function_time", "function_name", "timestamp"),
        Index("ix_function_log_request", "request_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    function_name: str = Field(max_length=64)
    request_id: str = Field(max_length=36)
    timestamp: datetime = _ts()
    message: str = Field(sa_type=Text)


class FunctionEvent(SQLModel, table=True):
    """An asynchronous (Event) invocation: queued durably, retried twice on a function error."""

    __tablename__ = "function_event"
    __table_args__ = (Index("ix_function_event_status_available", "status", "available_at"),)

    id: str = Field(primary_key=True, max_length=36)
    function_name: str = Field(max_length=64)
    qualifier: str | None = Field(default=None, max_length=128)
    """``$LATEST``, a version or an alias (at most 128 characters, Lambda's longest alias name)."""
    payload: str = Field(sa_type=Text)
    status: str = Field(max_length=16)
    """QUEUED, RUNNING, SUCCEEDED or FAILED."""
    attempts: int = 0
    response: str | None = Field(default=None, sa_type=Text)
    function_error: str | None = Field(default=None, max_length=128)
    available_at: datetime = _ts()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class FunctionExists(Conflict):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"function {name!r} already exists")


class FunctionNotFound(NotFound):
    def __init__(self, name: str, qualifier: str | None = None) -> None:
        self.name = name
        self.qualifier = qualifier
        what = f"function {name!r}" + (f" version {qualifier}" if qualifier not in (None, LATEST) else "")
        super().__init__(f"{what} does not exist")


@dataclass(frozen=True, slots=True)
class ResolvedFunction:
    """What an invocation needs: the version's settings plus the function's concurrency."""

    name: str
    version: str
    settings: FunctionSettings
    reserved_concurrency: int | None
    provisioned_concurrency: int
    revision_id: str


SETTINGS_FIELDS = tuple(FunctionSettings.model_fields)


def _settings_of(row: FunctionSettings) -> FunctionSettings:
    return FunctionSettings.model_validate({name: getattr(row, name) for name in SETTINGS_FIELDS})


async def create_function(session: AsyncSession, name: str, settings: FunctionSettings) -> Function:
    if await session.get(Function, name) is not None:
        raise FunctionExists(name)
    now = utcnow()
    row = Function(
        name=name, revision_id=str(uuid.uuid4()), created_at=now, last_modified=now, **settings.model_dump()
    )
    session.add(row)
    await session.flush()
    return row


async def get_function(session: AsyncSession, name: str, *, for_update: bool = False) -> Function:
    """The function; ``for_update`` locks its row to the end of the transaction and reads it as it is
    once the lock is granted (not as an earlier read in this session left it)."""
    query = select(Function).where(Function.name == name)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await session.exec(query)).first()
    if row is None:
        raise FunctionNotFound(name)
    return row


async def list_functions(session: AsyncSession, limit: int, after_name: str | None = None) -> list[Function]:
    query = select(Function).order_by(col(Function.name)).limit(limit)
    if after_name is not None:
        query = query.where(col(Function.name) > after_name)
    return list((await session.exec(query)).all())


async def update_function(session: AsyncSession, name: str, changes: dict[str, Any]) -> Function:
    """Change ``$LATEST`` settings (only keys of ``FunctionSettings``)."""
    row = await get_function(session, name, for_update=True)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"not function settings: {sorted(unknown)}")
    for key, value in changes.items():
        setattr(row, key, value)
    row.revision_id = str(uuid.uuid4())
    row.last_modified = utcnow()
    session.add(row)
    await session.flush()
    return row


UNPROVISIONED_SHARE = 10
"""One environment in ten (at least one) stays free of provisioned concurrency, for on-demand
invocations: Lambda keeps 100 of an account's 1,000 unreserved the same way."""


def provisioned_budget(max_environments: int) -> int:
    """How many environments provisioned concurrency may take in all, over every function, in a
    runtime capped at ``max_environments`` (``STEPLINE_SANDBOX__MAX_ENVIRONMENTS``): 57 of 64."""
    return max(max_environments - max(1, -(-max_environments // UNPROVISIONED_SHARE)), 0)


class ProvisionedOverBudget(LimitExceeded):
    """Provisioned concurrency that would take more environments than ``provisioned_budget`` leaves."""

    def __init__(self, requested: int, available: int, budget: int, max_environments: int) -> None:
        super().__init__(
            f"InvalidParameterValueException: provisioned concurrency {requested} is more than the "
            f"{available} still available: all functions together may provision at most {budget} of the "
            f"{max_environments} execution environments (STEPLINE_SANDBOX__MAX_ENVIRONMENTS), keeping "
            f"one in {UNPROVISIONED_SHARE} for on-demand invocations"
        )


_ALIASES_PROVISIONED = text("SELECT coalesce(sum(provisioned_concurrency), 0) FROM function_alias")
"""What aliases provision (``registry.aliases``, which imports this module), counted in the same budget."""
_CONCURRENCY_LOCK = 0x5354_504C_0001
"""Transaction advisory lock key that serialises provisioned-concurrency changes (``set_concurrency``)."""


async def set_concurrency(
    session: AsyncSession,
    name: str,
    reserved: int | None,
    provisioned: int,
    *,
    max_environments: int | None = None,
) -> Function:
    """Set a function's concurrency; with ``max_environments``, ``ProvisionedOverBudget`` when its
    provisioned concurrency and every other function's would pass ``provisioned_budget`` (without
    it nothing is checked here; runtimes still never start more than the budget). Changes are
    serialised (an advisory lock held to the end of the transaction), so two concurrent requests
    cannot both fit."""
    lock = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_CONCURRENCY_LOCK)
    await session.exec(lock)  # type: ignore[call-overload]  # sqlmodel types only select/DML
    row = await get_function(session, name, for_update=True)
    if provisioned and max_environments is not None:
        others = select(func.coalesce(func.sum(Function.provisioned_concurrency), 0)).where(
            col(Function.name) != name
        )
        taken = int((await session.exec(others)).one())
        taken += int((await session.exec(_ALIASES_PROVISIONED)).one()[0])  # type: ignore[call-overload]
        budget = provisioned_budget(max_environments)
        if taken + provisioned > budget:
            raise ProvisionedOverBudget(provisioned, max(budget - taken, 0), budget, max_environments)
    row.reserved_concurrency = reserved
    row.provisioned_concurrency = provisioned
    row.revision_id = str(uuid.uuid4())
    session.add(row)
    await session.flush()
    return row


async def delete_function(session: AsyncSession, name: str) -> None:
    row = await get_function(session, name)
    await session.delete(row)
    await session.flush()


async def publish_version(session: AsyncSession, name: str, description: str | None) -> FunctionVersion:
    """Freeze ``$LATEST`` as the next numbered version (the row lock serialises publishers)."""
    row = await get_function(session, name, for_update=True)
    row.latest_published += 1
    data = _settings_of(row).model_dump()
    if description is not None:
        data["description"] = description
    version = FunctionVersion(function_name=name, version=row.latest_published, created_at=utcnow(), **data)
    session.add(row)
    session.add(version)
    await session.flush()
    return version


async def list_versions(session: AsyncSession, name: str) -> list[FunctionVersion]:
    await get_function(session, name)
    query = select(FunctionVersion).where(FunctionVersion.function_name == name)
    return list((await session.exec(query.order_by(col(FunctionVersion.version)))).all())


async def delete_version(session: AsyncSession, name: str, version: int) -> None:
    """Delete one published version (``$LATEST`` goes only with its function)."""
    row = await session.get(FunctionVersion, (name, version))
    if row is None:
        raise FunctionNotFound(name, str(version))
    await session.delete(row)
    await session.flush()


async def resolve_function(session: AsyncSession, name: str, qualifier: str | None) -> ResolvedFunction:
    """The settings an invocation of ``name[:qualifier]`` runs with."""
    row = await session.get(Function, name)
    if row is None:
        raise FunctionNotFound(name, qualifier)
    if qualifier in (None, LATEST):
        return ResolvedFunction(
            name, LATEST, _settings_of(row), row.reserved_concurrency, row.provisioned_concurrency,
            row.revision_id,
        )  # fmt: skip
    if not qualifier.isdigit():
        raise FunctionNotFound(name, qualifier)
    version = await session.get(FunctionVersion, (name, int(qualifier)))
    if version is None:
        raise FunctionNotFound(name, qualifier)
    return ResolvedFunction(
        name, qualifier, _settings_of(version), row.reserved_concurrency, 0, row.revision_id
    )


# logs ---------------------------------------------------------------------------------------


_ADD_LOG_LINES = text(
    "INSERT INTO function_log (function_name, request_id, timestamp, message) SELECT * FROM unnest("
    "CAST(:functions AS text[]), CAST(:request_ids AS text[]), CAST(:timestamps AS timestamptz[]), "
    "CAST(:messages AS text[]))"
)
"""One statement text whatever the batch's size, compiled once: a multi-row ``insert().values(rows)``
was compiled afresh for every batch (8 ms of event loop for 600 rows, on the loop serving requests)."""


async def add_log_lines(session: AsyncSession, lines: Sequence[tuple[str, str, datetime, str]]) -> None:
    """Append (function, request id, timestamp, message) rows: one INSERT of four arrays."""
    if not lines:
        return
    functions, request_ids, timestamps, messages = zip(*lines, strict=True)
    statement = _ADD_LOG_LINES.bindparams(
        functions=list(functions), request_ids=list(request_ids), timestamps=list(timestamps),
        messages=[storable(m) for m in messages],  # a function prints what it likes: a NUL would fail all
    )  # fmt: skip
    await session.exec(statement)  # type: ignore[call-overload]


async def logged_request_ids(session: AsyncSession, request_ids: set[str]) -> set[str]:
    """Which of these invocations already have log rows (a crashed process's journal is replayed once)."""
    found: set[str] = set()
    ids = sorted(request_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        query = select(FunctionLog.request_id).where(col(FunctionLog.request_id).in_(chunk)).distinct()
        found.update((await session.exec(query)).all())
    return found


async def read_logs(
    session: AsyncSession, name: str, *, request_id: str | None, since: datetime | None, limit: int
) -> list[FunctionLog]:
    query = select(FunctionLog).where(FunctionLog.function_name == name)
    if request_id is not None:
        query = query.where(FunctionLog.request_id == request_id)
    if since is not None:
        query = query.where(col(FunctionLog.timestamp) >= since)
    query = query.order_by(col(FunctionLog.timestamp), col(FunctionLog.id)).limit(limit)
    return list((await session.exec(query)).all())


# Event invocations --------------------------------------------------------------------------


EVENTS_CHANNEL = "stepline_function_events"
"""PostgreSQL notification channel: an Event invocation was queued (sent when its transaction commits)."""


async def enqueue_event(
    session: AsyncSession, name: str, qualifier: str | None, payload: str
) -> FunctionEvent:
    """Queue an Event invocation and notify ``EVENTS_CHANNEL``, so that a runtime takes it at once."""
    now = utcnow()
    event = FunctionEvent(
        id=str(uuid.uuid4()), function_name=name, qualifier=qualifier, payload=storable(payload),
        status="QUEUED", available_at=now, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(event)
    await session.flush()
    await session.exec(text(f"NOTIFY {EVENTS_CHANNEL}"))  # type: ignore[call-overload]
    return event


async def claim_events(session: AsyncSession, limit: int, lease_seconds: float) -> list[FunctionEvent]:
    """Take due events (QUEUED, or RUNNING with an expired lease after a worker crash)."""
    now = utcnow()
    query = (
        select(FunctionEvent)
        .where(col(FunctionEvent.status).in_(("QUEUED", "RUNNING")), col(FunctionEvent.available_at) <= now)
        .order_by(col(FunctionEvent.available_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    events = list((await session.exec(query)).all())
    for event in events:
        event.status = "RUNNING"
        event.attempts += 1
        event.available_at = now + timedelta(seconds=lease_seconds)
        event.updated_at = now
        session.add(event)
    await session.flush()
    return events


async def finish_event(
    session: AsyncSession, event_id: str, *, response: str, function_error: str | None, retry_in: float | None
) -> None:
    """Record an attempt's outcome; ``retry_in`` queues another attempt."""
    now = utcnow()
    error = storable(function_error)[:128] if function_error is not None else None  # a runtime names it
    values: dict[str, Any] = {"response": storable(response), "function_error": error, "updated_at": now}
    if retry_in is not None:
        values.update(status="QUEUED", available_at=now + timedelta(seconds=retry_in))
    else:
        values.update(status="FAILED" if function_error else "SUCCEEDED")
    await session.exec(update(FunctionEvent).where(col(FunctionEvent.id) == event_id).values(**values))


async def get_event(session: AsyncSession, event_id: str) -> FunctionEvent | None:
    return await session.get(FunctionEvent, event_id)


async def prune_logs(session: AsyncSession, older_than: datetime) -> None:
    await session.exec(delete(FunctionLog).where(col(FunctionLog.timestamp) < older_than))


async def count_functions(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(Function))).one())
