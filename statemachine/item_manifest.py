"""``ReaderConfig.InputType: MANIFEST``: an S3 inventory report's ``manifest.json`` as the ItemReader's
object; its items are the rows of the CSV inventory files it lists (read from its
``destinationBucket``), each an object keyed by the manifest's ``fileSchema`` (``Bucket``, ``Key``,
``Size``, ...), as Step Functions gives them. Files are read in the manifest's order, at most
``MaxItems`` rows in all; ``.gz`` files (S3 inventory's own format) are inflated here, at most
``MAX_INFLATED_BYTES`` each. Pure: the files are fetched through the ``read`` callable given."""

from __future__ import annotations

import base64
import csv
import io
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Final

from statemachine.errors import StatesError
from statemachine.json_types import JSON

READER_FAILED: Final = "States.ItemReaderFailed"
MAX_INFLATED_BYTES: Final = 64 * 1024 * 1024
"""A gzip inventory file may inflate to at most this (a small file must not fill the worker)."""
ReadObject = Callable[[str, str, bool], Awaitable[str]]
"""(bucket, key, binary) -> the object's text (its bytes as base64 when ``binary``)."""


async def manifest_items(body: str, read: ReadObject, limit: int | None) -> list[JSON]:
    """The rows of every inventory file ``body`` (the manifest's text) lists."""
    bucket, schema, keys = _manifest(body)
    items: list[JSON] = []
    for key in keys:
        if limit is not None and len(items) >= limit:
            break
        if key.endswith(".gz"):
            text = _inflate(await read(bucket, key, True), key)
        else:
            text = await read(bucket, key, False)
        for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
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


def _inflate(encoded: str, key: str) -> str:
    """A gzip file's text (its bytes came as base64), refused past ``MAX_INFLATED_BYTES``."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(base64.b64decode(encoded, validate=True), MAX_INFLATED_BYTES)
        text = data.decode()
    except (ValueError, zlib.error) as error:
        raise StatesError(
            READER_FAILED, f"The inventory file '{key}' is not gzip-compressed text: {error}"
        ) from None
    if inflater.unconsumed_tail:
        raise StatesError(
            READER_FAILED, f"The inventory file '{key}' inflates to more than {MAX_INFLATED_BYTES} bytes."
        )
    return text


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
