"""A Distributed Map's ItemReader and ResultWriter, through the host's ``call_service`` to S3.

``arn:aws:states:::s3:getObject`` reads one object (``ReaderConfig.InputType`` JSON, JSONL, CSV, or
MANIFEST: an S3 inventory's ``manifest.json`` and the CSV files it lists, ``item_manifest``);
``arn:aws:states:::s3:listObjectsV2`` lists a bucket's objects as items. The ResultWriter's
``Bucket``/``Prefix`` get ``<prefix>/<map run id>/SUCCEEDED_n.json`` (``FAILED_n``, ``PENDING_n``)
and ``manifest.json`` in AWS's shape. Where the bucket lives is the host's business: an S3
endpoint the operator configured, or a Stepline file system of that name (``workers.integrations``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Final

from statemachine import dataflow
from statemachine.arns import map_run_child_arn, map_run_child_name
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.host import ServiceCall
from statemachine.item_manifest import manifest_items
from statemachine.json_types import JSON
from statemachine.paths import parse_reference_path

READERS: Final = {
    "arn:aws:states:::s3:getObject": "getObject",
    "arn:aws:states:::s3:listObjectsV2": "listObjectsV2",
}
WRITER: Final = "arn:aws:states:::s3:putObject"
INPUT_TYPES: Final = ("JSON", "JSONL", "CSV")
DELIMITERS: Final = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
RESULT_FILE_BYTES: Final = 256_000
"""A result file is split past this size (``SUCCEEDED_0.json``, ``SUCCEEDED_1.json``, ...): each
crosses Temporal in an activity's input, its quotes escaped twice, well under Temporal's 2 MB."""
READER_FAILED: Final = "States.ItemReaderFailed"
WRITER_FAILED: Final = "States.ResultWriterFailed"


@dataclass(frozen=True)
class IoSpec:
    """An ItemReader or ResultWriter as written: its Resource, Parameters (or Arguments), configs."""

    resource: str
    parameters: Any
    """A compiled JSONPath template, a JSONata template/expression, or None."""
    jsonata: bool
    config: dict[str, Any]
    """``ReaderConfig`` or ``WriterConfig``."""


def _parameters(spec: IoSpec, effective: JSON, frame: Frame, ctx: StateContext, env: Any, name: str) -> JSON:
    if spec.parameters is None:
        return {}
    if spec.jsonata:
        return dataflow.evaluate_jsonata(spec.parameters, env, f"{name}.Arguments")
    return dataflow.render(spec.parameters, effective, frame, ctx)


async def _s3(frame: Frame, action: str, parameters: JSON, state_name: str, binary: bool = False) -> JSON:
    call = ServiceCall(
        kind="aws-sdk",
        service="s3",
        action=action,
        parameters=dataflow.dumps(parameters),
        region=frame.run.context.execution_id.split(":")[3],
        execution_arn=frame.run.context.execution_id,
        state_machine_arn=frame.run.context.state_machine_id,
        state_name=state_name,
        binary_body=binary,
    )
    answer: JSON = json.loads(await frame.run.host.call_service(call))
    return answer


async def read_items(
    spec: IoSpec, effective: JSON, frame: Frame, ctx: StateContext, env: Any, state_name: str
) -> list[JSON]:
    """The items the ItemReader names, at most ``ReaderConfig.MaxItems`` of them."""
    action = READERS.get(spec.resource)
    if action is None:
        raise StatesError(READER_FAILED, f"The ItemReader resource '{spec.resource}' is not supported.")
    parameters = _parameters(spec, effective, frame, ctx, env, "ItemReader")
    limit = _max_items(spec.config, effective, frame, ctx)
    try:
        if action == "listObjectsV2":
            return await _listed(frame, parameters, state_name, limit)
        answer = await _s3(frame, action, parameters, state_name)
    except StatesError as error:
        raise StatesError(READER_FAILED, f"{error.name}: {error.cause or ''}".rstrip(": ")) from None
    body = _body(answer)
    if spec.config.get("InputType") == "MANIFEST":

        async def read(bucket: str, key: str, binary: bool) -> str:
            try:
                return _body(await _s3(frame, action, {"Bucket": bucket, "Key": key}, state_name, binary))
            except StatesError as error:
                raise StatesError(READER_FAILED, f"{key}: {error.name}: {error.cause or ''}") from None

        return await manifest_items(body, read, limit)
    return parse_items(body, spec.config, limit)


def _body(answer: JSON) -> str:
    body = answer.get("Body") if isinstance(answer, dict) else None
    if not isinstance(body, str):
        raise StatesError(READER_FAILED, "The object read by the ItemReader has no text body.")
    return body


async def _listed(frame: Frame, parameters: JSON, state_name: str, limit: int | None) -> list[JSON]:
    """Every object under the prefix (following continuation tokens), as ListObjectsV2 entries."""
    items: list[JSON] = []
    request = dict(parameters) if isinstance(parameters, dict) else {}
    while limit is None or len(items) < limit:
        answer = await _s3(frame, "listObjectsV2", request, state_name)
        if not isinstance(answer, dict):
            break
        contents = answer.get("Contents")
        items.extend(contents if isinstance(contents, list) else [])
        token = answer.get("NextContinuationToken")
        if not answer.get("IsTruncated") or not isinstance(token, str):
            break
        request["ContinuationToken"] = token
    return items if limit is None else items[:limit]


def _max_items(config: dict[str, Any], effective: JSON, frame: Frame, ctx: StateContext) -> int | None:
    value: Any = config.get("MaxItems")
    if "MaxItemsPath" in config:
        value = dataflow.select(parse_reference_path(config["MaxItemsPath"]), effective, frame, ctx)
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise StatesError(
            READER_FAILED, f"ReaderConfig.MaxItems must be a non-negative integer, but was: {value}"
        )
    return value or None


def parse_items(body: str, config: dict[str, Any], limit: int | None = None) -> list[JSON]:
    """An object's text as items: a JSON array, JSON lines, or CSV rows as objects keyed by header."""
    kind = config.get("InputType", "JSON")
    if kind == "JSON":
        try:
            value = json.loads(body)
        except ValueError as error:
            raise StatesError(READER_FAILED, f"The object is not valid JSON: {error}") from None
        if not isinstance(value, list):
            raise StatesError(READER_FAILED, "The object read as JSON must hold an array of items.")
        return value if limit is None else value[:limit]
    if kind == "JSONL":
        items: list[JSON] = []
        for number, line in enumerate(body.splitlines(), 1):
            if limit is not None and len(items) >= limit:
                break
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError:
                    raise StatesError(READER_FAILED, f"Line {number} of the object is not JSON.") from None
        return items
    if kind == "CSV":
        return _csv_rows(body, config, limit)
    raise StatesError(
        READER_FAILED, f"ReaderConfig.InputType '{kind}' is not supported (use one of {list(INPUT_TYPES)})."
    )


def _csv_rows(body: str, config: dict[str, Any], limit: int | None) -> list[JSON]:
    delimiter = DELIMITERS.get(config.get("CSVDelimiter", "COMMA"), ",")
    rows = csv.reader(io.StringIO(body), delimiter=delimiter)
    if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
        headers = [str(h) for h in config.get("CSVHeaders", [])]
    else:
        headers = next(rows, [])
    items: list[JSON] = []
    for number, row in enumerate(rows, 1):
        if limit is not None and len(items) >= limit:
            break
        if not row:
            continue
        if len(row) > len(headers):
            raise StatesError(READER_FAILED, f"CSV row {number} has more fields than there are headers.")
        items.append({header: (row[i] if i < len(row) else "") for i, header in enumerate(headers)})
    return items


@dataclass(frozen=True)
class IterationRecord:
    """One iteration (one child run) as a result file lists it."""

    index: int
    input: JSON
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    """The map run's redrive that ran this child last (0: its first run). An EXPRESS child run
    again by a redrive was a new execution, ``INDEX-redrive-N``: its results name that one."""


def result_files(
    records: list[IterationRecord],
    map_run_arn: str,
    machine: str,
    started: str,
    stopped: str,
    *,
    express: bool = False,
) -> dict[str, list[str]]:
    """``{"SUCCEEDED": [file text, ...], "FAILED": [...]}``: records in AWS's result-file shape
    (``express``: the child runs were EXPRESS executions, so are their ARNs)."""
    files: dict[str, list[str]] = {"SUCCEEDED": [], "FAILED": []}
    for status in files:
        chosen = [r for r in records if (r.error is None) == (status == "SUCCEEDED")]
        batch: list[str] = []
        size = 0
        for record in chosen:
            name = map_run_child_name(record.index, record.redrive_count if express else 0)
            entry: dict[str, JSON] = {
                "ExecutionArn": map_run_child_arn(map_run_arn, name, express=express),
                "Input": dataflow.dumps(record.input),
                "InputDetails": {"Included": True},
                "Name": name,
                "RedriveCount": 0,
                "RedriveStatus": "NOT_REDRIVABLE",
                "StartDate": started,
                "StateMachineArn": machine,
                "Status": status,
                "StopDate": stopped,
            }
            if record.error is None:
                entry["Output"] = dataflow.dumps(record.output)
                entry["OutputDetails"] = {"Included": True}
            else:
                entry["Error"] = record.error
                if record.cause is not None:
                    entry["Cause"] = record.cause
            text = dataflow.dumps(entry)
            if batch and size + len(text) > RESULT_FILE_BYTES:
                files[status].append("[" + ",".join(batch) + "]")
                batch, size = [], 0
            batch.append(text)
            size += len(text) + 1
        if batch:
            files[status].append("[" + ",".join(batch) + "]")
    return files


async def write_results(
    spec: IoSpec,
    records: list[IterationRecord],
    map_run_arn: str,
    times: tuple[str, str],
    effective: JSON,
    frame: Frame,
    ctx: StateContext,
    env: Any,
    state_name: str,
    *,
    express: bool = False,
) -> JSON:
    """Write the result files and the manifest; returns the Map's result (``ResultWriterDetails``).
    ``express``: the child runs were EXPRESS executions."""
    if spec.resource != WRITER:
        raise StatesError(WRITER_FAILED, f"The ResultWriter resource '{spec.resource}' is not supported.")
    parameters = _parameters(spec, effective, frame, ctx, env, "ResultWriter")
    bucket = parameters.get("Bucket") if isinstance(parameters, dict) else None
    prefix = parameters.get("Prefix", "") if isinstance(parameters, dict) else ""
    if not isinstance(bucket, str) or not isinstance(prefix, str):
        raise StatesError(WRITER_FAILED, "ResultWriter.Parameters needs a Bucket (and optionally a Prefix).")
    run_id = map_run_arn.rsplit(":", 1)[-1]
    base = f"{prefix.rstrip('/')}/{run_id}" if prefix else run_id
    manifest: dict[str, JSON] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    try:
        for status, texts in result_files(
            records, map_run_arn, frame.run.context.state_machine_id, *times, express=express
        ).items():
            for number, text in enumerate(texts):
                key = f"{base}/{status}_{number}.json"
                await _s3(frame, "putObject", {"Bucket": bucket, "Key": key, "Body": text}, state_name)
                files = manifest[status]
                assert isinstance(files, list)
                files.append({"Key": key, "Size": len(text.encode())})
        body: dict[str, JSON] = {
            "DestinationBucket": bucket,
            "MapRunArn": map_run_arn,
            "ResultFiles": manifest,
        }
        key = f"{base}/manifest.json"
        request: dict[str, JSON] = {"Bucket": bucket, "Key": key, "Body": dataflow.dumps(body)}
        await _s3(frame, "putObject", request, state_name)
    except StatesError as error:
        raise StatesError(WRITER_FAILED, f"{error.name}: {error.cause or ''}".rstrip(": ")) from None
    return {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}
