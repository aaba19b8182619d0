"""EventBridge Scheduler through an unmodified boto3 ``scheduler`` client: a group with tags, a
schedule in it created, read, listed, updated (the new input is what its next slot delivers: an
execution of the target machine) and deleted with its group; AWS's errors for a missing schedule, a
taken name, a bad expression, a target of another service and a missing dead-letter target."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.integration.aws.conftest import client, refused
from tests.integration.aws.lambda_kit import unique

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::000000000000:role/scheduler"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def scheduler(aws_url: str) -> Any:
    return client(aws_url, "scheduler")


async def test_a_schedule_through_boto3_from_group_to_execution(
    scheduler: Any, sfn: Any, temporal_client: Client
) -> None:
    machine = sfn.create_state_machine(name=unique("tick"), definition=PASS, roleArn=ROLE)["stateMachineArn"]
    group = unique("team")
    group_arn = scheduler.create_schedule_group(Name=group, Tags=[{"Key": "team", "Value": "core"}])[
        "ScheduleGroupArn"
    ]
    assert group_arn.endswith(f":schedule-group/{group}")
    assert scheduler.get_schedule_group(Name=group)["State"] == "ACTIVE"
    assert scheduler.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [
        {"Key": "team", "Value": "core"}
    ]
    names = {g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]}
    assert {"default", group} <= names
    name = unique("every-hour")
    target = {
        "Arn": machine, "RoleArn": ROLE, "Input": '{"v": 1}',
        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
    }  # fmt: skip
    arn = scheduler.create_schedule(
        Name=name, GroupName=group, ScheduleExpression="rate(1 hour)",
        ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow={"Mode": "OFF"}, Target=target,
    )["ScheduleArn"]  # fmt: skip
    assert arn.endswith(f":schedule/{group}/{name}")
    got = scheduler.get_schedule(Name=name, GroupName=group)
    assert (got["ScheduleExpression"], got["ScheduleExpressionTimezone"], got["State"]) == (
        "rate(1 hour)", "Europe/Paris", "ENABLED",
    )  # fmt: skip
    assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}
    assert got["Target"]["Arn"] == machine and got["FlexibleTimeWindow"] == {"Mode": "OFF"}
    listed = scheduler.list_schedules(GroupName=group)["Schedules"]
    assert [(s["Name"], s["Target"]["Arn"], s["State"]) for s in listed] == [(name, machine, "ENABLED")]
    scheduler.update_schedule(
        Name=name, GroupName=group, ScheduleExpression="rate(2 hours)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
        Target={"Arn": machine, "RoleArn": ROLE, "Input": '{"v": 2}'},
    )  # fmt: skip
    got = scheduler.get_schedule(Name=name, GroupName=group)
    assert got["ScheduleExpression"] == "rate(2 hours)" and got["Target"]["Input"] == '{"v": 2}'
    assert got["LastModificationDate"] >= got["CreationDate"]
    await temporal_client.get_schedule_handle(f"stepline-schedule-{group}/{name}").trigger()
    deadline = time.monotonic() + 30
    while not (found := sfn.list_executions(stateMachineArn=machine)["executions"]):
        assert time.monotonic() < deadline, "the slot started no execution"
        await asyncio.sleep(0.2)
    (execution,) = found
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {"v": 2}
    scheduler.update_schedule(
        Name=name, GroupName=group, ScheduleExpression="rate(2 hours)", State="DISABLED",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": machine, "RoleArn": ROLE},
    )  # fmt: skip
    assert scheduler.list_schedules(GroupName=group, State="DISABLED")["Schedules"][0]["Name"] == name
    scheduler.delete_schedule_group(Name=group)
    assert refused(scheduler.get_schedule, Name=name, GroupName=group)[0] == "ResourceNotFoundException"
    assert refused(scheduler.get_schedule_group, Name=group)[0] == "ResourceNotFoundException"


def test_scheduler_errors_in_aws_words(scheduler: Any, sfn: Any) -> None:
    machine = sfn.create_state_machine(name=unique("err"), definition=PASS, roleArn=ROLE)["stateMachineArn"]
    name = unique("once")
    common = {"FlexibleTimeWindow": {"Mode": "OFF"}, "Target": {"Arn": machine, "RoleArn": ROLE}}
    scheduler.create_schedule(Name=name, ScheduleExpression="at(2099-01-01T00:00:00)", **common)
    code, message = refused(scheduler.create_schedule, Name=name, ScheduleExpression="rate(1 hour)", **common)
    assert code == "ConflictException" and name in message
    code, message = refused(
        scheduler.create_schedule, Name=unique("bad"), ScheduleExpression="every day", **common
    )
    assert code == "ValidationException" and "Invalid Schedule Expression" in message
    assert refused(scheduler.get_schedule, Name=unique("nope"))[0] == "ResourceNotFoundException"
    assert refused(scheduler.delete_schedule, Name=unique("nope"))[0] == "ResourceNotFoundException"
    sqs = {**common["Target"], "SqsParameters": {"MessageGroupId": "g"}}
    code, message = refused(
        scheduler.create_schedule, Name=unique("sqs"), ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=sqs,
    )  # fmt: skip
    assert code == "ValidationException" and "SqsParameters" in message
    gone = {**common["Target"], "DeadLetterConfig": {"Arn": machine + "-gone"}}
    code, message = refused(
        scheduler.create_schedule, Name=unique("dlq"), ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=gone,
    )  # fmt: skip
    assert code == "ValidationException" and "does not exist" in message
    retry = {**common["Target"], "RetryPolicy": {"MaximumRetryAttempts": 186}}
    code, _ = refused(
        scheduler.create_schedule, Name=unique("retry"), ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=retry,
    )  # fmt: skip
    assert code == "ValidationException"
    start, end = datetime(2098, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
    dated = unique("dated")
    scheduler.create_schedule(
        Name=dated, ScheduleExpression="cron(0 12 ? * 2 *)", StartDate=start, EndDate=end, **common
    )
    got = scheduler.get_schedule(Name=dated)
    assert (got["StartDate"], got["EndDate"]) == (start, end)
    code, message = refused(
        scheduler.create_schedule, Name=unique("backwards"), ScheduleExpression="rate(1 hour)",
        StartDate=end, EndDate=start, **common,
    )  # fmt: skip
    assert code == "ValidationException" and "StartDate must be before EndDate" in message
    scheduler.delete_schedule(Name=dated)
    assert refused(scheduler.delete_schedule_group, Name="default")[0] == "ConflictException"
    scheduler.delete_schedule(Name=name)  # refusing to delete the default group deleted none of it


def test_hostile_scheduler_requests_are_4xx_in_aws_words(aws_url: str) -> None:
    target = {"Arn": "arn:aws:states:us-east-1:000000000000:stateMachine:none", "RoleArn": ROLE}
    base = {"ScheduleExpression": "rate(1 hour)", "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": target}
    bodies: list[Any] = [
        {}, [], "x", {**base, "Target": 5}, {**base, "StartDate": "yesterday"}, {**base, "StartDate": 1e300},
        {**base, "FlexibleTimeWindow": {"Mode": "SOMETIMES"}}, {**base, "GroupName": "../../etc"},
        {**base, "ScheduleExpression": "x" * 300}, {**base, "Target": {**target, "Input": ""}},
        {**base, "Target": {**target, "DeadLetterConfig": {"Arn": ["not", "text"]}}},
        {**base, "Target": {**target, "DeadLetterConfig": {"Arn": "x" * 2000}}},
        {**base, "ScheduleExpressionTimezone": "../../../etc/passwd"},
    ]  # fmt: skip
    with httpx.Client(base_url=aws_url) as http:
        for body in bodies:
            answer = http.post("/schedules/hostile", content=json.dumps(body))
            assert 400 <= answer.status_code < 500, (body, answer.text)
            assert answer.headers["x-amzn-ErrorType"] in (
                "ValidationException",
                "SerializationException",
                "InvalidRequestContentException",
            )
        for path in ("/schedules/a%2Fb", "/schedules/" + "n" * 300, "/schedule-groups/%00", "/tags/x"):
            answer = http.get(path)
            assert 400 <= answer.status_code < 500, (path, answer.text)
        for query in ({"MaxResults": "0"}, {"MaxResults": "x"}, {"NextToken": "garbage"}, {"State": "ON"}):
            answer = http.get("/schedules", params=query)
            assert answer.status_code == 400 and answer.headers["x-amzn-ErrorType"] == "ValidationException"
        assert http.get("/schedules/x/y").headers["x-amzn-ErrorType"] == "UnknownOperationException"
        assert http.patch("/schedules/x").status_code == 404
