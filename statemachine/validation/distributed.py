"""A Distributed Map's own rules: ItemReader, ItemBatcher and ResultWriter only in DISTRIBUTED mode,
the resources they can name, ReaderConfig's options and the batcher's limits (AWS's quotas)."""

from __future__ import annotations

from typing import Any, Final

from statemachine.validation.values import Report, at

READER_RESOURCES: Final = ("arn:aws:states:::s3:getObject", "arn:aws:states:::s3:listObjectsV2")
WRITER_RESOURCES: Final = ("arn:aws:states:::s3:putObject",)
INPUT_TYPES: Final = ("CSV", "JSON", "JSONL", "MANIFEST")
HEADER_LOCATIONS: Final = ("FIRST_ROW", "GIVEN")
DELIMITERS: Final = ("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB")
MAX_BATCH_BYTES: Final = 262_144
"""``MaxInputBytesPerBatch``'s ceiling: 256 KiB, a child execution's input limit."""
MAX_READER_ITEMS: Final = 100_000_000


def check_distributed(report: Report, state: dict[str, Any], location: str, mode: Any) -> None:
    """The Map ``state``'s distributed parts, given its ``ProcessorConfig.Mode``."""
    for part in ("ItemReader", "ItemBatcher", "ResultWriter"):
        if part in state and mode != "DISTRIBUTED":
            report.schema(
                f"The field '{part}' is only supported when ProcessorConfig.Mode is DISTRIBUTED",
                at(location, part),
            )
    reader, batcher, writer = state.get("ItemReader"), state.get("ItemBatcher"), state.get("ResultWriter")
    if isinstance(reader, dict):
        _check_reader(report, reader, at(location, "ItemReader"))
    if isinstance(batcher, dict):
        _check_batcher(report, batcher, at(location, "ItemBatcher"))
    if isinstance(writer, dict):
        resource = writer.get("Resource")
        if isinstance(resource, str) and resource not in WRITER_RESOURCES:
            report.schema(
                f"The value for the field 'Resource' must be one of {list(WRITER_RESOURCES)}",
                at(location, "ResultWriter", "Resource"),
            )


def _one_of(report: Report, config: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> None:
    if key in config and config[key] not in allowed:
        report.schema(f"The value for the field '{key}' must be one of {list(allowed)}", at(where, key))


def _check_reader(report: Report, reader: dict[str, Any], location: str) -> None:
    resource = reader.get("Resource")
    if isinstance(resource, str) and resource not in READER_RESOURCES:
        report.schema(
            f"The value for the field 'Resource' must be one of {list(READER_RESOURCES)}",
            at(location, "Resource"),
        )
    config = reader.get("ReaderConfig")
    where = at(location, "ReaderConfig")
    if config is None:
        if resource == READER_RESOURCES[0]:
            report.schema(
                "These fields are required: [ReaderConfig] (with InputType) for s3:getObject", location
            )
        return
    if not isinstance(config, dict):
        return
    if resource == READER_RESOURCES[0] and "InputType" not in config:
        report.schema("These fields are required: [InputType]", where)
    _one_of(report, config, "InputType", INPUT_TYPES, where)
    _one_of(report, config, "CSVHeaderLocation", HEADER_LOCATIONS, where)
    _one_of(report, config, "CSVDelimiter", DELIMITERS, where)
    csv_fields = [k for k in ("CSVHeaderLocation", "CSVHeaders", "CSVDelimiter") if k in config]
    if csv_fields and config.get("InputType") != "CSV":
        report.schema(
            f"The field '{csv_fields[0]}' is only supported when InputType is CSV", at(where, csv_fields[0])
        )
    headers = config.get("CSVHeaders")
    given = config.get("CSVHeaderLocation") == "GIVEN"
    if given and headers is None:
        report.schema("These fields are required: [CSVHeaders] when CSVHeaderLocation is GIVEN", where)
    if headers is not None and not given:
        report.schema("The field 'CSVHeaders' needs CSVHeaderLocation GIVEN", at(where, "CSVHeaders"))
    if headers is not None and (
        not isinstance(headers, list) or not headers or not all(isinstance(h, str) for h in headers)
    ):
        report.schema(
            "The value for the field 'CSVHeaders' must be a non-empty array of strings",
            at(where, "CSVHeaders"),
        )
    items = config.get("MaxItems")
    if "MaxItems" in config and (type(items) is not int or not 0 <= items <= MAX_READER_ITEMS):
        report.schema(
            f"The value for the field 'MaxItems' must be an integer between 0 and {MAX_READER_ITEMS}",
            at(where, "MaxItems"),
        )
    if "MaxItems" in config and "MaxItemsPath" in config:
        report.schema("These fields cannot be used together: [MaxItems, MaxItemsPath]", where)


def _check_batcher(report: Report, batcher: dict[str, Any], location: str) -> None:
    limits = (
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
    )
    if not any(key in batcher for key in limits):
        report.schema(
            f"One of these fields is required: [{', '.join(limits)}]",
            location,
        )
    size = batcher.get("MaxInputBytesPerBatch")
    if type(size) is int and size > MAX_BATCH_BYTES:
        report.schema(
            f"The value for the field 'MaxInputBytesPerBatch' must be at most {MAX_BATCH_BYTES}",
            at(location, "MaxInputBytesPerBatch"),
        )
