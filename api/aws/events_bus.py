"""EventBridge's buses, rules, targets and PutEvents on ``POST /`` (``X-Amz-Target: AWSEvents.<Op>``),
over ``api.services.event_bus``; with the connections of ``api.aws.events_connections`` they make
the ``EVENTS`` service. Only AWS's shapes are made here.
"""

from __future__ import annotations

import json
from typing import Any

from api.aws import events_connections as connections
from api.aws.errors import AwsError
from api.aws.json_protocol import Call, Handler, JsonService
from api.aws.shapes import request_timestamp
from api.services import event_bus as service
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry import event_bus as registry
from foundation.registry.database import unit_of_work
from workers.events import bus
from workers.events.retries import Policy

SERVED_TARGET_MEMBERS = frozenset(
    {"Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "RetryPolicy", "DeadLetterConfig"}
)
"""Target members acted on (``RoleArn`` is kept out of the way); a target with others (SqsParameters,
EcsParameters, ...) is refused. ``DeadLetterConfig.Arn`` is a function or state machine of this
Stepline (docs/events.md)."""


def _bus(params: dict[str, Any]) -> str:
    return bus.bus_name(params.get("EventBusName"))


async def put_events(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    entries = [
        bus.Entry(
            source=e.get("Source"),
            detail_type=e.get("DetailType"),
            detail=e.get("Detail"),
            resources=e.get("Resources") or (),
            time=request_timestamp(e.get("Time"), "Time "),
            bus=bus.bus_name(e.get("EventBusName")),
        )
        for e in params["Entries"]
    ]
    async with unit_of_work(call.state.sessions) as session:
        results = await service.put_events(session, entries, call.region)
    shaped = [
        {"EventId": r.event_id}
        if r.event_id
        else {"ErrorCode": r.error_code, "ErrorMessage": r.error_message}
        for r in results
    ]
    return {"FailedEntryCount": sum(1 for r in results if r.event_id is None), "Entries": shaped}


async def put_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name, where = params["Name"], _bus(params)
    async with unit_of_work(call.state.sessions) as session:
        await service.put_rule(
            session, where, name, params.get("EventPattern"), params.get("State"),
            params.get("Description"), params.get("ScheduleExpression"),
        )  # fmt: skip
    return {"RuleArn": bus.rule_arn(where, name, call.region)}


def _rule(rule: registry.EventRule, region: str) -> dict[str, Any]:
    return {
        "Name": rule.name, "Arn": bus.rule_arn(rule.bus_name, rule.name, region),
        "EventPattern": rule.event_pattern, "State": rule.state, "Description": rule.description,
        "EventBusName": rule.bus_name,
    }  # fmt: skip


async def describe_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        rule = await registry.get_rule(session, _bus(params), params["Name"])
    return {**_rule(rule, call.region), "CreatedBy": "000000000000"}


async def _set_state(call: Call, params: dict[str, Any], state: str) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        await registry.set_rule_state(session, _bus(params), params["Name"], state)
    return {}


async def enable_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return await _set_state(call, params, "ENABLED")


async def disable_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return await _set_state(call, params, "DISABLED")


async def delete_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        await registry.delete_rule(session, _bus(params), params["Name"])
    return {}


async def list_rules(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        await registry.check_bus(session, _bus(params))
        rules = await registry.list_rules(session, _bus(params), params.get("NamePrefix") or "")
    return {"Rules": [_rule(r, call.region) for r in rules][: params.get("Limit") or 100]}


async def put_targets(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    specs = [
        service.TargetSpec(
            id=t["Id"],
            arn=t["Arn"],
            input=t.get("Input"),
            input_path=t.get("InputPath"),
            input_transformer=t.get("InputTransformer"),
            retry_policy=t.get("RetryPolicy"),
            dead_letter_arn=(t.get("DeadLetterConfig") or {}).get("Arn"),
        )
        for t in params["Targets"]
    ]
    unserved = [
        service.TargetFailure(t["Id"], "ValidationException", f"{', '.join(sorted(extra))} not supported")
        for t in params["Targets"]
        if (extra := set(t) - SERVED_TARGET_MEMBERS)
    ]
    refused = {f.target_id for f in unserved}
    async with unit_of_work(call.state.sessions) as session:
        failures = await service.put_targets(
            session, _bus(params), params["Rule"], [s for s in specs if s.id not in refused]
        )
    return _failures(unserved + failures)


def _failures(failures: list[service.TargetFailure]) -> dict[str, Any]:
    return {
        "FailedEntryCount": len(failures),
        "FailedEntries": [
            {"TargetId": f.target_id, "ErrorCode": f.code, "ErrorMessage": f.message} for f in failures
        ],
    }


async def remove_targets(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        failures = await service.remove_targets(session, _bus(params), params["Rule"], params["Ids"])
    return _failures(failures)


async def list_targets_by_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        await registry.get_rule(session, _bus(params), params["Rule"])
        targets = await registry.list_targets(session, _bus(params), params["Rule"])
    shaped = []
    for t in targets:
        found: dict[str, Any] = {"Id": t.target_id, "Arn": t.arn}
        if t.input is not None:
            found["Input"] = t.input
        if t.input_path is not None:
            found["InputPath"] = t.input_path
        if t.input_transformer is not None:
            found["InputTransformer"] = json.loads(t.input_transformer)
        if t.policy is not None:
            policy = Policy.loads(t.policy)
            found["RetryPolicy"] = {
                "MaximumRetryAttempts": policy.retries, "MaximumEventAgeInSeconds": policy.max_age_seconds,
            }  # fmt: skip
            if policy.dead_letter_arn:
                found["DeadLetterConfig"] = {"Arn": policy.dead_letter_arn}
        shaped.append(found)
    return {"Targets": shaped}


async def create_event_bus(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        created = await service.create_bus(session, params["Name"], params.get("Description") or "")
    return {"EventBusArn": bus.bus_arn(created.name, call.region), "Description": created.description}


async def describe_event_bus(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = bus.bus_name(params.get("Name"))
    async with unit_of_work(call.state.sessions) as session:
        await registry.check_bus(session, name)
    return {"Name": name, "Arn": bus.bus_arn(name, call.region)}


async def delete_event_bus(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        await registry.delete_bus(session, params["Name"])
    return {}


async def list_event_buses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        buses = await registry.list_buses(session)
    names = [registry.DEFAULT_BUS, *(b.name for b in buses)]
    prefix = params.get("NamePrefix") or ""
    return {
        "EventBuses": [
            {"Name": n, "Arn": bus.bus_arn(n, call.region)} for n in names if n.startswith(prefix)
        ][: params.get("Limit") or 100]
    }


def events_error(exc: Exception, params: dict[str, Any], region: str) -> AwsError | None:
    """EventBridge's error for ``exc`` (the connections' mapping for theirs); None for a bug."""
    if isinstance(exc, registry.EventRuleNotFound | registry.EventBusNotFound):
        return AwsError("ResourceNotFoundException", exc.detail)
    if isinstance(exc, InvalidRequest):
        codes = [p.get("code") for p in exc.problems]
        code = (
            "InvalidEventPatternException"
            if "InvalidEventPatternException" in codes
            else "ValidationException"
        )
        return AwsError(code, exc.detail)
    if isinstance(exc, Conflict) and "Name" in params and "Connection" not in exc.detail:
        return AwsError("ResourceAlreadyExistsException", exc.detail)
    if isinstance(exc, NotFound) and ("Rule" in params or "EventBusName" in params):
        return AwsError("ResourceNotFoundException", exc.detail)
    return connections.events_error(exc, params, region)


HANDLERS: dict[str, Handler] = {
    **connections.EVENTS.handlers,
    "PutEvents": put_events,
    "PutRule": put_rule,
    "DescribeRule": describe_rule,
    "EnableRule": enable_rule,
    "DisableRule": disable_rule,
    "DeleteRule": delete_rule,
    "ListRules": list_rules,
    "PutTargets": put_targets,
    "RemoveTargets": remove_targets,
    "ListTargetsByRule": list_targets_by_rule,
    "CreateEventBus": create_event_bus,
    "DescribeEventBus": describe_event_bus,
    "DeleteEventBus": delete_event_bus,
    "ListEventBuses": list_event_buses,
}


def _unsupported(operation: str) -> str:
    return (
        f"{operation} is not supported by Stepline: of EventBridge it serves buses, rules, targets, "
        "PutEvents and connections"
    )


EVENTS = JsonService("AWSEvents", "events", HANDLERS, events_error, _unsupported)
