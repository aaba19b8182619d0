"""Distributed Map end to end on Temporal: items read from a Stepline file system (no s3 endpoint
configured) or from S3 (a moto server), batched, run in chunk child workflows, results written back
with a manifest; the parent's Temporal history stays small."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from foundation.settings import Settings
from tests.integration.helpers import all_history, create_machine, start, unique, wait_until_done
from tests.integration.integrations.conftest import aws
from tests.integration.integrations.test_aws_services import configure
from workers.integrations.endpoints import FRESH_SECONDS

pytestmark = pytest.mark.usefixtures("integrations_worker")

ITEMS = 5_000


@pytest.fixture
async def no_s3_endpoint(api: httpx.AsyncClient) -> None:
    """Buckets are file systems only while no s3 endpoint is configured (another test may have set one)."""
    if (await api.delete("/v1/service-endpoints/s3")).status_code == 204:
        await asyncio.sleep(FRESH_SECONDS + 0.1)  # workers keep an endpoint they read this long


def machine(reader: dict[str, Any], writer_bucket: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": reader,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.Items[0].bad", "IsPresent": True, "Next": "Bad"}],
                            "Default": "Count",
                        },
                        "Bad": {"Type": "Fail", "Error": "Bad", "Cause": "a bad batch"},
                        "Count": {
                            "Type": "Pass",
                            "Parameters": {"n.$": "States.ArrayLength($.Items)", "tag.$": "$.BatchInput.tag"},
                            "End": True,
                        },
                    },
                },
                "ItemBatcher": {"MaxItemsPerBatch": 50, "BatchInput": {"tag.$": "$.tag"}},
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": writer_bucket, "Prefix": "out"},
                },
                **fields,
                "End": True,
            }
        },
    }


@pytest.mark.usefixtures("no_s3_endpoint")
async def test_items_from_a_file_system_in_batches_with_results_written_back(
    api: httpx.AsyncClient, settings: Settings, temporal_client: Client
) -> None:
    file_system = unique("dmap")
    assert (await api.post("/v1/file-systems", json={"name": file_system})).status_code == 201
    root = settings.data_dir.resolve() / "fs" / file_system
    (root / "in").mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"i": i, **({"bad": 1} if i == 100 else {})}) for i in range(ITEMS + 7)]
    (root / "in" / "items.jsonl").write_text("\n".join(lines))
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL", "MaxItems": ITEMS},
        "Parameters": {"Bucket": file_system, "Key": "in/items.jsonl"},
    }
    name = await create_machine(api, machine(reader, file_system, ToleratedFailureCount=1))
    execution = (await start(api, name, {"tag": "t1"}))["executionId"]
    done = await wait_until_done(api, execution, seconds=180)
    assert done["status"] == "SUCCEEDED", done
    output = done["output"]
    key = output["ResultWriterDetails"]["Key"]
    assert output["ResultWriterDetails"]["Bucket"] == file_system
    manifest = json.loads((root / key).read_text())
    assert manifest["MapRunArn"] == output["MapRunArn"]
    succeeded = [
        e for f in manifest["ResultFiles"]["SUCCEEDED"] for e in json.loads((root / f["Key"]).read_text())
    ]
    failed = [e for f in manifest["ResultFiles"]["FAILED"] for e in json.loads((root / f["Key"]).read_text())]
    assert len(succeeded) == ITEMS // 50 - 1 and len(failed) == 1
    assert sum(json.loads(e["Output"])["n"] for e in succeeded) == ITEMS - 50
    assert {json.loads(e["Output"])["tag"] for e in succeeded} == {"t1"}
    assert failed[0]["Name"] == "2" and failed[0]["Error"] == "Bad"  # item 100 is in the third batch
    events = await all_history(api, execution)
    started = [e for e in events if e["type"] == "MapRunStarted"]
    assert started[0]["mapRunStartedEventDetails"]["mapRunArn"] == output["MapRunArn"]
    assert "MapRunSucceeded" in {e["type"] for e in events}
    listed = (await api.get(f"/v1/executions/{execution}/map-runs")).json()["mapRuns"]
    assert [r["mapRunArn"] for r in listed] == [output["MapRunArn"]]
    described = (await api.get("/v1/map-runs", params={"mapRunArn": output["MapRunArn"]})).json()
    assert described["status"] == "SUCCEEDED" and described["toleratedFailureCount"] == 1
    assert described["executionType"] == "STANDARD"
    assert described["executionCounts"] == {
        "pending": 0, "running": 0, "succeeded": 99, "failed": 1, "timedOut": 0, "aborted": 0,
        "total": 100, "resultsWritten": 100, "failuresNotRedrivable": 0, "pendingRedrive": 0,
    }  # fmt: skip
    assert described["itemCounts"]["succeeded"] == ITEMS - 50 and described["itemCounts"]["failed"] == 50
    assert described["itemCounts"]["resultsWritten"] == ITEMS
    missing = await api.get("/v1/map-runs", params={"mapRunArn": output["MapRunArn"] + "x"})
    assert missing.status_code == 404, missing.text
    assert (await api.get("/v1/executions/nope:nope/map-runs")).status_code == 404
    arn = {"mapRunArn": output["MapRunArn"]}
    for body, code in [({"maxConcurrency": 5}, 400), ({}, 400), ({"maxConcurrency": -1}, 400)]:
        refused = await api.patch("/v1/map-runs", params=arn, json=body)  # the run has ended
        assert refused.status_code == code, (body, refused.text)
    unknown = await api.patch(
        "/v1/map-runs", params={"mapRunArn": arn["mapRunArn"] + "x"}, json={"maxConcurrency": 5}
    )
    assert unknown.status_code == 404, unknown.text
    temporal = await temporal_client.get_workflow_handle(done["executionId"]).fetch_history()
    assert len(temporal.events) < 200  # 5,000 items: the iterations' events live in chunk workflows


@pytest.mark.usefixtures("no_s3_endpoint")
async def test_a_missing_file_system_fails_the_reader_naming_what_to_configure(
    api: httpx.AsyncClient,
) -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": unique("nofs"), "Key": "../../etc/passwd"},
    }
    name = await create_machine(api, machine(reader, "x"))
    done = await wait_until_done(api, (await start(api, name, {"tag": 1}))["executionId"])
    assert done["error"] == "States.ItemReaderFailed"
    assert "S3.NoSuchBucket" in done["cause"] and "/v1/service-endpoints/s3" in done["cause"]


@pytest.mark.usefixtures("no_s3_endpoint")
async def test_keys_never_leave_the_file_system(api: httpx.AsyncClient, settings: Settings) -> None:
    file_system = unique("dmap")
    assert (await api.post("/v1/file-systems", json={"name": file_system})).status_code == 201
    root = settings.data_dir.resolve() / "fs" / file_system
    root.mkdir(parents=True, exist_ok=True)
    (root / "link.json").symlink_to("/etc/hostname")
    for key in ("../x.json", "link.json", "/etc/hostname"):
        reader = {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": file_system, "Key": key},
        }
        name = await create_machine(api, machine(reader, file_system))
        done = await wait_until_done(api, (await start(api, name, {"tag": 1}))["executionId"])
        assert done["error"] == "States.ItemReaderFailed", key
        assert "S3.InvalidRequest" in done["cause"] or "S3.NoSuchKey" in done["cause"], done["cause"]


@pytest.mark.usefixtures("no_s3_endpoint")
async def test_a_gzip_inventory_in_a_file_system_and_one_that_reaches_out(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    """MANIFEST over a file system: a gzip inventory file's rows are the items; a manifest listing a
    link out of the file system fails the reader (the same key checks as every read)."""
    file_system = unique("inv")
    assert (await api.post("/v1/file-systems", json={"name": file_system})).status_code == 201
    root = settings.data_dir.resolve() / "fs" / file_system
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "1.csv.gz").write_bytes(gzip.compress(b'"b","k1","1"\n"b","k2","2"\n'))
    (root / "data" / "link.csv.gz").symlink_to("/etc/hostname")
    outcomes = []
    for key in ("data/1.csv.gz", "data/link.csv.gz"):
        manifest = {
            "destinationBucket": file_system,
            "fileSchema": "Bucket, Key, Size",
            "files": [{"key": key}],
        }
        (root / "manifest.json").write_text(json.dumps(manifest))
        reader = {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "MANIFEST"},
            "Parameters": {"Bucket": file_system, "Key": "manifest.json"},
        }
        processor = {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        }
        each = {"Type": "Map", "ItemReader": reader, "ItemProcessor": processor, "End": True}
        name = await create_machine(api, {"StartAt": "Each", "States": {"Each": each}})
        outcomes.append(await wait_until_done(api, (await start(api, name))["executionId"]))
    assert outcomes[0]["output"] == [
        {"Bucket": "b", "Key": "k1", "Size": "1"},
        {"Bucket": "b", "Key": "k2", "Size": "2"},
    ], outcomes[0]
    assert outcomes[1]["error"] == "States.ItemReaderFailed" and "NoSuchKey" in outcomes[1]["cause"]


async def test_csv_items_from_s3_with_results_written_to_s3(api: httpx.AsyncClient, moto_url: str) -> None:
    await configure(api, moto_url, "s3")
    try:
        await _csv_from_s3(api, moto_url)
        await _gzip_inventory_from_s3(api, moto_url)
    finally:
        assert (await api.delete("/v1/service-endpoints/s3")).status_code == 204


async def _csv_from_s3(api: httpx.AsyncClient, moto_url: str) -> None:
    s3 = aws(moto_url, "s3")
    bucket = unique("dmap").lower()
    s3.create_bucket(Bucket=bucket)
    rows = "\n".join(f"{i};x{i}" for i in range(300))
    s3.put_object(Bucket=bucket, Key="rows.csv", Body=("i;name\n" + rows).encode())
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVDelimiter": "SEMICOLON"},
        "Parameters": {"Bucket": bucket, "Key": "rows.csv"},
    }
    name = await create_machine(api, machine(reader, bucket))
    done = await wait_until_done(api, (await start(api, name, {"tag": "s3"}))["executionId"], seconds=120)
    assert done["status"] == "SUCCEEDED", done
    key = done["output"]["ResultWriterDetails"]["Key"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    files = manifest["ResultFiles"]["SUCCEEDED"]
    entries = [
        e for f in files for e in json.loads(s3.get_object(Bucket=bucket, Key=f["Key"])["Body"].read())
    ]
    assert len(entries) == 6
    assert json.loads(entries[0]["Input"])["Items"][0] == {"i": "0", "name": "x0"}


async def _gzip_inventory_from_s3(api: httpx.AsyncClient, moto_url: str) -> None:
    """An S3 inventory as S3 writes it (gzip CSV files listed by manifest.json) read by MANIFEST."""
    s3 = aws(moto_url, "s3")
    bucket = unique("inv").lower()
    s3.create_bucket(Bucket=bucket)
    rows = "".join(f'"photos","p/{i}.jpg","{i}"\n' for i in range(120))
    s3.put_object(Bucket=bucket, Key="inv/data/1.csv.gz", Body=gzip.compress(rows.encode()))
    manifest = {
        "sourceBucket": "photos",
        "destinationBucket": f"arn:aws:s3:::{bucket}",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inv/data/1.csv.gz", "size": 1, "MD5checksum": "x"}],
    }
    s3.put_object(Bucket=bucket, Key="inv/manifest.json", Body=json.dumps(manifest).encode())
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "MANIFEST", "MaxItems": 100},
        "Parameters": {"Bucket": bucket, "Key": "inv/manifest.json"},
    }
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Key",
        "States": {"Key": {"Type": "Pass", "OutputPath": "$.Key", "End": True}},
    }
    each = {"Type": "Map", "ItemReader": reader, "ItemProcessor": processor, "End": True}
    name = await create_machine(api, {"StartAt": "Each", "States": {"Each": each}})
    done = await wait_until_done(api, (await start(api, name))["executionId"], seconds=60)
    assert (done["status"], done["output"]) == ("SUCCEEDED", [f"p/{i}.jpg" for i in range(100)]), done
