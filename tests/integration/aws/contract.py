"""Responses checked against the operation's output shape in botocore's model: botocore's own
``ParamValidator`` (types, required members, minimum lengths and values) plus what it leaves out
(enum values, maximum lengths and values, members the shape does not have)."""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from api.aws.models import operation_model


def check_response(service: str, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """``response`` (a boto3 answer) without ResponseMetadata, after every check passed."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    shape = operation_model(service, operation).output_shape
    if shape is None:
        assert body == {}, body
        return body
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()
    problems: list[str] = []
    _walk(shape, body, operation, problems)
    assert not problems, "\n".join(problems)
    return body


def _walk(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(shape, StructureShape):
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required, missing")
        for name, item in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: not a member of {shape.name}")
            else:
                _walk(shape.members[name], item, f"{path}.{name}", problems)
    elif isinstance(shape, ListShape):
        _bounds(shape, len(value), path, problems)
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", problems)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            _walk(shape.value, item, f"{path}.{key}", problems)
    elif shape.type_name == "string":
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} is not one of {enum}")
        _bounds(shape, len(value), path, problems)
    elif shape.type_name in ("integer", "long"):
        _bounds(shape, value, path, problems)


def _bounds(shape: Shape, size: int, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        problems.append(f"{path}: {size} is below the minimum {low}")
    if high is not None and size > high:
        problems.append(f"{path}: {size} is above the maximum {high}")
