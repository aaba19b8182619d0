"""Routes for event buses, rules and targets (thin): ``/v1/events`` (PutEvents) and
``/v1/event-buses/{bus}/rules[/{rule}[/targets]]`` (``default`` is the default bus)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response, status

from api import event_bus_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import event_bus as use_cases
from foundation.registry import event_bus as registry
from workers.events import bus

router = APIRouter(tags=["events"], route_class=JsonRoute)


@router.post("/v1/events")
async def put_events(body: schemas.PutEventsIn, session: SessionDep, state: StateDep) -> schemas.PutEventsOut:
    entries = [
        bus.Entry(
            source=e.source,
            detail_type=e.detail_type,
            detail=json.dumps(e.detail),
            resources=e.resources,
            bus=bus.bus_name(e.event_bus_name),
        )
        for e in body.entries
    ]
    results = await use_cases.put_events(session, entries, state.settings.region)
    return schemas.PutEventsOut(
        failed_entry_count=sum(1 for r in results if r.event_id is None),
        entries=[
            schemas.EventResult(event_id=r.event_id, error_code=r.error_code, error_message=r.error_message)
            for r in results
        ],
    )


def _public(rule: registry.EventRule, region: str) -> schemas.RulePublic:
    return schemas.RulePublic(
        name=rule.name, arn=bus.rule_arn(rule.bus_name, rule.name, region), event_bus_name=rule.bus_name,
        event_pattern=json.loads(rule.event_pattern), state=rule.state, description=rule.description,
        matched=rule.matched, delivered=rule.delivered, failed=rule.failed, last_error=rule.last_error,
        created_at=rule.created_at,
    )  # fmt: skip


@router.put("/v1/event-buses/{event_bus}/rules/{rule}")
async def put_rule(
    event_bus: str, rule: str, body: schemas.RuleIn, session: SessionDep, state: StateDep
) -> schemas.RulePublic:
    pattern = json.dumps(body.event_pattern)
    put = await use_cases.put_rule(session, event_bus, rule, pattern, body.state, body.description, None)
    return _public(put, state.settings.region)


@router.get("/v1/event-buses/{event_bus}/rules")
async def list_rules(event_bus: str, session: SessionDep, state: StateDep) -> schemas.RuleList:
    await registry.check_bus(session, event_bus)
    rules = await registry.list_rules(session, event_bus)
    return schemas.RuleList(rules=[_public(r, state.settings.region) for r in rules])


@router.get("/v1/event-buses/{event_bus}/rules/{rule}")
async def get_rule(event_bus: str, rule: str, session: SessionDep, state: StateDep) -> schemas.RulePublic:
    return _public(await registry.get_rule(session, event_bus, rule), state.settings.region)


@router.delete("/v1/event-buses/{event_bus}/rules/{rule}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(event_bus: str, rule: str, session: SessionDep) -> Response:
    await registry.delete_rule(session, event_bus, rule)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/v1/event-buses/{event_bus}/rules/{rule}/targets")
async def put_targets(
    event_bus: str, rule: str, body: schemas.TargetsIn, session: SessionDep
) -> schemas.TargetsOut:
    specs = [
        use_cases.TargetSpec(
            id=t.id,
            arn=t.arn,
            input=t.input,
            input_path=t.input_path,
            input_transformer=None
            if t.input_transformer is None
            else {
                "InputPathsMap": t.input_transformer.input_paths_map,
                "InputTemplate": t.input_transformer.input_template,
            },
            retry_policy=None
            if t.retry_policy is None
            else {
                "MaximumRetryAttempts": t.retry_policy.maximum_retry_attempts,
                "MaximumEventAgeInSeconds": t.retry_policy.maximum_event_age_in_seconds,
            },
            dead_letter_arn=t.dead_letter_config.arn if t.dead_letter_config else None,
        )
        for t in body.targets
    ]
    failures = await use_cases.put_targets(session, event_bus, rule, specs)
    return schemas.TargetsOut(
        failed_entry_count=len(failures),
        failed_entries=[
            schemas.TargetFailure(target_id=f.target_id, error_code=f.code, error_message=f.message)
            for f in failures
        ],
    )
