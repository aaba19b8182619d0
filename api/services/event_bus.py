"""Event buses, rules and targets (EventBridge's use cases), for ``/v1/event-buses`` and the AWS
endpoint alike. Patterns are compiled when a rule is put (an invalid one is refused with the reason);
targets are functions or state machines of this Stepline, checked when they are put.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.errors import InvalidRequest, LimitExceeded
from foundation.registry import event_bus as registry
from foundation.registry import functions as function_registry
from foundation.registry.state_machines import StateMachineNotFound, get_state_machine
from statemachine import parse_function_ref
from workers.events import bus
from workers.events.patterns import InvalidEventPatternException, compile_pattern
from workers.events.retries import DEFAULT_MAX_AGE, DEFAULT_RETRIES, Policy
from workers.events.transform import InvalidInputTransformer, TargetInput, check

MAX_TARGETS = 5
MAX_RULES_PER_BUS = 300
"""EventBridge's default quota: PutEvents matches every enabled rule of the bus."""
MAX_PATTERN_LENGTH = 4096
"""EventBridge's limit (botocore's model), for /v1 too."""
_RULE_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
_BUS_NAME = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")
_TARGET_ID = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")


def _invalid(where: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, [{"location": where, "message": message}])


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One target as PutTargets gives it."""

    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: dict[str, Any] | None = None
    retry_policy: dict[str, Any] | None = None
    """``{"MaximumRetryAttempts": 0-185, "MaximumEventAgeInSeconds": 60-86400}`` (AWS's defaults
    185 and 86400 when only one is given or only a dead-letter target)."""
    dead_letter_arn: str | None = None
    """A function or a state machine of this Stepline (it has no SQS queues)."""

    def policy(self) -> str | None:
        """The stored policy (None: neither member given)."""
        if self.retry_policy is None and self.dead_letter_arn is None:
            return None
        given = self.retry_policy or {}
        return Policy(
            retries=given.get("MaximumRetryAttempts", DEFAULT_RETRIES),
            max_age_seconds=given.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE),
            dead_letter_arn=self.dead_letter_arn,
        ).dumps()


@dataclass(frozen=True, slots=True)
class TargetFailure:
    target_id: str
    code: str
    message: str


async def create_bus(session: AsyncSession, name: str, description: str) -> registry.EventBus:
    if not _BUS_NAME.match(name) or name.startswith("aws."):
        raise _invalid("/Name", f"{name!r} is not a valid event bus name.")
    return await registry.create_bus(session, name, description)


async def put_rule(
    session: AsyncSession, bus_name: str, name: str, pattern: str | None, state: str | None,
    description: str | None, schedule: str | None,
) -> registry.EventRule:  # fmt: skip
    """Create or update a rule; its pattern must compile (InvalidEventPatternException otherwise)."""
    if not _RULE_NAME.match(name):
        raise _invalid("/Name", f"{name!r} is not a valid rule name.")
    if schedule is not None:
        raise _invalid("/ScheduleExpression", "Scheduled rules are not supported; use a schedule.")
    if pattern is None:
        raise _invalid("/EventPattern", "Parameter EventPattern is required.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _invalid("/EventPattern", f"EventPattern is longer than {MAX_PATTERN_LENGTH} characters.")
    try:
        compile_pattern(pattern)
    except InvalidEventPatternException as exc:
        where = "/EventPattern"
        raise InvalidRequest(
            str(exc), [{"location": where, "message": str(exc), "code": "InvalidEventPatternException"}]
        ) from None
    if state not in (None, "ENABLED", "DISABLED"):
        raise _invalid("/State", "State must be ENABLED or DISABLED.")
    await registry.check_bus(session, bus_name)
    if await registry.count_rules(session, bus_name) >= MAX_RULES_PER_BUS:
        try:
            await registry.get_rule(session, bus_name, name)
        except registry.EventRuleNotFound:
            message = f"The requested resource exceeds the maximum number allowed ({MAX_RULES_PER_BUS})."
            raise LimitExceeded(message) from None
    return await registry.put_rule(session, bus_name, name, pattern, state or "ENABLED", description or "")


async def put_targets(
    session: AsyncSession, bus_name: str, rule: str, targets: list[TargetSpec]
) -> list[TargetFailure]:
    """Create or replace targets (at most five per rule); the ones refused, each with its reason."""
    await registry.get_rule(session, bus_name, rule)
    existing = {t.target_id for t in await registry.list_targets(session, bus_name, rule)}
    if len(existing | {t.id for t in targets}) > MAX_TARGETS:
        raise InvalidRequest(f"The requested resource exceeds the maximum number allowed ({MAX_TARGETS}).")
    failures: list[TargetFailure] = []
    for spec in targets:
        problem = await target_problem(session, spec) or await _policy_problem(session, spec)
        if problem is not None:
            failures.append(TargetFailure(spec.id, "ValidationException", problem))
            continue
        transformer = spec.input_transformer
        await registry.put_target(
            session,
            registry.EventTarget(
                bus_name=bus_name, rule_name=rule, target_id=spec.id, arn=spec.arn, input=spec.input,
                input_path=spec.input_path,
                input_transformer=json.dumps(transformer) if transformer is not None else None,
                policy=spec.policy(),
            ),
        )  # fmt: skip
    return failures


async def target_problem(session: AsyncSession, spec: TargetSpec) -> str | None:
    """Why ``spec`` cannot be a target (None when it can)."""
    if not _TARGET_ID.match(spec.id):
        return f"{spec.id!r} is not a valid target id."
    transformer = spec.input_transformer or {}
    paths = transformer.get("InputPathsMap")
    template = transformer.get("InputTemplate")
    if spec.input_transformer is not None and not isinstance(template, str):
        return "InputTransformer.InputTemplate is required."
    if paths is not None and not (
        isinstance(paths, dict) and all(isinstance(v, str) for v in paths.values())
    ):
        return "InputTransformer.InputPathsMap must map names to JSONPaths."
    try:
        check(TargetInput(spec.input, spec.input_path, paths, template))
    except InvalidInputTransformer as exc:
        return str(exc)
    parts = spec.arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda" and parts[5] == "function":
        name, qualifier = parse_function_ref(spec.arn)
        try:
            await function_registry.resolve_function(session, name, qualifier)
        except function_registry.FunctionNotFound:
            return f"The function {spec.arn} does not exist."
        return None
    if len(parts) == 7 and parts[0] == "arn" and parts[2] == "states" and parts[5] == "stateMachine":
        try:
            await get_state_machine(session, parts[6])
        except StateMachineNotFound:
            return f"The state machine {spec.arn} does not exist."
        return None
    return f"{spec.arn} is not a target Stepline delivers to (a function or a state machine ARN)."


async def _policy_problem(session: AsyncSession, spec: TargetSpec) -> str | None:
    """Why a target's RetryPolicy or DeadLetterConfig cannot be taken (None when they can)."""
    given = spec.retry_policy or {}
    retries, age = given.get("MaximumRetryAttempts", 0), given.get("MaximumEventAgeInSeconds", 60)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 185:
        return "RetryPolicy.MaximumRetryAttempts must be an integer from 0 to 185."
    if not isinstance(age, int) or isinstance(age, bool) or not 60 <= age <= 86400:
        return "RetryPolicy.MaximumEventAgeInSeconds must be an integer from 60 to 86400."
    if spec.dead_letter_arn is None:
        return None
    problem = await target_problem(session, TargetSpec(id="dead-letter", arn=spec.dead_letter_arn))
    return f"DeadLetterConfig: {problem}" if problem is not None else None


async def remove_targets(
    session: AsyncSession, bus_name: str, rule: str, ids: list[str]
) -> list[TargetFailure]:
    await registry.get_rule(session, bus_name, rule)
    failures = []
    for target_id in ids:
        if not await registry.remove_target(session, bus_name, rule, target_id):
            failures.append(TargetFailure(target_id, "ResourceNotFoundException", "Target not found."))
    return failures


async def put_events(session: AsyncSession, entries: list[bus.Entry], region: str) -> list[bus.EntryResult]:
    return await bus.put_events(session, entries, region)
