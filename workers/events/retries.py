"""A schedule target's ``RetryPolicy`` and ``DeadLetterConfig``, as the deliverer applies them (pure).

EventBridge Scheduler retries a failed invocation with exponential backoff up to
``MaximumRetryAttempts`` retries (0-185, default 185) while the event is younger than
``MaximumEventAgeInSeconds`` (60-86400, default 86400), then hands it to the dead-letter queue with
error attributes. Stepline has no SQS: the dead-letter target is a function (an Event invocation),
a state machine (an execution) or an event bus of this Stepline, and it receives the event as the
SQS message a Lambda would read from a dead-letter queue: ``{"Records": [{"body": <the target's
input>, "messageAttributes": {ERROR_CODE, ERROR_MESSAGE, EXECUTION_ID, EXHAUSTED_RETRY_CONDITION,
RETRY_ATTEMPTS, SCHEDULED_TIME, SCHEDULE_ARN, TARGET_ARN}, ...}]}`` (on a bus: that record is the
detail of a ``Scheduler Dead-letter Event`` from ``aws.scheduler``).

A rule's target (EventBridge's ``RetryPolicy`` and ``DeadLetterConfig``, the same ranges) gets the
same treatment, AWS's defaults when it has no RetryPolicy (185 retries, backoff capped at five
minutes, given up when the event is 24 hours old); its dead letter carries ERROR_CODE, ERROR_MESSAGE,
EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, RULE_ARN and TARGET_ARN, and goes to a function or a state
machine only (a bus could route a failing dead letter back to its own rule).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

DEFAULT_RETRIES = 185
DEFAULT_MAX_AGE = 86400
MAX_BACKOFF_SECONDS = 300.0
DEAD_LETTER = "dead-letter"
"""The ``target_id`` of a dead-letter delivery (schedules' own have the schedule's name)."""


@dataclass(frozen=True, slots=True)
class Policy:
    retries: int = DEFAULT_RETRIES
    max_age_seconds: int = DEFAULT_MAX_AGE
    dead_letter_arn: str | None = None
    schedule_arn: str = ""
    scheduled_time: str = ""
    rule_arn: str = ""
    """Set for a rule's target (EventBridge's dead letter: RULE_ARN instead of the schedule's)."""

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @staticmethod
    def loads(text: str) -> Policy:
        return Policy(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Decision:
    retry_in: float | None
    """Seconds until the next attempt; None: give up."""
    exhausted: str | None = None
    """Why it gave up: ``MaximumRetryAttempts`` or ``MaximumEventAgeInSeconds``."""


def decide(policy: Policy, attempts: int, created: datetime, now: datetime, base_seconds: float) -> Decision:
    """After ``attempts`` failed attempts: when to try again, or why not (exponential backoff from
    ``base_seconds``, capped at five minutes; a retry that would fall past the event's age is none)."""
    if attempts > policy.retries:
        return Decision(None, "MaximumRetryAttempts")
    delay = min(base_seconds * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    if now + timedelta(seconds=delay) - created >= timedelta(seconds=policy.max_age_seconds):
        return Decision(None, "MaximumEventAgeInSeconds")
    return Decision(delay)


def for_rule(stored: str | None, rule_arn: str) -> str:
    """A rule target's stored policy, as its deliveries carry it; a target without one gets AWS's
    defaults (185 retries within 24 hours, the deliverer's backoff, no dead letter)."""
    policy = Policy() if stored is None else Policy.loads(stored)
    return dataclasses.replace(policy, rule_arn=rule_arn).dumps()


def dead_letter_id(delivery_id: str) -> str:
    """The dead letter's delivery id: one per failed delivery, whatever is retried."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepline-dead-letter:{delivery_id}"))


def split_error(error: str) -> tuple[str, str]:
    """``"Code: message"`` -> (code, message)."""
    code, sep, message = error.partition(": ")
    if not sep or " " in code:
        return "AWS.Scheduler.InternalServerError", error
    return code, message


def dead_letter(
    policy: Policy, *, delivery_id: str, target_arn: str, body: str, error: str, exhausted: str,
    attempts: int, region: str,
) -> dict[str, Any]:  # fmt: skip
    """The SQS-shaped record the dead-letter target receives."""
    code, message = split_error(error)
    attributes = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": message,
        "EXHAUSTED_RETRY_CONDITION": exhausted,
        "RETRY_ATTEMPTS": str(max(attempts - 1, 0)),
        "TARGET_ARN": target_arn,
    }
    if policy.rule_arn:
        attributes["RULE_ARN"] = policy.rule_arn
    else:
        attributes |= {
            "EXECUTION_ID": delivery_id,
            "SCHEDULED_TIME": policy.scheduled_time,
            "SCHEDULE_ARN": policy.schedule_arn,
        }
    record = {
        "messageId": dead_letter_id(delivery_id),
        "body": body,
        "attributes": {},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"} for name, value in attributes.items()
        },
        "eventSource": "aws:sqs",
        "eventSourceARN": policy.dead_letter_arn,
        "awsRegion": region,
    }
    return {"Records": [record]}
