"""A schedule's or a rule target's retry policy (``workers.events.retries``): backoff, the two ways
to give up, a rule target's default (AWS's), and the dead letter's attributes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.events.retries import Decision, Policy, dead_letter, decide, for_rule, split_error

START = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("policy", "attempts", "elapsed", "expected"),
    [
        (Policy(retries=2), 1, 0, Decision(1.0)),
        (Policy(retries=2), 2, 0, Decision(2.0)),
        (Policy(retries=2), 3, 0, Decision(None, "MaximumRetryAttempts")),
        (Policy(retries=0), 1, 0, Decision(None, "MaximumRetryAttempts")),
        (Policy(retries=185), 20, 0, Decision(300.0)),
        (Policy(retries=185, max_age_seconds=60), 1, 59, Decision(None, "MaximumEventAgeInSeconds")),
        (Policy(retries=185, max_age_seconds=60), 1, 30, Decision(1.0)),
    ],
    ids=["first-retry", "doubles", "retries-spent", "no-retries", "capped", "too-old", "young-enough"],
)
def test_decide(policy: Policy, attempts: int, elapsed: int, expected: Decision) -> None:
    assert decide(policy, attempts, START, START + timedelta(seconds=elapsed), 1.0) == expected


def test_a_rule_target_without_a_policy_gets_awss_default() -> None:
    """185 retries within 24 hours, spaced by the deliverer's backoff (10 s base, capped at 5
    minutes), no dead letter: simulated attempt by attempt, no waiting."""
    rule = "arn:aws:events:us-east-1:000000000000:rule/r"
    policy = Policy.loads(for_rule(None, rule))
    assert policy == Policy(retries=185, max_age_seconds=86400, rule_arn=rule)
    given = Policy(retries=1, max_age_seconds=60, dead_letter_arn="arn:d").dumps()
    assert Policy.loads(for_rule(given, rule)) == Policy(1, 60, "arn:d", rule_arn=rule)
    now, delays, attempts = START, [], 1
    while (decision := decide(policy, attempts, START, now, 10.0)).retry_in is not None:
        delays.append(decision.retry_in)
        now += timedelta(seconds=decision.retry_in)
        attempts += 1
    assert decision.exhausted == "MaximumRetryAttempts" and len(delays) == 185
    assert delays[:6] == [10.0, 20.0, 40.0, 80.0, 160.0, 300.0] and max(delays) == 300.0
    assert now - START < timedelta(hours=24)
    late = START + timedelta(seconds=86400 - 200)  # the age bounds it too: no retry past 24 hours
    assert decide(policy, 30, START, late, 10.0) == Decision(None, "MaximumEventAgeInSeconds")


def test_a_policy_survives_its_json() -> None:
    policy = Policy(retries=3, max_age_seconds=600, dead_letter_arn="arn:x", schedule_arn="arn:s")
    assert Policy.loads(policy.dumps()) == policy


def test_the_dead_letter_carries_schedulers_attributes() -> None:
    policy = Policy(dead_letter_arn="arn:dlq", schedule_arn="arn:s", scheduled_time="2026-12-04T00:00:00Z")
    letter = dead_letter(
        policy, delivery_id="d1", target_arn="arn:t", body='{"a": 1}',
        error="ResourceNotFoundException: gone", exhausted="MaximumRetryAttempts", attempts=3,
        region="us-east-1",
    )  # fmt: skip
    (record,) = letter["Records"]
    attributes = {k: v["stringValue"] for k, v in record["messageAttributes"].items()}
    assert attributes == {
        "ERROR_CODE": "ResourceNotFoundException", "ERROR_MESSAGE": "gone", "EXECUTION_ID": "d1",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "2",
        "SCHEDULED_TIME": "2026-12-04T00:00:00Z", "SCHEDULE_ARN": "arn:s", "TARGET_ARN": "arn:t",
    }  # fmt: skip
    assert record["body"] == '{"a": 1}' and record["eventSourceARN"] == "arn:dlq"


def test_an_error_without_a_code_is_an_internal_one() -> None:
    assert split_error("not a target Stepline delivers to: x")[0] == "AWS.Scheduler.InternalServerError"
    assert split_error("StateMachineDoesNotExist: gone") == ("StateMachineDoesNotExist", "gone")
