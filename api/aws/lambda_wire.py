"""Lambda's restJson1 on the wire, driven by the operation's model: request members from URI labels,
the query string, headers, a payload or a JSON body; responses with header, status-code and payload
members placed where the model says, the rest as a JSON body (``api.aws.shapes`` shapes it).

A ``Plan`` is compiled once per operation, so a request only walks its own members.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.model import OperationModel, Shape
from starlette.responses import Response

from api.aws.errors import REQUEST_ID, AwsError
from api.aws.models import operation_model
from api.aws.shapes import Serialize, check_input, shape_output
from api.json_input import check_body
from foundation.errors import InvalidRequest

SERVICE = "lambda"


@dataclass(frozen=True, slots=True)
class Plan:
    """Where each member of one operation's input and output lives on the wire."""

    operation: OperationModel
    labels: Mapping[str, str]
    """member -> URI label"""
    query: Mapping[str, tuple[str, Shape]]
    headers: Mapping[str, tuple[str, Shape]]
    """member -> (lower-case header name, shape)"""
    payload: str | None
    payload_is_raw: bool
    status: int
    out_headers: Mapping[str, str]
    out_status: str | None
    out_payload: str | None
    out_body: Serialize | None


@functools.cache
def plan(operation: str, service: str = SERVICE) -> Plan:
    """Lambda's ``operation`` (or another restJson1 service's: ``api.aws.scheduler_endpoint``)."""
    model = operation_model(service, operation)
    labels: dict[str, str] = {}
    query: dict[str, tuple[str, Shape]] = {}
    headers: dict[str, tuple[str, Shape]] = {}
    payload, raw = None, False
    if model.input_shape is not None:
        for name, member in model.input_shape.members.items():
            where, wire = member.serialization.get("location"), member.serialization.get("name", name)
            if where == "uri":
                labels[name] = wire
            elif where == "querystring":
                query[name] = (wire, member)
            elif where == "header":
                headers[name] = (wire.lower(), member)
        payload = model.input_shape.serialization.get("payload")
        raw = payload is not None and model.input_shape.members[payload].type_name in ("blob", "string")
    out_headers: dict[str, str] = {}
    out_status = out_payload = None
    out_body = None
    if model.output_shape is not None:
        for name, member in model.output_shape.members.items():
            where = member.serialization.get("location")
            if where == "header":
                out_headers[name] = member.serialization["name"]
            elif where == "statusCode":
                out_status = name
        out_payload = model.output_shape.serialization.get("payload")
        out_body = shape_output(model.output_shape)
    status = int(model.http.get("responseCode", 200))
    return Plan(
        model, labels, query, headers, payload, raw, status, out_headers, out_status, out_payload, out_body
    )


def parse_request(
    p: Plan,
    labels: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The operation's input members, checked against the model (raw payloads are not checked)."""
    params: dict[str, Any] = {member: labels[label] for member, label in p.labels.items() if label in labels}
    input_members = p.operation.input_shape.members if p.operation.input_shape is not None else {}
    for member, value in list(params.items()):  # (a layer's VersionNumber is a long in the path)
        if input_members[member].type_name in ("integer", "long"):
            params[member] = _typed([value], input_members[member], p.labels[member])
    for member, (name, shape) in p.query.items():
        if name in query:
            params[member] = _typed(query[name], shape, name)
    for member, (name, shape) in p.headers.items():
        if name in headers:
            params[member] = _typed([headers[name]], shape, name)
    if p.payload is not None and p.payload_is_raw:
        if body:
            params[p.payload] = ""  # present for the check (required members); never read as text
        _check(p, params)
        params[p.payload] = body
        return params
    if body.strip():
        decoded = _json_object(body)
        if p.payload is not None:
            params[p.payload] = decoded
        else:
            for name, value in decoded.items():
                params.setdefault(name, value)  # the URI's, query's and headers' members win
    _check(p, params)
    return params


def _check(p: Plan, params: dict[str, Any]) -> None:
    if p.operation.input_shape is not None:
        check_input(p.operation.input_shape)(params)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        check_body(body)
        decoded = orjson.loads(body)
    except InvalidRequest as exc:
        raise AwsError("InvalidRequestContentException", exc.detail) from None
    except orjson.JSONDecodeError as exc:
        raise AwsError(
            "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
        ) from None
    if not isinstance(decoded, dict):
        raise AwsError(
            "InvalidRequestContentException", "Could not parse request body into json: not an object"
        )
    return decoded


def _typed(values: list[str], shape: Shape, name: str) -> Any:
    """A query or header value as its shape's type (a list takes every occurrence)."""
    kind = shape.type_name
    if kind == "list":
        return [_typed([v], shape.member, name) for v in values]
    value = values[-1]
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            raise _not(name, value, "an integer") from None
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise _not(name, value, "a boolean (true or false)")
        return value.lower() == "true"
    return value


def _not(name: str, value: str, wanted: str) -> AwsError:
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value[:256]}' at '{name}' failed to satisfy constraint: "
        f"Member must be {wanted}",
    )


def response(p: Plan, output: Mapping[str, Any] | None, request_id: str) -> Response:
    """The operation's response: its model's status code unless a status-code member says otherwise."""
    headers = {REQUEST_ID: request_id}
    status = p.status
    if not output:
        if status == 204:
            return Response(b"", status, headers)
        return Response(b"{}", status, headers, media_type="application/json")
    body_members = dict(output)
    for member, header in p.out_headers.items():
        value = body_members.pop(member, None)
        if value is not None:
            headers[header] = str(value)
    if p.out_status is not None:
        status = int(body_members.pop(p.out_status, status))
    if status == 204:
        return Response(b"", status, headers)
    if p.out_payload is not None:
        payload = body_members.pop(p.out_payload, b"")
        if isinstance(payload, bytes):
            media = "application/json" if payload else None
            return Response(payload, status, headers, media_type=media)
        return Response(orjson.dumps(payload), status, headers, media_type="application/json")
    body = p.out_body(body_members) if p.out_body is not None else body_members
    return Response(orjson.dumps(body), status, headers, media_type="application/json")
