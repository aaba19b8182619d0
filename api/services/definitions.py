"""Definitions and inputs as the API receives them: decoded, size-checked, validated."""

from __future__ import annotations

import json
from typing import Any

from api.json_input import check_json_text
from api.schemas import ExecutionInputFields
from foundation.errors import InvalidRequest, PayloadTooLarge
from statemachine import DefinitionError, check_start, diagnose, express_diagnostics, sdk_diagnostics
from workers.integrations import known_operation

MAX_INPUT_BYTES = 256 * 1024
"""Step Functions' limit on an execution's input."""


def decode_definition(raw: dict[str, Any] | str) -> tuple[str, dict[str, Any]]:
    """The definition as (JSON text to store, decoded object)."""
    if isinstance(raw, dict):
        try:
            return json.dumps(raw, ensure_ascii=False, allow_nan=False), raw
        except ValueError:
            detail = "definition holds a number JSON cannot carry (NaN, Infinity or beyond a double's range)"
            raise InvalidRequest(detail, [{"location": "/definition", "message": detail}]) from None
    check_json_text(raw, "/definition")
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as exc:
        detail = f"definition is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InvalidRequest(detail, [{"location": "/definition", "message": detail}]) from exc
    if not isinstance(decoded, dict):
        detail = f"definition must be a JSON object, not {type(decoded).__name__}"
        raise InvalidRequest(detail, [{"location": "/definition", "message": detail}])
    return raw, decoded


def checked_definition(raw: dict[str, Any] | str, machine_type: str = "STANDARD") -> str:
    """The definition's JSON text; DefinitionError listing every error when it cannot run (as a
    machine of ``machine_type``: an EXPRESS one cannot wait for callbacks, jobs or activities)."""
    text, decoded = decode_definition(raw)
    errors = tuple(d for d in diagnose(decoded) if d.severity == "ERROR")
    if not errors and machine_type == "EXPRESS":
        errors = express_diagnostics(decoded)
    if not errors:
        errors = sdk_diagnostics(decoded, known_operation)
    if errors:
        raise DefinitionError(errors)
    return text


def input_text_of(body: ExecutionInputFields) -> str:
    """The execution input as JSON text: ``input`` encoded, or ``inputText`` checked as Step
    Functions checks it (400 ``InvalidExecutionInput`` naming the problem); 413 beyond 256 KiB."""
    if body.input_text is None:
        return encode_input(body.input)
    if body.input is not None:
        detail = "give the input as input or as inputText, not both"
        raise InvalidRequest(detail, [{"location": "/inputText", "message": detail}])
    size = len(body.input_text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise PayloadTooLarge("inputText", size, MAX_INPUT_BYTES)
    check_json_text(body.input_text, "/inputText")
    refused = check_start("STANDARD", body.input_text, sync=False)
    if refused is not None:
        raise InvalidRequest(
            f"{refused.code}: {refused.message}",
            [{"location": "/inputText", "code": refused.code, "message": refused.message}],
        )
    return body.input_text


def encode_input(value: Any) -> str:
    """An execution input as JSON text (``{}`` when absent); 413 beyond 256 KiB."""
    try:
        text = json.dumps(
            {} if value is None else value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except ValueError:
        detail = "input holds a number JSON cannot carry (NaN, Infinity or beyond a double's range)"
        raise InvalidRequest(detail, [{"location": "/input", "message": detail}]) from None
    try:
        size = len(text.encode())
    except UnicodeEncodeError as exc:
        detail = f"input holds text that is not valid Unicode: {exc.reason} ({text[exc.start : exc.end]!a})"
        raise InvalidRequest(detail, [{"location": "/input", "message": detail}]) from None
    if size > MAX_INPUT_BYTES:
        raise PayloadTooLarge("input", size, MAX_INPUT_BYTES)
    return text
