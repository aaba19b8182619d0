"""What a function with ``aws_api`` gets: this Stepline's AWS APIs at ``AWS_ENDPOINT_URL``, and
short-lived session credentials, without any network access from its sandbox.

The path of a call: boto3 in the sandbox -> ``AWS_ENDPOINT_URL`` (127.0.0.1:9002, the sandbox's
own loopback) -> the relay the bootstrap runs there (``bootstrap/loopback_relay.py``; Node.js: its
own) -> ``/run/lambda/aws.sock``, a Unix socket in the environment's directory -> the worker's
``ApiForwarder`` (``api_forwarder.py``), which checks each request and passes it to the API
(``api_url``: ``SandboxSettings.api_url``, else the API's own host and port). The API verifies
the credentials like any SigV4 signature (``api.aws.auth``).

Credentials (``foundation.session_credentials``) are issued when the environment starts (for
INIT) and again for an invocation that would outlast them (the Runtime API hands them over with the
event, and the bootstraps put them in ``os.environ``/``process.env``); each set is valid for
``LIFETIME_SECONDS`` from its issue, or until a minute past the invocation's deadline if that is
later. Runtimes that do not take new ones (``provided``) get a new environment instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from foundation import session_credentials
from foundation.sealing import Sealer
from foundation.session_credentials import SessionCredentials
from foundation.settings import Settings
from workers.functions.config import FunctionConfig

SOCKET_NAME = "aws.sock"
"""In the environment's directory, which the sandbox sees as /run/lambda."""
ENDPOINT_ADDRESS = "127.0.0.1:9002"
"""Where the relay listens inside the sandbox (``AWS_ENDPOINT_URL``)."""
LIFETIME_SECONDS = session_credentials.LIFETIME_SECONDS
RENEWING_RUNTIMES = frozenset({"python3.11", "nodejs20"})
"""Runtimes whose bootstrap takes each invocation's credentials (the others keep their first)."""
DEADLINE_MARGIN_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the worker sends a sandbox's AWS API calls."""

    host: str
    port: int
    tls: bool = False


def upstream_of(settings: Settings) -> Upstream:
    """``settings.sandbox.api_url``, else the API's own address (loopback for a wildcard bind)."""
    url = settings.sandbox.api_url
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"STEPLINE_SANDBOX__API_URL must be http(s)://host[:port], not {url!r}")
        tls = parts.scheme == "https"
        return Upstream(parts.hostname, parts.port or (443 if tls else 80), tls)
    host = settings.api.host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return Upstream(host, settings.api.port)


class AwsApiAccess:
    """Issues the variables of functions with ``aws_api`` and knows where their calls go."""

    def __init__(self, key: bytes, upstream: Upstream) -> None:
        self._key = key
        self.upstream = upstream

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsApiAccess:
        secret = settings.secret_key
        sealer = Sealer.from_settings(
            secret.get_secret_value() if secret else None, settings.data_dir.resolve()
        )
        return cls(sealer.derive(session_credentials.PURPOSE), upstream_of(settings))

    def issue(self, function: str, version: str, expires: int) -> SessionCredentials:
        """Credentials for ``function`` (``version``) valid until ``expires`` (Unix seconds)."""
        return session_credentials.issue(self._key, function, version, expires)

    def credentials(self, config: FunctionConfig, until: float | None = None) -> SessionCredentials:
        """Fresh credentials, valid for ``LIFETIME_SECONDS`` or until a minute past ``until`` (an
        invocation's deadline, Unix seconds), whichever is later."""
        now = time.time()
        expires = max(now + LIFETIME_SECONDS, (until or now) + DEADLINE_MARGIN_SECONDS)
        return self.issue(config.name, config.version, int(expires))


ENDPOINT_VARIABLES = {
    "AWS_ENDPOINT_URL": f"http://{ENDPOINT_ADDRESS}",
    "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",  # sync-127.0.0.1 does not resolve
}
"""What a sandbox of a function with ``aws_api`` gets besides its credentials."""


def covers(credentials: SessionCredentials | None, deadline: float) -> bool:
    """Whether ``credentials`` stay valid until a minute past ``deadline`` (Unix seconds)."""
    return credentials is not None and credentials.claims.expires >= deadline + DEADLINE_MARGIN_SECONDS


def reusable(runtime: str, credentials: SessionCredentials | None, deadline: float) -> bool:
    """Whether an environment holding ``credentials`` can take an invocation ending at ``deadline``:
    yes without credentials or with a runtime that takes new ones with the event; otherwise (it
    read them once, at its start) only while they cover the invocation."""
    return credentials is None or runtime in RENEWING_RUNTIMES or covers(credentials, deadline)


def socket_path(directory: Path) -> Path:
    return directory / SOCKET_NAME
