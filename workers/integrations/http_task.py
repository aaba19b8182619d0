"""The HTTP Task (``arn:aws:states:::http:invoke``): ``ApiEndpoint``, ``Method``, ``Headers``,
``QueryParameters``, ``RequestBody``, ``Transform`` and ``Authentication.ConnectionArn``, as Step
Functions reads them; the answer as ``{Headers, ResponseBody, StatusCode, StatusText}``; a status of
400 or more fails the Task with ``States.Http.StatusCode.NNN``.

Only hosts in the operator's allow-list are called (loopback by default); redirects are not followed
(a redirect to another host would pass around the list)."""

from __future__ import annotations

import asyncio
import json
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from statemachine import JSON, StatesError
from workers.integrations.connections import Authorizer, Extras

METHODS: Final = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"})
ARRAY_FORMATS: Final = frozenset({"INDICES", "REPEAT", "COMMAS", "BRACKETS"})
BODY_LIMIT: Final = 1024 * 1024
"""At most this much of an answer is read (the Task's result limit is 256 KiB)."""


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: one machine's cookies must never ride on another's calls."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _fail(message: str) -> StatesError:
    return StatesError("States.Runtime", message)


def host_allowed(host: str, allowed: list[str]) -> bool:
    """``host`` is in ``allowed`` exactly, or under a ``*.domain`` entry (case-insensitive)."""
    host = host.lower().rstrip(".")
    for entry in (a.lower() for a in allowed):
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def url_encode(body: Any, array_format: str = "INDICES") -> str:
    """A JSON object as ``application/x-www-form-urlencoded`` text: nested objects as ``a[b]=``,
    arrays as ``a[0]=`` (INDICES), ``a=x&a=y`` (REPEAT), ``a=x,y`` (COMMAS) or ``a[]=`` (BRACKETS)."""
    pairs: list[tuple[str, str]] = []

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return (
            "" if value is None else str(value) if not isinstance(value, dict | list) else json.dumps(value)
        )

    def walk(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{key}[{k}]" if key else str(k), v)
        elif isinstance(value, list):
            if array_format == "COMMAS":
                pairs.append((key, ",".join(scalar(v) for v in value)))
            for i, v in enumerate(value if array_format != "COMMAS" else ()):
                sub = {"INDICES": f"{key}[{i}]", "BRACKETS": f"{key}[]"}.get(array_format, key)
                walk(sub, v)
        else:
            pairs.append((key, scalar(value)))

    walk("", body)
    return urlencode(pairs)


class HttpTask:
    """Sends HTTP Tasks' requests."""

    def __init__(self, allowed_hosts: list[str], timeout_seconds: float, authorizer: Authorizer) -> None:
        self._allowed = allowed_hosts
        self._timeout = timeout_seconds
        self._authorizer = authorizer
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def _client(self) -> httpx.AsyncClient:
        """One client (and its connection pool) per event loop: building one costs ~20 ms (its TLS
        context), more than a call on loopback."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(
                follow_redirects=False, timeout=self._timeout, trust_env=False, cookies=_no_cookies()
            )
            self._clients = {known: c for known, c in self._clients.items() if not known.is_closed()}
            self._clients[loop] = client
        return client

    def check_url(self, url: str) -> httpx.URL:
        """The URL, if its scheme is http(s) and its host allowed; else States.TaskFailed."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise _fail(f"The ApiEndpoint is not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _fail(f"The ApiEndpoint must be an http or https URL: {url}")
        if not host_allowed(parsed.host, self._allowed):
            raise StatesError(
                "States.TaskFailed",
                f"The host '{parsed.host}' is not allowed for HTTP Tasks: an operator allows it in "
                "STEPLINE_INTEGRATIONS__HTTP_ALLOWED_HOSTS",
            )
        return parsed

    async def invoke(self, parameters: JSON) -> JSON:
        """Send the request the Parameters describe; the Task's result, or its error."""
        if not isinstance(parameters, dict):
            raise _fail("The parameters of the http:invoke integration must be an object")
        endpoint, method = parameters.get("ApiEndpoint"), parameters.get("Method")
        if not isinstance(endpoint, str):
            raise _fail("The field 'ApiEndpoint' is required by the http:invoke integration (a string)")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise _fail(f"The field 'Method' must be one of {sorted(METHODS)}")
        url = self.check_url(endpoint)
        headers = {str(k): str(v) for k, v in _object(parameters, "Headers").items()}
        query = {
            str(k): v if isinstance(v, str) else json.dumps(v)
            for k, v in _object(parameters, "QueryParameters").items()
        }
        client = self._client()
        arn = _object(parameters, "Authentication").get("ConnectionArn")
        for attempt in (1, 2):
            sent = dict(headers)
            extras = Extras()
            if isinstance(arn, str):
                extras = await self._authorizer.apply(arn, sent, client, self.check_url)
            content, content_type = _body(parameters, extras.body)
            if content_type and not any(k.lower() == "content-type" for k in sent):
                sent["Content-Type"] = content_type
            response, body = await self._send(
                client, method.upper(), url, {**query, **extras.query}, sent, content
            )
            if response.status_code in (401, 407) and extras.oauth_key is not None and attempt == 1:
                self._authorizer.forget(extras.oauth_key)  # as EventBridge: a refused token is renewed once
                continue
            break
        return _result(response, body)

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL,
        query: dict[str, str],
        headers: dict[str, str],
        content: bytes | None,
    ) -> tuple[httpx.Response, bytes]:
        try:
            request = client.build_request(method, url, params=query, headers=headers, content=content)
            response = await client.send(request, stream=True)
            try:
                return response, await _read(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise StatesError("States.TaskFailed", f"{method} {url}: {exc}") from None


def _object(parameters: dict[str, JSON], key: str) -> dict[str, JSON]:
    value = parameters.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"The field '{key}' of the http:invoke integration must be an object")
    return value


def _body(parameters: dict[str, JSON], extra: dict[str, str]) -> tuple[bytes | None, str | None]:
    """The request's body and its content type: ``RequestBody`` with the connection's body
    parameters merged in (theirs win) when it is an object or absent."""
    if "RequestBody" not in parameters and not extra:
        return None, None
    body = parameters.get("RequestBody")
    if extra and (body is None or isinstance(body, dict)):
        body = {**(body or {}), **extra}
    transform = _object(parameters, "Transform")
    if transform.get("RequestBodyEncoding") == "URL_ENCODED":
        options = transform.get("RequestEncodingOptions")
        array_format = options.get("ArrayFormat", "INDICES") if isinstance(options, dict) else "INDICES"
        if array_format not in ARRAY_FORMATS:
            raise _fail(
                f"Transform.RequestEncodingOptions.ArrayFormat must be one of {sorted(ARRAY_FORMATS)}"
            )
        return url_encode(body, str(array_format)).encode(), "application/x-www-form-urlencoded"
    if isinstance(body, str):
        return body.encode(), "text/plain"
    return json.dumps(body, separators=(",", ":")).encode(), "application/json"


async def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > BODY_LIMIT:
            raise StatesError(
                "States.DataLimitExceeded",
                "The state/task 'http' returned a result with a size exceeding "
                "the maximum number of bytes service limit.",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _result(response: httpx.Response, body: bytes) -> JSON:
    headers: dict[str, JSON] = {}
    for name, value in response.headers.multi_items():
        values = headers.setdefault(name, [])
        assert isinstance(values, list)
        values.append(value)
    text = body.decode("utf-8", errors="replace")
    decoded: JSON = text
    if "json" in response.headers.get("content-type", "") and text.strip():
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = text
    result: dict[str, JSON] = {
        "Headers": headers,
        "ResponseBody": decoded,
        "StatusCode": response.status_code,
        "StatusText": response.reason_phrase,
    }
    if response.status_code >= 400:
        raise StatesError(f"States.Http.StatusCode.{response.status_code}", json.dumps(result))
    return result
