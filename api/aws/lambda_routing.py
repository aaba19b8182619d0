"""Which Lambda operation a request is, from the model's ``http.method`` and ``http.requestUri``.

Every operation of botocore's Lambda model is routed (the ones Stepline does not implement answer a
400 naming themselves, never a 404). URI labels are taken from the RAW path and percent-decoded one
segment at a time, so a label holding an encoded ``/`` or ``:`` (a function ARN) stays one label;
``{Label+}`` is greedy. A literal query in the URI (``?List=ALL``) must be present to match, and such
routes are tried first: they share their path with another operation.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_to_bytes

from api.aws.models import service_model

SERVICE = "lambda"


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    literal_query: tuple[tuple[str, str], ...]
    prefix: str
    """The first path segment (``/2015-03-31``): the API version the operation lives under."""


@dataclass(frozen=True, slots=True)
class Match:
    operation: str
    labels: dict[str, str]


def _compile(operation: str, method: str, request_uri: str) -> Route:
    path, _, query = request_uri.partition("?")
    labels: list[str] = []
    parts: list[str] = []
    for piece in re.split(r"(\{[^}]+\})", path.rstrip("/")):
        if piece.startswith("{"):
            name = piece[1:-1]
            greedy = name.endswith("+")
            labels.append(name.rstrip("+"))
            parts.append("(.+)" if greedy else "([^/]+)")
        else:
            parts.append(re.escape(piece))
    literal = tuple((k, v) for k, v in parse_qsl(query, keep_blank_values=True))
    prefix = "/" + path.strip("/").split("/", 1)[0]
    return Route(operation, method, re.compile("".join(parts) + "/?"), tuple(labels), literal, prefix)


@functools.cache
def routes(service: str = SERVICE) -> tuple[Route, ...]:
    """Every operation of the model (Lambda's, or another restJson1 service's), the ones with a
    literal query first."""
    model = service_model(service)
    compiled = [
        _compile(
            name, model.operation_model(name).http["method"], model.operation_model(name).http["requestUri"]
        )
        for name in model.operation_names
    ]
    return tuple(sorted(compiled, key=lambda r: (not r.literal_query, -len(r.pattern.pattern))))


@functools.cache
def prefixes() -> tuple[str, ...]:
    """The API-version prefixes the model uses (``/2015-03-31``, ``/2017-10-31``...)."""
    return tuple(sorted({route.prefix for route in routes()}))


@functools.cache
def _by_method(method: str, service: str = SERVICE) -> tuple[Route, ...]:
    return tuple(route for route in routes(service) if route.method == method)


def match(method: str, raw_path: bytes, query: dict[str, str], service: str = SERVICE) -> Match | None:
    """The operation ``method raw_path`` is, with its URI labels decoded; None when none is.

    Raises ``UnicodeDecodeError`` for a label that is not UTF-8 once decoded.
    """
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    for route in _by_method(method, service):
        found = route.pattern.fullmatch(path)
        if found is None or any(query.get(k) != v for k, v in route.literal_query):
            continue
        values = [unquote_to_bytes(v).decode("utf-8") if "%" in v else v for v in found.groups()]
        return Match(route.operation, dict(zip(route.labels, values, strict=True)))
    return None


def path_exists(raw_path: bytes) -> bool:
    """Whether any operation lives at this path (with another method): 405 rather than 404."""
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    return any(route.pattern.fullmatch(path) for route in routes())
