"""Event source mappings: create, get, update, delete, list (Lambda's EventSourceMapping operations).

A mapping's source is a queue or a stream on a broker this Stepline's operator configured
(``STEPLINE_EVENT_SOURCES__*``), never an address a tenant gives:

* RabbitMQ: ``EventSourceArn`` ``arn:aws:mq:REGION:ACCOUNT:broker:rabbitmq[:ID]`` with ``Queues`` naming
  one queue (Lambda's Amazon MQ shape); no StartingPosition (a queue has none).
* Redis Streams: ``arn:aws:redis:REGION:ACCOUNT:stream/NAME``; ``StartingPosition`` TRIM_HORIZON,
  LATEST or AT_TIMESTAMP is required, as for a Kinesis stream.
* NATS JetStream: ``arn:aws:nats:REGION:ACCOUNT:stream/NAME`` (an existing stream), ``StartingPosition``
  as for Redis.
* A Stepline file system: ``arn:aws:s3:::NAME[/PREFIX[*SUFFIX]]`` (S3's notification filter rules, as
  IAM writes an object ARN); ``StartingPosition`` optional (LATEST by default).

The function (and its version or alias) must exist; an on-failure destination is checked as an
asynchronous invocation's is. Workers pick a mapping up within ``scan_seconds``: its state goes from
Creating/Updating to Enabled or Disabled then.

``FilterCriteria`` holds up to five EventBridge patterns (``workers.events.patterns``); a record is
handed to the function when one matches, and consumed (acknowledged) without an invocation otherwise.
A RabbitMQ pattern sees the record with its ``body`` parsed when it is JSON (Lambda's SQS filters); a
Redis one sees the ``redis`` member with ``data`` parsed (Lambda's Kinesis filters: ``{"data": ...}``,
``{"partitionKey": ...}``, and ``{"fields": ...}``).
"""

from __future__ import annotations

import re
import uuid as uuids

from sqlmodel.ext.asyncio.session import AsyncSession

from api import event_source_mapping_schemas as schemas
from api.services import postgres_change_sources
from api.services.event_invoke import _check_destination as check_destination
from api.services.event_invoke import check_qualifier
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry import event_source_mappings as registry
from foundation.registry import resources
from foundation.registry.functions import utcnow
from foundation.settings import Settings
from statemachine import function_arn
from workers.events.patterns import InvalidEventPatternException, compile_pattern
from workers.events.sources import brokers
from workers.filesystems import FileSystemError, check_name

RABBITMQ, REDIS, NATS, FS = "rabbitmq", "redis", "nats", "fs"
POSTGRES = postgres_change_sources.KIND
_NAME = re.compile(r"[A-Za-z0-9._:/@+=-]{1,255}")
_STREAM = re.compile(r"[A-Za-z0-9_-]{1,255}")
_SOURCES = (
    "arn:aws:mq:REGION:ACCOUNT:broker:rabbitmq with Queues, arn:aws:redis:REGION:ACCOUNT:stream/NAME "
    "or arn:aws:nats:REGION:ACCOUNT:stream/NAME, or a file system as arn:aws:s3:::NAME[/PREFIX[*SUFFIX]]."
)
_DEFAULT_RETRIES = {RABBITMQ: 2, REDIS: -1, NATS: -1, FS: 2}


def _invalid(location: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "message": message, "code": "InvalidParameterValueException"}]
    )


def parse_source(arn: str, queues: list[str] | None) -> tuple[str, str]:
    """(kind, queue or stream) of a source ARN (and ``Queues``); InvalidRequest naming what is wrong."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[:3] == ["arn", "aws", "mq"] and parts[5:7] == ["broker", RABBITMQ]:
        if not queues:
            raise _invalid("/queues", "A RabbitMQ source needs Queues naming one queue.")
        if not _NAME.fullmatch(queues[0]):
            raise _invalid(
                "/queues/0", f"{queues[0][:300]!r} is not a queue name (1-255 of A-Za-z0-9._:/@+=-)."
            )
        return RABBITMQ, queues[0]
    if len(parts) == 6 and parts[:3] == ["arn", "aws", "redis"] and parts[5].startswith("stream/"):
        name = parts[5].removeprefix("stream/")
        if not _NAME.fullmatch(name):
            raise _invalid(
                "/eventSourceArn", f"{name[:300]!r} is not a stream name (1-255 of A-Za-z0-9._:/@+=-)."
            )
        if queues:
            raise _invalid("/queues", "Queues is for RabbitMQ sources only.")
        return REDIS, name
    if len(parts) == 6 and parts[:3] == ["arn", "aws", "nats"] and parts[5].startswith("stream/"):
        name = parts[5].removeprefix("stream/")
        if not _STREAM.fullmatch(name):
            raise _invalid(
                "/eventSourceArn", f"{name[:300]!r} is not a JetStream stream name (1-255 of A-Za-z0-9_-)."
            )
        if queues:
            raise _invalid("/queues", "Queues is for RabbitMQ sources only.")
        return NATS, name
    if arn.startswith("arn:aws:s3:::"):
        if queues:
            raise _invalid("/queues", "Queues is for RabbitMQ sources only.")
        return FS, file_system_source(arn.removeprefix("arn:aws:s3:::"))
    if arn.startswith(postgres_change_sources.PREFIX):
        if queues:
            raise _invalid("/queues", "Queues is for RabbitMQ sources only.")
        return POSTGRES, postgres_change_sources.source_name(arn)
    raise _invalid("/eventSourceArn", f"{arn[:300]!r} is not a source Stepline reads: " + _SOURCES)


def file_system_source(rest: str) -> str:
    """``NAME[/PREFIX[*SUFFIX]]`` checked: a file system's name, S3 filter rules as text without NUL
    or control characters."""
    name, _, rules = rest.partition("/")
    try:
        check_name("file system", name)
    except FileSystemError as exc:
        raise _invalid("/eventSourceArn", str(exc)) from None
    if len(rules) > 1024 or any(ord(c) < 32 or ord(c) == 127 for c in rules):
        raise _invalid(
            "/eventSourceArn",
            "The key filter (PREFIX*SUFFIX) is at most 1024 characters, none a control one.",
        )
    prefix = rules.partition("*")[0]
    if {".", ".."} & set(prefix.split("/")[:-1]):
        raise _invalid("/eventSourceArn", "The key prefix holds no '.' or '..' directory: keys stay inside.")
    return rest


def public(row: registry.EventSourceMapping, region: str) -> schemas.MappingPublic:
    return schemas.MappingPublic(
        uuid=row.uuid,
        event_source_arn=row.source_arn,
        function_arn=function_arn(row.function_name, row.qualifier, region),
        queues=[row.source_name] if row.source_kind == RABBITMQ else None,
        state=row.state,
        state_transition_reason=row.state_reason,
        last_modified=row.last_modified,
        last_processing_result=row.last_result,
        last_error=row.last_error,
        batch_size=row.batch_size,
        maximum_batching_window_in_seconds=row.batching_window_seconds,
        starting_position=row.starting_position,
        starting_position_timestamp=row.starting_timestamp,
        parallelization_factor=row.parallelization_factor,
        function_response_types=["ReportBatchItemFailures"] if row.report_item_failures else [],
        bisect_batch_on_function_error=row.bisect_on_error,
        maximum_retry_attempts=row.maximum_retry_attempts,
        maximum_record_age_in_seconds=row.maximum_record_age_seconds,
        destination_config=schemas.DestinationConfig(
            on_failure=schemas.OnFailure(destination=row.on_failure)
        ),
        filter_criteria=row.filter_criteria,
        self_managed_event_source=schemas.SelfManagedEventSource(
            endpoints={brokers.KEY: [row.broker_summary]}
        )
        if row.broker_summary is not None
        else None,
    )


def _broker(
    body: schemas.MappingIn, kind: str, name: str, settings: Settings | None
) -> tuple[str | None, str | None]:
    """(sealed URI, summary) of the mapping's own broker, if it names one; the operator's checks."""
    if kind in brokers.SCHEMES and settings is not None:
        try:
            brokers.check_name(name, settings.event_sources.source_names)
        except brokers.BrokerRefused as exc:
            raise _invalid("/eventSourceArn", str(exc)) from None
    given = body.self_managed_event_source
    if given is None:
        return None, None
    where = f"/selfManagedEventSource/endpoints/{brokers.KEY}"
    uris = given.endpoints.get(brokers.KEY)
    if uris is None or len(uris) != 1:
        raise _invalid("/selfManagedEventSource/endpoints", f"Endpoints holds {brokers.KEY}: one broker URI.")
    if settings is None:
        raise _invalid(where, "This Stepline takes no broker URIs here.")
    try:
        shown = brokers.check_uri(uris[0], kind, settings.event_sources.allowed_hosts)
    except brokers.BrokerRefused as exc:
        raise _invalid(where, str(exc)) from None
    return brokers.sealer(settings).seal(uris[0]), shown


async def _file_system_exists(session: AsyncSession, name: str) -> None:
    try:
        await resources.get_file_system(session, name)
    except NotFound:
        raise _invalid("/eventSourceArn", f"The file system {name!r} does not exist.") from None


async def _function(session: AsyncSession, reference: str) -> tuple[str, str | None]:
    name, _, qualifier = reference.partition(":")
    if reference.startswith("arn:"):
        parts = reference.split(":")
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            raise _invalid("/functionName", f"{reference[:300]!r} is not a function name or ARN.")
        name, qualifier = parts[6], parts[7] if len(parts) == 8 else ""
    await check_qualifier(session, name, qualifier or None)
    return name, qualifier or None


async def _apply(
    session: AsyncSession, row: registry.EventSourceMapping, body: schemas.MappingSettings, given: set[str]
) -> None:
    """Copy the members ``given`` onto ``row``, checked."""
    if "function_name" in given and body.function_name is not None:
        row.function_name, row.qualifier = await _function(session, body.function_name)
    if "enabled" in given and body.enabled is not None:
        row.enabled = body.enabled
    simple: dict[str, str] = {
        "batch_size": "batch_size",
        "maximum_batching_window_in_seconds": "batching_window_seconds",
        "parallelization_factor": "parallelization_factor",
        "maximum_record_age_in_seconds": "maximum_record_age_seconds",
        "bisect_batch_on_function_error": "bisect_on_error",
        "maximum_retry_attempts": "maximum_retry_attempts",
    }
    for field, column in simple.items():
        value = getattr(body, field)
        if field in given and value is not None:
            setattr(row, column, value)
    if 0 <= row.maximum_record_age_seconds < 60:
        raise _invalid("/maximumRecordAgeInSeconds", "MaximumRecordAgeInSeconds is -1 or 60 to 604800.")
    if "function_response_types" in given and body.function_response_types is not None:
        row.report_item_failures = "ReportBatchItemFailures" in body.function_response_types
    if "destination_config" in given and body.destination_config is not None:
        row.on_failure = body.destination_config.on_failure.destination
        await check_destination(
            session, row.function_name, row.on_failure, "/destinationConfig/onFailure/destination"
        )
    if "filter_criteria" in given and body.filter_criteria is not None:
        for index, found in enumerate(body.filter_criteria.filters):
            try:
                compile_pattern(found.pattern)
            except InvalidEventPatternException as exc:
                raise _invalid(f"/filterCriteria/filters/{index}/pattern", str(exc)) from None
        filters = [{"Pattern": f.pattern} for f in body.filter_criteria.filters]
        row.filter_criteria = {"Filters": filters} if filters else None


async def create_mapping(
    session: AsyncSession, body: schemas.MappingIn, region: str, settings: Settings | None = None
) -> schemas.MappingPublic:
    kind, name = parse_source(body.event_source_arn, body.queues)
    if body.function_name is None:
        raise _invalid("/functionName", "FunctionName is required.")
    if kind in (REDIS, NATS, POSTGRES) and body.starting_position is None:
        raise _invalid("/startingPosition", "StartingPosition is required for a stream source.")
    sealed, shown = _broker(body, kind, name, settings)
    if kind == FS:
        await _file_system_exists(session, name.partition("/")[0])
    if kind == RABBITMQ and body.starting_position is not None:
        raise _invalid("/startingPosition", "StartingPosition is not supported for a queue source.")
    if (body.starting_position == "AT_TIMESTAMP") != (body.starting_position_timestamp is not None):
        raise _invalid(
            "/startingPositionTimestamp",
            "StartingPositionTimestamp goes with StartingPosition AT_TIMESTAMP only.",
        )
    for found in await registry.list_mappings(session, source_arn=body.event_source_arn):
        if (
            found.source_name == name
            and found.function_name == (await _function(session, body.function_name))[0]
        ):
            raise Conflict(f"An event source mapping of this source and function exists: {found.uuid}")
    row = registry.EventSourceMapping(
        uuid=str(uuids.uuid4()), function_name="", source_arn=body.event_source_arn, source_kind=kind,
        source_name=name, state=registry.CREATING, batch_size=100,
        starting_position=body.starting_position, starting_timestamp=body.starting_position_timestamp,
        maximum_retry_attempts=_DEFAULT_RETRIES.get(kind, -1), last_modified=utcnow(),
        broker_sealed=sealed, broker_summary=shown,
    )  # fmt: skip
    await _apply(session, row, body, set(body.model_fields_set) | {"function_name"})
    if kind == POSTGRES:  # last: nothing is installed in the user's database for a refused mapping
        await postgres_change_sources.install(session, settings, row.uuid, name, body.starting_position)
    return public(await registry.save(session, row), region)


async def get_mapping(session: AsyncSession, uuid: str, region: str) -> schemas.MappingPublic:
    return public(await registry.get_mapping(session, uuid), region)


async def update_mapping(
    session: AsyncSession, uuid: str, body: schemas.MappingSettings, region: str
) -> schemas.MappingPublic:
    row = await registry.get_mapping(session, uuid, for_update=True)
    if row.state in (registry.CREATING, registry.UPDATING, registry.DELETING):
        raise Conflict(f"The event source mapping {uuid} is {row.state}: try again shortly.")
    await _apply(session, row, body, set(body.model_fields_set))
    row.state = registry.UPDATING
    row.state_reason = "USER_INITIATED"
    return public(await registry.save(session, row), region)


async def delete_mapping(
    session: AsyncSession, uuid: str, region: str, settings: Settings | None = None
) -> schemas.MappingPublic:
    """Delete at once (its poller stops at its next look); answered as Lambda does, state Deleting."""
    row = await registry.get_mapping(session, uuid, for_update=True)
    shown = public(row, region).model_copy(update={"state": registry.DELETING})
    if row.source_kind == POSTGRES:
        await postgres_change_sources.uninstall(session, settings, uuid, row.source_name)
    await registry.delete_mapping(session, uuid)
    return shown


async def list_mappings(
    session: AsyncSession, region: str, *, function: str | None = None, source_arn: str | None = None
) -> schemas.MappingList:
    name = (await _function(session, function))[0] if function is not None else None
    rows = await registry.list_mappings(session, function=name, source_arn=source_arn)
    return schemas.MappingList(event_source_mappings=[public(r, region) for r in rows])
