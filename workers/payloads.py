"""How an invocation crosses Temporal: ``FunctionCall`` in, ``FunctionResult`` out, the payload as bytes.

Temporal's default converter writes dataclasses as JSON, where a ``bytes`` field becomes a list of
numbers, and a text one is decoded, escaped, parsed and encoded again at every crossing. Here the two
invocation types are binary payloads instead: ``data`` is the function's payload exactly as it is
(any bytes, UTF-8 or not), and the other fields (those not at their defaults) travel as a small JSON
document in the payload's metadata. Every other value keeps Temporal's default converters.

Replay compatibility: histories written before this converter carry ``invoke_function``'s input and
result as JSON (the former ``InvokeRequest``/``InvokeResponse``, payload as text); they still decode,
a JSON string where a ``bytes`` field is expected being its UTF-8 (``tests/integration/histories``).
Every worker (``workers.worker.build_worker``) and replayer must use ``DATA_CONVERTER``; the API's
client needs nothing (it never sees an invocation).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
)

from statemachine import FunctionCall, FunctionResult

CALL_ENCODING = "binary/stepline-function-call"
RESULT_ENCODING = "binary/stepline-function-result"
FIELDS = "stepline-fields"
"""The metadata key of the fields other than ``payload`` (a JSON object)."""


class InvocationConverter(EncodingPayloadConverter):
    """``FunctionCall`` or ``FunctionResult`` (one converter each) as a binary payload."""

    def __init__(self, kind: type[FunctionCall] | type[FunctionResult], encoding: str) -> None:
        self._kind = kind
        self._encoding = encoding
        self._metadata_encoding = encoding.encode()
        self._defaults = {f.name: f.default for f in dataclasses.fields(kind) if f.name != "payload"}
        """Every field but the payload, with its default (``MISSING``: none, so always written)."""

    @property
    def encoding(self) -> str:
        return self._encoding

    def to_payload(self, value: Any) -> Payload | None:
        if type(value) is not self._kind:
            return None
        fields = {
            name: v for name, default in self._defaults.items() if (v := getattr(value, name)) != default
        }
        metadata = {"encoding": self._metadata_encoding, FIELDS: json.dumps(fields).encode()}
        return Payload(metadata=metadata, data=value.payload)

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        fields = json.loads(payload.metadata[FIELDS]) if FIELDS in payload.metadata else {}
        known = {name: value for name, value in fields.items() if name in self._defaults}  # a newer writer's
        return self._kind(payload=payload.data, **known)


class TextAsBytes(JSONTypeConverter):
    """A JSON string where ``bytes`` are expected is its UTF-8: the text payloads of older histories."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if hint is bytes and isinstance(value, str):
            return value.encode()
        return JSONTypeConverter.Unhandled


class StepPayloadConverter(CompositePayloadConverter):
    """The invocation converters first, then Temporal's defaults (JSON reading older histories)."""

    def __init__(self) -> None:
        defaults = (
            JSONPlainPayloadConverter(custom_type_converters=[TextAsBytes()])
            if isinstance(converter, JSONPlainPayloadConverter)
            else converter
            for converter in DefaultPayloadConverter.default_encoding_payload_converters
        )
        super().__init__(
            InvocationConverter(FunctionCall, CALL_ENCODING),
            InvocationConverter(FunctionResult, RESULT_ENCODING),
            *defaults,
        )


DATA_CONVERTER = dataclasses.replace(DataConverter.default, payload_converter_class=StepPayloadConverter)


def with_invocation_payloads(client: Client) -> Client:
    """``client`` (its connection shared) converting with ``DATA_CONVERTER``."""
    if client.data_converter.payload_converter_class is StepPayloadConverter:
        return client
    config = client.config()
    config["data_converter"] = DATA_CONVERTER
    return Client(**config)
