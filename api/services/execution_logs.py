"""Execution logging use cases: check and keep a machine's ``loggingConfiguration``, read log events.

The configuration has Step Functions' shape on both front doors: ``{"level": "ALL|ERROR|FATAL|OFF",
"includeExecutionData": bool, "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": ARN}}]}``.
Checked as Step Functions checks it: at most one destination, and one is required unless the level
is OFF. A destination is a log group ARN (``arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*``); the
log group is Stepline's own, made on first use (no CloudWatch Logs is involved), and its events are
read with ``GET /v1/execution-logs``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api.pagination import decode_token, encode_token
from foundation.errors import InvalidRequest
from foundation.registry import execution_logs as registry
from foundation.registry.execution_logs import StateMachineLogging
from statemachine import LOG_LEVELS, ArnError, log_group_name

ONE_DESTINATION = "Invalid Logging Configuration: Must specify exactly one Log Destination."
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _invalid(message: str, location: str) -> InvalidRequest:
    problem = {"code": "InvalidLoggingConfiguration", "message": message, "location": location}
    return InvalidRequest(f"InvalidLoggingConfiguration: {message}", [problem])


def _validation(message: str, location: str) -> InvalidRequest:
    return InvalidRequest(f"1 validation error detected: {message}", [{"location": location}])


def check(config: Any) -> tuple[str, bool, str | None, str | None]:
    """(level, includeExecutionData, log group ARN, log group name) of a ``loggingConfiguration``.

    Raises:
        InvalidRequest: not one Step Functions accepts (InvalidLoggingConfiguration, naming the field).
    """
    if not isinstance(config, dict):
        raise _validation("Value at 'loggingConfiguration' must be an object", "/loggingConfiguration")
    unknown = sorted(set(config) - {"level", "includeExecutionData", "destinations"})
    if unknown:
        raise _validation(
            f"Unknown member 'loggingConfiguration.{unknown[0]}'", f"/loggingConfiguration/{unknown[0]}"
        )
    level = config.get("level", "OFF")
    if level not in LOG_LEVELS:
        raise _validation(
            f"Value '{level}' at 'loggingConfiguration.level' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(LOG_LEVELS)}]",
            "/loggingConfiguration/level",
        )
    include = config.get("includeExecutionData", False)
    if not isinstance(include, bool):
        raise _validation(
            "Value at 'loggingConfiguration.includeExecutionData' must be a boolean",
            "/loggingConfiguration/includeExecutionData",
        )
    destinations = config.get("destinations") or []
    if not isinstance(destinations, list) or len(destinations) > 1 or (level != "OFF" and not destinations):
        raise _invalid(ONE_DESTINATION, "/loggingConfiguration/destinations")
    if not destinations:
        return level, include, None, None
    where = "/loggingConfiguration/destinations/0/cloudWatchLogsLogGroup/logGroupArn"
    group = destinations[0].get("cloudWatchLogsLogGroup") if isinstance(destinations[0], dict) else None
    arn = group.get("logGroupArn") if isinstance(group, dict) else None
    if not isinstance(arn, str):
        raise _invalid("Invalid Logging Configuration: Log Destination not found.", where)
    try:
        return level, include, arn, log_group_name(arn)
    except ArnError:
        raise _invalid(
            "Invalid Logging Configuration: destinations[0].cloudWatchLogsLogGroup.logGroupArn is not a "
            "log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*): " + repr(arn),
            where,
        ) from None


def normalized(config: Any) -> dict[str, Any]:
    """A (checked) configuration as ``describe`` answers it; None: none given (OFF)."""
    if config is None:
        return described(None)
    level, include, arn, _ = check(config)
    return _shape(level, include, arn)


async def configure(session: AsyncSession, machine: str, config: Any) -> dict[str, Any]:
    """Check and keep ``machine``'s configuration; its description."""
    level, include, arn, group = check(config)
    return described(await registry.set_logging(session, machine, level, include, arn, group))


async def describe(session: AsyncSession, machine: str) -> dict[str, Any]:
    """DescribeStateMachine's ``loggingConfiguration`` (OFF when none was given)."""
    return described(await registry.get_logging(session, machine))


def described(found: StateMachineLogging | None) -> dict[str, Any]:
    if found is None:
        return _shape("OFF", False, None)
    return _shape(found.level, found.include_execution_data, found.log_group_arn)


def _shape(level: str, include: bool, arn: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"level": level, "includeExecutionData": include}
    if arn is not None:
        out["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]
    return out


async def page(
    session: AsyncSession,
    limit: int | None,
    next_token: str | None,
    log_group: str | None,
    state_machine: str | None,
    execution_arn: str | None,
    *,
    newest_first: bool = False,
) -> dict[str, Any]:
    """Log events in the order they were stored, or newest first (``nextToken`` while more may
    follow; a token is good for the order it was given in only)."""
    limit = limit or DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}", [{"location": "/limit"}])
    kind = "execution-logs-newest-first" if newest_first else "execution-logs"
    after = decode_token(kind, next_token)["after"] if next_token else None
    if after is not None and not isinstance(after, int):
        raise InvalidRequest("nextToken is not one this listing gave", [{"location": "/nextToken"}])
    rows = await registry.events_page(
        session, limit + 1, after, log_group, state_machine, execution_arn, newest_first=newest_first
    )
    token = encode_token(kind, {"after": rows[limit - 1].id}) if len(rows) > limit else None
    return {
        "events": [
            {
                "logGroup": r.log_group,
                "stateMachine": r.state_machine_name,
                "attempt": r.attempt,
                "timestamp": r.timestamp,
                "message": json.loads(r.message),
            }
            for r in rows[:limit]
        ],
        "nextToken": token,
    }
