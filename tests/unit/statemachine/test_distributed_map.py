"""Distributed Map: ItemReader (JSON, JSONL, CSV, listObjectsV2, MaxItems), ItemBatcher (items, bytes,
BatchInput) and ResultWriter (result files and manifest), chunked as the Temporal host runs them."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping
from typing import Any

import pytest

from statemachine import StatesError, item_manifest
from statemachine.host import ServiceCall
from statemachine.interpreter import ExecutionOutcome, execute
from statemachine.item_io import parse_items
from statemachine.limits import Limits
from statemachine.loader import load_program
from statemachine.local import execution_context
from statemachine.validation import validate_definition
from tests.unit.statemachine.test_map_offload import ChunkingHost

CHUNKED = Limits(map_offload_min_items=10, map_chunk_items=7, map_max_chunks_in_flight=3)


class Buckets:
    """Objects by (bucket, key), served as the S3 getObject/putObject/listObjectsV2 calls."""

    def __init__(self, objects: Mapping[tuple[str, str], str | bytes]) -> None:
        self.objects = dict(objects)
        self.calls: list[str] = []

    async def __call__(self, call: ServiceCall) -> str:
        request = json.loads(call.parameters)
        self.calls.append(call.action)
        bucket = request["Bucket"]
        if call.action == "getObject":
            body = self.objects.get((bucket, request["Key"]))
            if body is None:
                raise StatesError("S3.NoSuchKeyException", "The specified key does not exist.")
            if call.binary_body:
                body = base64.b64encode(body.encode() if isinstance(body, str) else body).decode()
            assert isinstance(body, str), "a binary object read as text"
            return json.dumps({"Body": body})
        if call.action == "putObject":
            self.objects[(bucket, request["Key"])] = request["Body"]
            return "{}"
        assert call.action == "listObjectsV2"
        keys = sorted(k for b, k in self.objects if b == bucket and k.startswith(request.get("Prefix", "")))
        start = int(request.get("ContinuationToken", 0))
        page = keys[start : start + 2]
        more = start + 2 < len(keys)
        answer: dict[str, Any] = {"Contents": [{"Key": k} for k in page], "IsTruncated": more}
        if more:
            answer["NextContinuationToken"] = str(start + 2)
        return json.dumps(answer)


def machine(**fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.bad", "IsPresent": True, "Next": "Bad"}],
                            "Default": "Done",
                        },
                        "Bad": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
                        "Done": {"Type": "Pass", "End": True},
                    },
                },
                **fields,
                "End": True,
            }
        },
    }


async def run(definition: dict[str, Any], buckets: Buckets, value: Any = None) -> ExecutionOutcome:
    host = ChunkingHost(services=buckets)
    context = execution_context("M", "e1", host.now())
    return await execute(load_program(definition), value or {}, context, host, CHUNKED)


def out(outcome: ExecutionOutcome) -> Any:
    assert outcome.output is not None, outcome
    return outcome.output


def reader(key: str, **config: Any) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket": "data", "Key": key},
    }


async def test_json_lines_in_batches_with_batch_input() -> None:
    lines = "\n".join(json.dumps({"n": i}) for i in range(25))
    definition = machine(
        ItemReader=reader("in.jsonl", InputType="JSONL", MaxItems=23),
        ItemBatcher={"MaxItemsPerBatch": 10, "BatchInput": {"who.$": "$.who"}},
    )
    outcome = await run(definition, Buckets({("data", "in.jsonl"): lines}), {"who": "me"})
    assert outcome.status == "SUCCEEDED", outcome
    assert [len(b["Items"]) for b in out(outcome)] == [10, 10, 3]
    assert out(outcome)[2] == {"BatchInput": {"who": "me"}, "Items": [{"n": 20}, {"n": 21}, {"n": 22}]}


async def test_csv_with_given_headers_and_a_delimiter() -> None:
    body = "1|a\n2|b\n"
    definition = machine(
        ItemReader=reader(
            "in.csv",
            InputType="CSV",
            CSVHeaderLocation="GIVEN",
            CSVHeaders=["id", "name"],
            CSVDelimiter="PIPE",
        ),
    )
    outcome = await run(definition, Buckets({("data", "in.csv"): body}))
    assert out(outcome) == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]


def test_csv_first_row_headers_and_bad_input() -> None:
    assert parse_items('id,"a,b"\n7,"x,y"\n', {"InputType": "CSV"}) == [{"id": "7", "a,b": "x,y"}]
    with pytest.raises(StatesError) as raised:
        parse_items("{", {"InputType": "JSON"})
    assert raised.value.name == "States.ItemReaderFailed"
    with pytest.raises(StatesError, match="more fields"):
        parse_items("a\n1,2\n", {"InputType": "CSV"})


async def test_list_objects_follows_continuation_tokens() -> None:
    objects = {("data", f"p/{i}"): "" for i in range(5)}
    definition = machine(
        ItemReader={"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "data"}}
    )
    outcome = await run(definition, Buckets(objects))
    assert out(outcome) == [{"Key": f"p/{i}"} for i in range(5)]


async def test_a_missing_object_fails_the_reader() -> None:
    outcome = await run(machine(ItemReader=reader("nope.json", InputType="JSON")), Buckets({}))
    assert outcome.status == "FAILED"
    assert outcome.error == "States.ItemReaderFailed"
    assert "NoSuchKey" in (outcome.cause or "")


async def test_bytes_per_batch_closes_batches() -> None:
    items = json.dumps([{"v": i} for i in range(10)])  # each {"v":N} is 7 bytes, +1 per item
    definition = machine(
        ItemReader=reader("in.json", InputType="JSON"), ItemBatcher={"MaxInputBytesPerBatch": 20}
    )
    outcome = await run(definition, Buckets({("data", "in.json"): items}))
    assert [len(b["Items"]) for b in out(outcome)] == [2] * 5


async def test_result_writer_writes_results_and_a_manifest_past_the_payload_limit() -> None:
    big = "x" * 2000
    items = json.dumps([{"v": i, "pad": big, **({"bad": 1} if i in (3, 40) else {})} for i in range(300)])
    buckets = Buckets({("data", "in.json"): items})
    definition = machine(
        ItemReader=reader("in.json", InputType="JSON"),
        ToleratedFailureCount=2,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "runs"},
        },
    )
    outcome = await run(definition, buckets)
    assert outcome.status == "SUCCEEDED", outcome
    result = out(outcome)
    key = result["ResultWriterDetails"]["Key"]
    assert key.startswith("runs/") and key.endswith("/manifest.json")
    manifest = json.loads(buckets.objects[("out", key)])
    assert manifest["MapRunArn"] == result["MapRunArn"]
    files = manifest["ResultFiles"]
    assert manifest["DestinationBucket"] == "out" and files["PENDING"] == []
    assert len(files["SUCCEEDED"]) > 4  # ~1.2 MB of entries (inputs and outputs), split at 256 KB
    succeeded = [e for f in files["SUCCEEDED"] for e in json.loads(buckets.objects[("out", f["Key"])])]
    failed = [e for f in files["FAILED"] for e in json.loads(buckets.objects[("out", f["Key"])])]
    assert len(succeeded) == 298 and all(e["Status"] == "SUCCEEDED" for e in succeeded)
    assert [(e["Name"], e["Error"], e["Cause"]) for e in failed] == [
        ("3", "Bad", "a bad item"),
        ("40", "Bad", "a bad item"),
    ]
    assert json.loads(succeeded[0]["Output"])["v"] == 0


async def test_too_many_failures_exceed_the_threshold() -> None:
    items = json.dumps([{"bad": 1}] * 3 + [{}] * 20)
    definition = machine(ItemReader=reader("in.json", InputType="JSON"), ToleratedFailurePercentage=10)
    outcome = await run(definition, Buckets({("data", "in.json"): items}))
    assert outcome.error == "States.ExceedToleratedFailureThreshold"


def distributed(mode: str = "DISTRIBUTED", **fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": mode},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    return {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}},
    }


GET = "arn:aws:states:::s3:getObject"


@pytest.mark.parametrize(
    ("definition", "location", "words"),
    [
        (
            distributed("INLINE", ItemReader={"Resource": GET, "ReaderConfig": {"InputType": "JSON"}}),
            "/States/M/ItemReader",
            "only supported when ProcessorConfig.Mode is DISTRIBUTED",
        ),
        (
            distributed("INLINE", ResultWriter={"Resource": "arn:aws:states:::s3:putObject"}),
            "/States/M/ResultWriter",
            "only supported when",
        ),
        (
            distributed("INLINE", ItemBatcher={"MaxItemsPerBatch": 2}),
            "/States/M/ItemBatcher",
            "only supported when",
        ),
        (distributed(ItemReader={"Resource": GET}), "/States/M/ItemReader", "[ReaderConfig]"),
        (
            distributed(ItemReader={"Resource": "arn:aws:states:::s3:get"}),
            "/States/M/ItemReader/Resource",
            "must be one of",
        ),
        (
            distributed(ItemReader={"Resource": GET, "ReaderConfig": {"InputType": "XML"}}),
            "/States/M/ItemReader/ReaderConfig/InputType",
            "must be one of",
        ),
        (
            distributed(
                ItemReader={
                    "Resource": GET,
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN"},
                }
            ),
            "/States/M/ItemReader/ReaderConfig",
            "[CSVHeaders]",
        ),
        (
            distributed(
                ItemReader={"Resource": GET, "ReaderConfig": {"InputType": "JSON", "CSVDelimiter": "PIPE"}}
            ),
            "/States/M/ItemReader/ReaderConfig/CSVDelimiter",
            "only supported when InputType is CSV",
        ),
        (
            distributed(ItemReader={"Resource": GET, "ReaderConfig": {"InputType": "JSON", "MaxItems": -1}}),
            "/States/M/ItemReader/ReaderConfig/MaxItems",
            "between 0 and",
        ),
        (
            distributed(ItemBatcher={"BatchInput": {}}),
            "/States/M/ItemBatcher",
            "One of these fields is required",
        ),
        (
            distributed(ItemBatcher={"MaxInputBytesPerBatch": 262_145}),
            "/States/M/ItemBatcher/MaxInputBytesPerBatch",
            "at most 262144",
        ),
        (
            distributed(ResultWriter={"Resource": "arn:aws:states:::s3:getObject"}),
            "/States/M/ResultWriter/Resource",
            "must be one of",
        ),
    ],
)
def test_distributed_parts_are_validated_at_the_field(
    definition: dict[str, Any], location: str, words: str
) -> None:
    found = [d.message for d in validate_definition(definition) if d.location == location]
    assert any(words in message for message in found), (location, validate_definition(definition))


def test_a_valid_distributed_map_has_no_diagnostics() -> None:
    reader = {
        "Resource": GET,
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a"]},
        "Parameters": {"Bucket": "b", "Key": "k"},
    }
    definition = distributed(
        ItemReader=reader,
        ItemBatcher={"MaxItemsPerBatch": 10, "MaxInputBytesPerBatch": 1024},
        ResultWriter={"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}},
    )
    assert list(validate_definition(definition)) == []


async def test_batch_limits_from_a_path_and_a_reader_in_jsonata() -> None:
    items = json.dumps(list(range(7)))
    objects = {("data", "in.json"): items}
    by_path = machine(
        ItemReader=reader("in.json", InputType="JSON"), ItemBatcher={"MaxItemsPerBatchPath": "$.size"}
    )
    outcome = await run(by_path, Buckets(objects), {"size": 3})
    assert [b["Items"] for b in out(outcome)] == [[0, 1, 2], [3, 4, 5], [6]]
    by_jsonata = machine(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Arguments": {"Bucket": "data", "Key": "{% $states.input.key %}"},
        },
        ItemBatcher={"MaxItemsPerBatch": 4},
    )
    by_jsonata["QueryLanguage"] = "JSONata"
    processor = by_jsonata["States"]["Each"]["ItemProcessor"]
    processor["StartAt"], processor["States"] = "Done", {"Done": {"Type": "Pass", "End": True}}
    outcome = await run(by_jsonata, Buckets(objects), {"key": "in.json"})
    assert [b["Items"] for b in out(outcome)] == [[0, 1, 2, 3], [4, 5, 6]]


INVENTORY = {
    "sourceBucket": "photos",
    "destinationBucket": "arn:aws:s3:::inventory",
    "fileFormat": "CSV",
    "fileSchema": "Bucket, Key, Size",
    "files": [{"key": "inv/data/a.csv", "size": 1}, {"key": "inv/data/b.csv.gz", "size": 1}],
}


async def test_a_manifest_reads_the_inventory_files_it_lists() -> None:
    objects: dict[tuple[str, str], str | bytes] = {
        ("data", "manifest.json"): json.dumps(INVENTORY),
        ("inventory", "inv/data/a.csv"): '"photos","x/1.jpg","10"\n"photos","x/2.jpg","20"\n',
        ("inventory", "inv/data/b.csv.gz"): gzip.compress(b'"photos","y/3.jpg","30"\n'),
    }
    outcome = await run(machine(ItemReader=reader("manifest.json", InputType="MANIFEST")), Buckets(objects))
    assert out(outcome) == [
        {"Bucket": "photos", "Key": "x/1.jpg", "Size": "10"},
        {"Bucket": "photos", "Key": "x/2.jpg", "Size": "20"},
        {"Bucket": "photos", "Key": "y/3.jpg", "Size": "30"},
    ]
    limited = await run(
        machine(ItemReader=reader("manifest.json", InputType="MANIFEST", MaxItems=2)), Buckets(objects)
    )
    assert [item["Key"] for item in out(limited)] == ["x/1.jpg", "x/2.jpg"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"files": [{"key": "inv/plain.csv.gz"}]}, "not gzip-compressed"),
        ({"files": [{"key": "inv/bomb.csv.gz"}]}, "inflates to more than"),
        ({"fileFormat": "ORC"}, "fileFormat 'ORC'"),
        ({"files": [{"key": "inv/missing.csv"}]}, "NoSuchKey"),
        ({"fileSchema": None}, "fileSchema"),
    ],
    ids=["not-gzip", "gzip-bomb", "orc", "missing-file", "no-schema"],
)
async def test_a_manifest_it_cannot_read_fails_the_reader_saying_why(
    change: dict[str, Any], words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(item_manifest, "MAX_INFLATED_BYTES", 1000)  # the bomb: 2,000 bytes inflated
    objects: dict[tuple[str, str], str | bytes] = {
        ("data", "manifest.json"): json.dumps({**INVENTORY, **change}),
        ("inventory", "inv/plain.csv.gz"): '"photos","1.jpg","1"\n',
        ("inventory", "inv/bomb.csv.gz"): gzip.compress(b"0" * 2000),
    }
    outcome = await run(machine(ItemReader=reader("manifest.json", InputType="MANIFEST")), Buckets(objects))
    assert (outcome.status, outcome.error) == ("FAILED", "States.ItemReaderFailed"), outcome
    assert words in (outcome.cause or "")
