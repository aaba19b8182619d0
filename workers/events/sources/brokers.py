"""Where a mapping's records come from, as the operator allows it: the operator's brokers
(``STEPLINE_EVENT_SOURCES__*_URL``), or a broker URI of the mapping's own (Lambda's
``SelfManagedEventSource``) on a host in ``STEPLINE_EVENT_SOURCES__ALLOWED_HOSTS`` (loopback only by
default), and only queues or streams whose names match ``STEPLINE_EVENT_SOURCES__SOURCE_NAMES``.

A mapping's URI is sealed at rest (``foundation.sealing``); what is shown is its summary, without the
password, the query or the fragment (``summary``). The API checks the URI when the mapping is made,
and the worker again before each connection (the operator may have narrowed the list since). No
message here ever repeats a URI: refusals name the host or the scheme, and errors a broker's client
raises are scrubbed of the URI and its password (``scrub``) before they are logged or stored.
"""

from __future__ import annotations

import fnmatch
from urllib.parse import SplitResult, unquote, urlsplit

from foundation.errors import InvalidValue
from foundation.sealing import Sealer
from foundation.settings import Settings
from workers.events.sources.core import MappingView
from workers.integrations.http_task import host_allowed

SCHEMES = {"rabbitmq": ("amqp", "amqps"), "redis": ("redis", "rediss"), "nats": ("nats", "tls")}
KEY = "BROKER_URL"
"""The ``SelfManagedEventSource.Endpoints`` member that holds the URI."""


class BrokerRefused(InvalidValue):
    """A broker URI or a source name the operator does not allow; says which part (never the URI)."""


def _parts(uri: str, kind: str) -> SplitResult:
    if kind not in SCHEMES:
        raise BrokerRefused(
            f"a {kind} source reads no broker: SelfManagedEventSource is for RabbitMQ, Redis and NATS"
        )
    if len(uri) > 1024 or any(ord(c) < 33 or ord(c) == 127 for c in uri):
        raise BrokerRefused("the broker URI is at most 1024 characters, without spaces or control characters")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises on a port that is no number)
    except ValueError:
        raise BrokerRefused("the broker URI cannot be parsed (its host or port)") from None
    if parts.scheme not in SCHEMES[kind]:
        shown = parts.scheme[:20] if parts.scheme.isalnum() else "?"
        raise BrokerRefused(
            f"a {kind} broker URI starts with {' or '.join(SCHEMES[kind])}://, not {shown}://"
        )
    if not parts.hostname:
        raise BrokerRefused("the broker URI names no host")
    return parts


def check_uri(uri: str, kind: str, allowed_hosts: list[str]) -> str:
    """The URI's summary if its scheme fits ``kind`` and its host is allowed; BrokerRefused otherwise."""
    parts = _parts(uri, kind)
    host = parts.hostname or ""
    if not host_allowed(host, allowed_hosts):
        raise BrokerRefused(
            f"the broker host {host[:255]!r} is not allowed for event source mappings: an operator allows "
            "it in STEPLINE_EVENT_SOURCES__ALLOWED_HOSTS"
        )
    return summary(parts)


def summary(parts: SplitResult) -> str:
    """``scheme://user@host:port/path``: what may be shown of a URI."""
    user = f"{parts.username}@" if parts.username else ""
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def check_name(name: str, patterns: list[str]) -> None:
    """BrokerRefused unless ``name`` matches one of the operator's ``source_names`` patterns."""
    if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
        raise BrokerRefused(
            f"{name[:255]!r} is not among the queues and streams mappings may read "
            "(STEPLINE_EVENT_SOURCES__SOURCE_NAMES)"
        )


def sealer(settings: Settings) -> Sealer:
    secret = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return Sealer.from_settings(secret, settings.data_dir)


def url_of(mapping: MappingView, settings: Settings) -> str | None:
    """The mapping's own broker URI (None: the operator's), checked again against today's settings."""
    if mapping.broker_sealed is None:
        return None
    uri = sealer(settings).open(mapping.broker_sealed)
    check_uri(uri, mapping.source_kind, settings.event_sources.allowed_hosts)
    return uri


def scrub(text: str, mapping: MappingView, settings: Settings) -> str:
    """``text`` without the mapping's URI or its password (in either spelling)."""
    if mapping.broker_sealed is None:
        return text
    try:
        uri = sealer(settings).open(mapping.broker_sealed)
    except ValueError:
        return text
    secrets = [uri]
    password = urlsplit(uri).password
    if password:
        secrets += [password, unquote(password)]
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "****")
    return text
