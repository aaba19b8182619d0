"""Distributed Map through the Step Functions endpoint with unmodified boto3: a machine puts an object
into a Stepline file system through ``aws-sdk:s3:putObject`` (no s3 endpoint configured: the Bucket
names the file system), a Distributed Map reads it as its items, batches them, and writes its results
and manifest back, which a third machine reads; an ItemReader outside DISTRIBUTED mode is an
InvalidDefinition naming its field."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from api.aws.lambda_config import access_point_arn
from tests.integration.aws.lambda_kit import create, lam, unique  # noqa: F401  (the lam fixture)
from tests.integration.function_kit import requires_bwrap
from workers.integrations.endpoints import FRESH_SECONDS

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
ITEMS = 2_000


def wait_done(sfn: Any, execution_arn: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def run(sfn: Any, definition: dict[str, Any], value: Any = None) -> dict[str, Any]:
    name = f"dmap-{uuid.uuid4().hex[:8]}"
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(value or {}))
    return wait_done(sfn, started["executionArn"])


def s3_task(action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    task = {"Type": "Task", "Resource": f"arn:aws:states:::aws-sdk:s3:{action}", "End": True}
    return {"StartAt": "S3", "States": {"S3": {**task, "Parameters": parameters}}}


def test_a_distributed_map_reads_and_writes_a_file_system(aws_url: str, sfn: Any) -> None:
    if httpx.delete(f"{aws_url}/v1/service-endpoints/s3").status_code == 204:  # set by another test
        time.sleep(FRESH_SECONDS + 0.1)  # the worker keeps an endpoint it read this long
    bucket = f"dmap{uuid.uuid4().hex[:8]}"
    assert httpx.post(f"{aws_url}/v1/file-systems", json={"name": bucket}).status_code == 201
    items = [{"n": i} for i in range(ITEMS)]
    seeded = run(
        sfn,
        s3_task(
            "putObject", {"Bucket": bucket, "Key": "in/items.json", "Body.$": "States.JsonToString($.items)"}
        ),
        {"items": items},
    )
    assert seeded["status"] == "SUCCEEDED", seeded
    each = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": bucket, "Key": "in/items.json"},
        },
        "ItemBatcher": {"MaxItemsPerBatch": 100},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Count",
            "States": {
                "Count": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.Items)"}, "End": True}
            },
        },
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": "results"},
        },
        "End": True,
    }
    done = run(sfn, {"StartAt": "Each", "States": {"Each": each}})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    details = output["ResultWriterDetails"]
    assert details["Bucket"] == bucket and details["Key"].startswith("results/")
    history = sfn.get_execution_history(executionArn=done["executionArn"], maxResults=1000)["events"]
    started = [e for e in history if e["type"] == "MapRunStarted"]
    assert started[0]["mapRunStartedEventDetails"]["mapRunArn"] == output["MapRunArn"]
    assert ":mapRun:" in output["MapRunArn"]
    listed = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    assert [r["mapRunArn"] for r in listed] == [output["MapRunArn"]]
    assert listed[0]["stateMachineArn"] == done["stateMachineArn"]
    described = sfn.describe_map_run(mapRunArn=output["MapRunArn"])
    assert described["status"] == "SUCCEEDED" and described["executionArn"] == done["executionArn"]
    assert described["itemCounts"]["succeeded"] == ITEMS and described["itemCounts"]["total"] == ITEMS
    assert described["executionCounts"]["succeeded"] == ITEMS // 100
    assert described["executionCounts"]["pending"] == 0 and described["executionCounts"]["failed"] == 0
    manifest_run = run(sfn, s3_task("getObject", {"Bucket": bucket, "Key": details["Key"]}))
    manifest = json.loads(json.loads(manifest_run["output"])["Body"])
    assert manifest["MapRunArn"] == output["MapRunArn"] and manifest["DestinationBucket"] == bucket
    files = manifest["ResultFiles"]
    assert files["FAILED"] == [] and files["PENDING"] == []
    counted = 0
    for entry in files["SUCCEEDED"]:
        read = run(sfn, s3_task("getObject", {"Bucket": bucket, "Key": entry["Key"]}))
        records = json.loads(json.loads(read["output"])["Body"])
        counted += sum(json.loads(r["Output"])["n"] for r in records)
        assert {r["Status"] for r in records} == {"SUCCEEDED"}
    assert counted == ITEMS


def test_map_run_reads_refuse_unknown_runs(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:mapRun:nope:nope/Each:1"
    with pytest.raises(ClientError) as raised:
        sfn.describe_map_run(mapRunArn=missing)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as raised:
        sfn.describe_map_run(mapRunArn="arn:aws:states:us-east-1:123456789012:execution:a:b")
    assert raised.value.response["Error"]["Code"] == "InvalidArn"
    with pytest.raises(ClientError) as raised:
        sfn.list_map_runs(executionArn="arn:aws:states:us-east-1:123456789012:execution:nope:nope")
    assert raised.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_an_item_reader_outside_distributed_mode_is_refused_at_its_field(sfn: Any) -> None:
    each = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": "b", "Key": "k"},
        },
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    definition = json.dumps({"StartAt": "Each", "States": {"Each": each}})
    with pytest.raises(ClientError) as raised:
        sfn.create_state_machine(name=f"dmap-{uuid.uuid4().hex[:8]}", definition=definition, roleArn=ROLE)
    assert raised.value.response["Error"]["Code"] == "InvalidDefinition"
    message = raised.value.response["Error"]["Message"]
    assert "/States/Each/ItemReader" in message and "DISTRIBUTED" in message


def describe_when(sfn: Any, arn: str, check: Any, seconds: float = 20) -> dict[str, Any]:
    """DescribeMapRun until ``check`` holds for it (or the time is up: the last answer)."""
    deadline = time.monotonic() + seconds
    while True:
        described: dict[str, Any] = sfn.describe_map_run(mapRunArn=arn)
        if check(described) or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def test_update_map_run_changes_the_remaining_items_and_counts_show_progress(sfn: Any) -> None:
    """One child at a time until UpdateMapRun allows eight and tolerates one failure: the counts
    move while the run goes, the last item's failure is tolerated, the new settings are shown."""
    each = {
        "Type": "Map",
        "MaxConcurrency": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Pause",
            "States": {
                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Which"},
                "Which": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.bad", "IsPresent": True, "Next": "Bad"}],
                    "Default": "Good",
                },
                "Bad": {"Type": "Fail", "Error": "Bad"},
                "Good": {"Type": "Succeed"},
            },
        },
        "End": True,
    }
    name = f"dmap-{uuid.uuid4().hex[:8]}"
    definition = json.dumps({"StartAt": "Each", "States": {"Each": each}})
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)
    items = [{"n": i} for i in range(11)] + [{"bad": True}]
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(items))
    deadline = time.monotonic() + 20
    while not (runs := sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]):
        assert time.monotonic() < deadline, "no map run"
        time.sleep(0.05)
    arn = runs[0]["mapRunArn"]
    early = describe_when(sfn, arn, lambda d: d["executionCounts"]["succeeded"] >= 1)
    assert early["status"] == "RUNNING" and early["maxConcurrency"] == 1, early
    assert early["executionCounts"]["running"] <= 1 and early["executionCounts"]["pending"] >= 8, early
    assert early["itemCounts"]["total"] == 12
    sfn.update_map_run(mapRunArn=arn, maxConcurrency=8, toleratedFailureCount=1)
    updated = sfn.describe_map_run(mapRunArn=arn)
    assert (updated["maxConcurrency"], updated["toleratedFailureCount"]) == (8, 1)
    wider = describe_when(sfn, arn, lambda d: d["executionCounts"]["running"] > 1 or d["status"] != "RUNNING")
    assert wider["executionCounts"]["running"] > 1, wider
    done = wait_done(sfn, execution["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])[-1]["Error"] == "Bad"
    final = describe_when(sfn, arn, lambda d: d["status"] != "RUNNING")
    assert final["status"] == "SUCCEEDED" and final["maxConcurrency"] == 8
    assert (final["executionCounts"]["succeeded"], final["executionCounts"]["failed"]) == (11, 1)
    for params, code in [
        ({"mapRunArn": arn, "maxConcurrency": 2}, "ValidationException"),  # no longer running
        ({"mapRunArn": arn}, "ValidationException"),
        ({"mapRunArn": arn, "toleratedFailurePercentage": 150}, "ValidationException"),
        ({"mapRunArn": "arn:aws:states:us-east-1:1:execution:a:b", "maxConcurrency": 2}, "InvalidArn"),
    ]:
        with pytest.raises(ClientError) as raised:
            sfn.update_map_run(**params)
        assert raised.value.response["Error"]["Code"] == code, params


def test_a_manifest_reader_iterates_an_inventory_in_a_file_system(aws_url: str, sfn: Any) -> None:
    """An S3 inventory (manifest.json and two CSV files) in a Stepline file system: each row is an item."""
    if httpx.delete(f"{aws_url}/v1/service-endpoints/s3").status_code == 204:  # set by another test
        time.sleep(FRESH_SECONDS + 0.1)
    bucket = f"inv{uuid.uuid4().hex[:8]}"
    assert httpx.post(f"{aws_url}/v1/file-systems", json={"name": bucket}).status_code == 201
    manifest = {
        "sourceBucket": "photos",
        "destinationBucket": f"arn:aws:s3:::{bucket}",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "data/a.csv"}, {"key": "data/b.csv"}],
    }
    objects = {
        "manifest.json": json.dumps(manifest),
        "data/a.csv": '"photos","1.jpg","10"\n"photos","2.jpg","20"\n',
        "data/b.csv": '"photos","3.jpg","30"\n',
    }
    puts = {
        f"Put{i}": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": bucket, "Key": key, "Body": body},
            **({"Next": f"Put{i + 1}"} if i < len(objects) - 1 else {"End": True}),
        }
        for i, (key, body) in enumerate(objects.items())
    }
    assert run(sfn, {"StartAt": "Put0", "States": puts})["status"] == "SUCCEEDED"
    each = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "MANIFEST"},
            "Parameters": {"Bucket": bucket, "Key": "manifest.json"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Size",
            "States": {
                "Size": {"Type": "Pass", "Parameters": {"key.$": "$.Key", "size.$": "$.Size"}, "End": True}
            },
        },
        "End": True,
    }
    done = run(sfn, {"StartAt": "Each", "States": {"Each": each}})
    assert done["status"] == "SUCCEEDED", done
    (listed,) = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    described = httpx.get(f"{aws_url}/v1/map-runs", params={"mapRunArn": listed["mapRunArn"]}).json()
    assert (
        described["executionType"] == "EXPRESS"
    )  # ProcessorConfig.ExecutionType, on /v1 as on AWS's console
    assert json.loads(done["output"]) == [
        {"key": "1.jpg", "size": "10"},
        {"key": "2.jpg", "size": "20"},
        {"key": "3.jpg", "size": "30"},
    ]


COUNTING = """import json
import os

CALLS = "/mnt/calls"


def handler(event, context):
    if "counts" in event:  # the test asks: how often each item's function ran
        return {name: len(open(f"{CALLS}/{name}").read()) for name in os.listdir(CALLS)}
    with open(f"{CALLS}/{event['n']}", "a") as calls:  # one file per item: no two writers share one
        calls.write(".")
    if event.get("bad") and not os.environ.get("FIXED"):
        raise ValueError(f"item {event['n']} is bad")
    return {"n": event["n"]}
"""


@requires_bwrap
def test_a_redrive_continues_a_standard_distributed_maps_run(
    aws_url: str,
    sfn: Any,
    lam: Any,  # noqa: F811
) -> None:
    """A STANDARD Distributed Map, one child at a time, fails past its tolerance at item 3 (its
    function raises); the function is fixed and the execution redriven: the same map run (same ARN,
    first startDate, redriveCount 1, redriveDate, the only one listed, MapRunRedriven) runs the
    children that did not succeed, and only those: the function, counting its calls per item in a
    file system, ran once for every item but the one that failed (twice)."""
    fs = unique("fs")
    assert httpx.post(aws_url + "/v1/file-systems", json={"name": fs}).status_code == 201
    point = {"name": "calls", "rootDirectory": "/calls", "posixUser": {"uid": 1000, "gid": 1000}}
    assert httpx.post(aws_url + f"/v1/file-systems/{fs}/access-points", json=point).status_code == 201
    mount = [{"Arn": access_point_arn("us-east-1", fs, "calls"), "LocalMountPath": "/mnt/calls"}]
    function = unique("fn")
    create(lam, function, {"app.py": COUNTING}, FileSystemConfigs=mount)
    each = {
        "Type": "Map",
        "MaxConcurrency": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{function}",
                    "End": True,
                }
            },
        },
        "End": True,
    }
    definition = json.dumps({"StartAt": "Each", "States": {"Each": each}})
    machine = sfn.create_state_machine(name=unique("dmap"), definition=definition, roleArn=ROLE)
    items = [{"n": i, "bad": i == 3} for i in range(6)]
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(items))
    execution = started["executionArn"]
    failed = wait_done(sfn, execution)
    assert (failed["status"], failed["redriveStatus"]) == ("FAILED", "REDRIVABLE"), failed
    (listed,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    arn = listed["mapRunArn"]
    before = describe_when(sfn, arn, lambda d: d["status"] != "RUNNING")
    assert (before["status"], before["redriveCount"]) == ("FAILED", 0) and "redriveDate" not in before
    assert before["executionCounts"] | {"aborted": 0} == {
        "pending": 0, "running": 0, "succeeded": 3, "failed": 1, "timedOut": 0, "aborted": 0,
        "total": 6, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0,
    }, before  # fmt: skip
    assert before["executionCounts"]["aborted"] == 2, before  # items 4 and 5 never started

    def calls() -> dict[int, int]:
        answer = lam.invoke(FunctionName=function, Payload=json.dumps({"counts": True}))
        assert "FunctionError" not in answer, answer
        return {int(n): count for n, count in json.loads(answer["Payload"].read()).items()}

    assert calls() == {0: 1, 1: 1, 2: 1, 3: 1}
    lam.update_function_configuration(FunctionName=function, Environment={"Variables": {"FIXED": "1"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    sfn.redrive_execution(executionArn=execution)
    done = wait_done(sfn, execution)
    assert (done["status"], done["redriveCount"]) == ("SUCCEEDED", 1), done
    assert json.loads(done["output"]) == [{"n": i} for i in range(6)]
    assert calls() == {0: 1, 1: 1, 2: 1, 3: 2, 4: 1, 5: 1}  # the three that succeeded did not run again
    assert [r["mapRunArn"] for r in sfn.list_map_runs(executionArn=execution)["mapRuns"]] == [arn]
    after = describe_when(sfn, arn, lambda d: d["status"] != "RUNNING")
    assert (after["status"], after["redriveCount"], after["startDate"]) == (
        "SUCCEEDED",
        1,
        before["startDate"],
    )
    assert before["stopDate"] <= after["redriveDate"] <= after["stopDate"], after
    for counts, total in ((after["executionCounts"], 6), (after["itemCounts"], 6)):
        assert counts == {
            "pending": 0, "running": 0, "succeeded": total, "failed": 0, "timedOut": 0, "aborted": 0,
            "total": total, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0,
        }, after  # fmt: skip
    history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    kinds = [e["type"] for e in history]
    assert kinds.count("MapRunStarted") == 1 and kinds.count("ExecutionRedriven") == 1, kinds
    redriven = [e["mapRunRedrivenEventDetails"] for e in history if e["type"] == "MapRunRedriven"]
    assert redriven == [{"mapRunArn": arn, "redriveCount": 1}]
    assert kinds.index("ExecutionRedriven") < kinds.index("MapRunRedriven") < kinds.index("MapRunSucceeded")
