"""Short-lived AWS session credentials for functions that call this Stepline's AWS APIs.

A function with ``aws_api`` gets, for each invocation, what AWS's STS would hand a Lambda's role:
an access key id (``ASIA...``), a secret and a session token. Nothing is stored: the token carries
its claims (access key id, function, version, expiry) in the clear, and the secret is an HMAC of
the token under a key derived from the deployment's secret (``Sealer.derive(PURPOSE)``). The API
recomputes the secret from the token and checks the SigV4 signature with it, so a token changed in
any way (a later expiry, another function) yields a secret nobody holds and its signatures fail.
The worker issues them (``issue``), the API checks them (``claims_of`` + ``secret_of``); both need
the same ``STEPLINE_SECRET_KEY`` (or data directory), as for sealed secrets.

They cannot be revoked before they expire (neither can STS's); they are only ever issued into a
sandbox and never stored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from foundation.errors import InvalidValue

PURPOSE = "aws-session-credentials-v1"
"""The ``Sealer.derive`` purpose of the signing key."""
TOKEN_PREFIX = "stepline1."
"""Every Stepline session token starts with this (other tokens are not Stepline's to check)."""
LIFETIME_SECONDS = 15 * 60
MAX_TOKEN_LENGTH = 2048


class InvalidSessionToken(InvalidValue):
    """A token that is not a well-formed Stepline session token."""


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a session token says (authentic only once a signature made with its secret verified)."""

    access_key_id: str
    function: str
    version: str
    expires: int
    """Unix seconds."""

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)


@dataclass(frozen=True, slots=True)
class SessionCredentials:
    """One issue: what the sandbox's environment holds."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    claims: SessionClaims

    def variables(self) -> dict[str, str]:
        """The AWS SDKs' environment variables (``AWS_CREDENTIAL_EXPIRATION`` lets botocore re-read
        them when they change, so a client made at INIT follows each invocation's new credentials)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_CREDENTIAL_EXPIRATION": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.claims.expires)
            ),
        }


def issue(key: bytes, function: str, version: str, expires: int) -> SessionCredentials:
    """Fresh credentials for ``function`` (``version``) valid until ``expires`` (Unix seconds)."""
    access_key_id = "ASIA" + base64.b32encode(secrets.token_bytes(10)).decode()  # 16 of A-Z2-7, as AWS's
    claims = SessionClaims(access_key_id, function, version, expires)
    payload = json.dumps(
        {"k": access_key_id, "f": function, "v": version, "e": expires}, separators=(",", ":")
    ).encode()
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return SessionCredentials(access_key_id, secret_of(key, token), token, claims)


def is_stepline_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def claims_of(token: str) -> SessionClaims:
    """The claims a token states (not yet authenticated); ``InvalidSessionToken`` if malformed."""
    if not is_stepline_token(token) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSessionToken("not a Stepline session token")
    encoded = token[len(TOKEN_PREFIX) :]
    try:
        doc = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidSessionToken("not a Stepline session token") from None
    if not isinstance(doc, dict):
        raise InvalidSessionToken("not a Stepline session token")
    key, function, version, expires = doc.get("k"), doc.get("f"), doc.get("v"), doc.get("e")
    if not (
        isinstance(key, str) and isinstance(function, str) and isinstance(version, str)
        and isinstance(expires, int) and not isinstance(expires, bool)
    ):  # fmt: skip
        raise InvalidSessionToken("not a Stepline session token")
    return SessionClaims(key, function, version, expires)


def secret_of(key: bytes, token: str) -> str:
    """The secret access key that goes with ``token`` (40 characters, as AWS's)."""
    digest = hmac.digest(key, token.encode(), "sha256")
    return base64.b64encode(digest).decode()[:40]
