"""``ReaderConfig.InputType: MANIFEST``: an S3 inventory report's ``manifest.json`` as the ItemReader's
object; its items are the rows of the CSV inventory files it lists (read from its
``destinationBucket``), each an object keyed by the manifest's ``fileSchema`` (``Bucket``, ``Key``,
``Size``, ...), as Step Functions gives them. Files are read in the manifest's order, at most
``MaxItems`` rows in all. Pure: the files are fetched through the ``read`` callable given."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from typing import Final

from statemachine.errors import StatesError
from statemachine.json_types import JSON

READER_FAILED: Final = "States.ItemReaderFailed"
ReadObject = Callable[[str, str], Awaitable[str]]
"""(bucket, key) -> the object's text."""


async def manifest_items(body: str, read: ReadObject, limit: int | None) -> list[JSON]:
    """The rows of every inventory file ``body`` (the manifest's text) lists."""
    bucket, schema, keys = _manifest(body)
    items: list[JSON] = []
    for key in keys:
        if limit is not None and len(items) >= limit:
            break
        if key.endswith(".gz"):
            raise StatesError(
                READER_FAILED,
                f"The inventory file '{key}' is compressed; Stepline reads uncompressed CSV inventory files.",
            )
        for number, row in enumerate(csv.reader(io.StringIO(await read(bucket, key))), 1):
            if limit is not None and len(items) >= limit:
                break
            if not row:
                continue
            if len(row) != len(schema):
                raise StatesError(
                    READER_FAILED,
                    f"Row {number} of '{key}' has {len(row)} fields; the fileSchema names {len(schema)}.",
                )
            items.append(dict(zip(schema, row, strict=True)))
    return items


def _manifest(body: str) -> tuple[str, list[str], list[str]]:
    """The manifest's destination bucket, its fileSchema's names and its files' keys."""
    try:
        manifest = json.loads(body)
    except ValueError as error:
        raise StatesError(READER_FAILED, f"The manifest is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise StatesError(
            READER_FAILED, "The manifest must be a JSON object (an S3 inventory manifest.json)."
        )
    if manifest.get("fileFormat", "CSV") != "CSV":
        raise StatesError(
            READER_FAILED, f"The manifest's fileFormat '{manifest.get('fileFormat')}' is not supported (CSV)."
        )
    bucket, schema, files = (
        manifest.get("destinationBucket"),
        manifest.get("fileSchema"),
        manifest.get("files"),
    )
    if not isinstance(bucket, str) or not isinstance(schema, str) or not isinstance(files, list):
        raise StatesError(
            READER_FAILED,
            "The manifest needs destinationBucket, fileSchema and files (S3 inventory's shape).",
        )
    keys = [f.get("key") for f in files if isinstance(f, dict)]
    if len(keys) != len(files) or not all(isinstance(k, str) for k in keys):
        raise StatesError(READER_FAILED, "Each of the manifest's files needs a key.")
    names = [name.strip() for name in schema.split(",")]
    return bucket.removeprefix("arn:aws:s3:::"), names, [str(k) for k in keys]
