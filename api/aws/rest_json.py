"""What the restJson1 endpoints (Lambda, EventBridge Scheduler) share: the query string read as
botocore's parsers want it, the operation found from method and raw path, and the Starlette route that
sends the endpoint's paths to it with one regex match."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from api.aws import lambda_routing
from api.aws.errors import AwsError

Endpoint = Callable[[Scope, Receive, Send], Awaitable[None]]


def query_of(scope: Scope) -> dict[str, list[str]]:
    """The request's query string: every value of each key, in order (blank values kept)."""
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        query.setdefault(key, []).append(value)
    return query


def operation_of(
    scope: Scope, query: dict[str, list[str]], service: str, product: str, bad_name: str
) -> lambda_routing.Match:
    """The model's operation at this method and raw path: ``bad_name`` (an error code) if a name in
    the path is not UTF-8, ``UnknownOperationException`` (404, naming ``product``) if none is."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    try:
        found = lambda_routing.match(scope["method"], raw_path, {k: v[-1] for k, v in query.items()}, service)
    except UnicodeDecodeError:
        raise AwsError(bad_name, "A name in the path is not UTF-8.") from None
    if found is None:
        path = raw_path.decode("latin-1")[:256]
        raise AwsError(
            "UnknownOperationException", f"No {product} operation is {scope['method']} {path}", 404
        )
    return found


class PatternRoute(BaseRoute):
    """Every HTTP path ``pattern`` matches goes to ``endpoint``; ``path`` is the label request metrics
    show for it."""

    def __init__(self, endpoint: Endpoint, pattern: re.Pattern[str], path: str) -> None:
        self.endpoint = endpoint
        self._pattern = pattern
        self.path = path

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self._pattern.match(scope["path"]):
            return Match.FULL, {"endpoint": self.endpoint, "route": self}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoint(scope, receive, send)
