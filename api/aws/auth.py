"""Who may call: the bearer token of ``/v1`` or an AWS SigV4 signature, on every route.

The policy (``Gate.admit``):

- a valid ``Authorization: Bearer <token>`` (when a token is configured) is enough anywhere;
- a SigV4 signature is verified against the access keys (``stepline keys create``) when a token is
  configured, when the API listens beyond loopback, or once any access key exists; otherwise (a
  loopback API with neither, as LocalStack runs) any well-formed signature is accepted;
- a request with neither is refused when a token is configured, and on an AWS route when access keys
  exist; ``/v1`` without a token stays open on loopback, as before;
- a function's session credentials (a Stepline ``X-Amz-Security-Token``: functions with ``aws_api``)
  are always verified, in every mode, against the secret their token derives
  (``foundation.session_credentials``), and only on AWS routes (``/v1``: 403).

The account id is the access key's (a 12-digit key id counts as one in the open mode, else
000000000000). Refusals on AWS routes have the protocol's error shape and say no more than AWS does.
Access keys and "are there any" are cached for ``Settings.api.key_cache_seconds`` (a revoked key stops
working within that time in every process).
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope

from api.aws import sigv4
from api.aws.errors import AwsError, json10_error, new_request_id, rest_json_error
from api.errors import problem
from foundation import session_credentials
from foundation.preflight import is_loopback
from foundation.registry import access_keys
from foundation.registry.database import SessionMaker
from foundation.sealing import Sealer, SealError
from foundation.settings import Settings

ACCOUNT_ID_STATE = "aws_account_id"
"""``request.state`` attribute: the account id of an AWS request's credential."""
_LAMBDA_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/|^/(?:schedules|schedule-groups|tags)(?:/|$)")
"""Lambda's API-version prefixes, and EventBridge Scheduler's paths (restJson1 both)."""
_SIGV4 = sigv4.ALGORITHM + " "
EXPIRED = "The security token included in the request is expired"


def aws_protocol(scope: Scope) -> str | None:
    """``"json"`` (Step Functions, awsJson1_0), ``"rest-json"`` (Lambda, Scheduler) or None (``/v1``...)."""
    path: str = scope["path"]
    if path == "/" and scope["method"] == "POST":
        return "json"
    return "rest-json" if _LAMBDA_PATH.match(path) else None


def refusal(protocol: str | None, code: str, message: str, status: int = 403) -> ASGIApp:
    """An error (403 unless told) in the caller's protocol (``/v1``: problem+json)."""
    if protocol is None:
        return problem(status, "Forbidden", message)
    error = AwsError(code, message, status)
    if protocol == "json":
        return json10_error(error, new_request_id())
    return rest_json_error(error, new_request_id())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _account_of(access_key_id: str) -> str:
    return access_key_id if re.fullmatch(r"\d{12}", access_key_id) else access_keys.DEFAULT_ACCOUNT_ID


class Gate:
    """The policy in this module's docstring. ``sessions`` is read when first needed (the lifespan
    builds the registry after the middleware exists)."""

    def __init__(
        self, settings: Settings, token: str | None, sessions: Callable[[Scope], SessionMaker]
    ) -> None:
        self.token = token
        self.loopback = is_loopback(settings.api.host)
        self._settings = settings
        self._sessions = sessions
        self._cache_seconds = settings.api.key_cache_seconds
        self._sealer: Sealer | None = None
        self._session_key: bytes | None = None
        self._keys: dict[str, tuple[tuple[str, str] | None, float]] = {}
        """access key id -> ((secret, account id) or None, cached until (monotonic))."""
        self._any_keys: tuple[bool, float] = (False, 0.0)

    async def admit(self, scope: Scope, receive: Receive) -> tuple[Receive, ASGIApp | None]:
        """(the ``receive`` the app must use from now on, a refusal to send or None)."""
        authorization = _header(scope, b"authorization") or ""
        if self.token and _bearer_matches(authorization, self.token):
            return receive, None
        protocol = aws_protocol(scope)
        if authorization.startswith(_SIGV4):
            return await self._signed(scope, receive, protocol)
        if self.token:
            if protocol is None:
                return receive, problem(
                    401, "Unauthorized", "a valid 'Authorization: Bearer <token>' header is required"
                )
            return receive, refusal(
                protocol, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        if protocol is not None and (not self.loopback or await self._keys_exist(scope)):
            return receive, refusal(
                protocol, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        return receive, None

    async def _signed(
        self, scope: Scope, receive: Receive, protocol: str | None
    ) -> tuple[Receive, ASGIApp | None]:
        token = (_header(scope, b"x-amz-security-token") or "").strip()
        session = session_credentials.is_stepline_token(token)
        if session and protocol is None:
            message = "session credentials are accepted on the AWS APIs only"
            return receive, refusal(None, "AccessDenied", message)
        verifying = session or bool(self.token) or not self.loopback or await self._keys_exist(scope)
        body = b""
        if verifying:
            body, receive = await _read_body(receive)  # within its route's cap: RequestLimits is outside
        request = sigv4.SignedRequest(
            scope["method"], scope.get("raw_path") or scope["path"].encode(), scope["query_string"],
            scope["headers"], body,
        )  # fmt: skip
        try:
            credential = sigv4.credential_of(request)
            account = _account_of(credential.access_key_id)
            if session:
                self._verify_session(request, credential, token)
                account = access_keys.DEFAULT_ACCOUNT_ID
            elif verifying:
                found = await self._key(scope, credential.access_key_id)
                sigv4.verify(request, credential, found[0] if found else None)
                account = found[1] if found else account
        except sigv4.SignatureError as exc:
            return receive, refusal(protocol, exc.code, exc.message)
        scope.setdefault("state", {})[ACCOUNT_ID_STATE] = account
        return receive, None

    def _verify_session(self, request: sigv4.SignedRequest, credential: sigv4.Credential, token: str) -> None:
        """A function's session credentials (``foundation.session_credentials``): the secret is
        recomputed from the token, so only an unchanged token's holder can sign; then its expiry."""
        try:
            claims = session_credentials.claims_of(token)
        except session_credentials.InvalidSessionToken:
            claims = None
        secret = None
        if claims is not None and hmac.compare_digest(
            claims.access_key_id.encode(), credential.access_key_id.encode()
        ):
            if self._session_key is None:
                self._session_key = self._sealer_of().derive(session_credentials.PURPOSE)
            secret = session_credentials.secret_of(self._session_key, token)
        sigv4.verify(request, credential, secret)
        if claims is not None and claims.expires <= time.time():
            raise sigv4.SignatureError("ExpiredTokenException", EXPIRED)

    async def _keys_exist(self, scope: Scope) -> bool:
        exist, until = self._any_keys
        if until > time.monotonic():
            return exist
        async with self._sessions(scope)() as session:
            exist = await access_keys.count_active_keys(session) > 0
        self._any_keys = (exist, time.monotonic() + self._cache_seconds)
        return exist

    async def _key(self, scope: Scope, access_key_id: str) -> tuple[str, str] | None:
        """(secret, account id) of an active key, or None."""
        cached = self._keys.get(access_key_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with self._sessions(scope)() as session:
            row = await access_keys.get_active_key(session, access_key_id)
        found: tuple[str, str] | None = None
        if row is not None:
            try:
                found = (self._sealer_of().open(row.secret_sealed), row.account_id)
            except SealError:
                found = None  # sealed under another STEPLINE_SECRET_KEY: as good as unknown
        if len(self._keys) > 10_000:  # guessed key ids must not grow the cache without bound
            self._keys.clear()
        self._keys[access_key_id] = (found, time.monotonic() + self._cache_seconds)
        return found

    def _sealer_of(self) -> Sealer:
        if self._sealer is None:
            secret = self._settings.secret_key
            self._sealer = Sealer.from_settings(
                secret.get_secret_value() if secret else None, self._settings.data_dir.resolve()
            )
        return self._sealer


def _bearer_matches(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (the signature covers it) and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def account_id(state: Any) -> str:
    """The caller's account id from ``request.state`` (000000000000 when the request was not signed)."""
    return str(getattr(state, ACCOUNT_ID_STATE, access_keys.DEFAULT_ACCOUNT_ID))
