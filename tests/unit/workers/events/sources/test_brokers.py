"""Mappings' own broker URIs: what is allowed, what is shown, and errors scrubbed of the secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from foundation.settings import Settings
from workers.events.sources import brokers
from workers.events.sources.core import MappingView

LOOPBACK = ["127.0.0.1", "localhost", "::1"]


@pytest.mark.parametrize(
    ("uri", "kind", "shown"),
    [
        ("amqp://guest:pw@127.0.0.1:5672/vh", "rabbitmq", "amqp://guest@127.0.0.1:5672/vh"),
        ("amqps://localhost/", "rabbitmq", "amqps://localhost/"),
        ("rediss://default:pw@[::1]:6380/2?ssl_cert_reqs=none#x", "redis", "rediss://default@[::1]:6380/2"),
        ("nats://tok@127.0.0.1:4222", "nats", "nats://tok@127.0.0.1:4222"),
    ],
    ids=["amqp", "amqps-no-user", "rediss-v6-query", "nats-token"],
)
def test_allowed_uris_are_shown_without_password_query_or_fragment(uri: str, kind: str, shown: str) -> None:
    assert brokers.check_uri(uri, kind, LOOPBACK) == shown


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("amqp://u:pw@10.0.0.1/", "'10.0.0.1' is not allowed"),
        ("amqp://u:pw@LOCALHOST.evil.example/", "'localhost.evil.example' is not allowed"),
        ("amqp://127.0.0.1:pw@evil.example/", "'evil.example' is not allowed"),
        ("nats://127.0.0.1:4222/", "starts with amqp or amqps://, not nats://"),
        ("amqp://u:pw@127.0.0.1:65536/", "cannot be parsed"),
        ("amqp://u:pw@[::1/", "cannot be parsed"),
        ("amqp://u:pw\n@127.0.0.1/", "without spaces or control characters"),
    ],
    ids=["private", "suffix", "userinfo", "scheme", "port", "bracket", "newline"],
)
def test_refusals_name_the_part_never_the_uri(uri: str, says: str) -> None:
    with pytest.raises(brokers.BrokerRefused) as refused:
        brokers.check_uri(uri, "rabbitmq", LOOPBACK)
    assert says in str(refused.value) and "pw" not in str(refused.value)


def test_subdomain_entries_and_an_empty_list() -> None:
    assert (
        brokers.check_uri("amqp://mq.example.com/", "rabbitmq", ["*.example.com"]) == "amqp://mq.example.com/"
    )
    with pytest.raises(brokers.BrokerRefused):
        brokers.check_uri("amqp://127.0.0.1/", "rabbitmq", [])


def test_source_names_follow_the_operators_patterns() -> None:
    brokers.check_name("app-orders", ["app-*"])
    with pytest.raises(brokers.BrokerRefused, match="SOURCE_NAMES"):
        brokers.check_name("billing", ["app-*"])


def _view(sealed: str | None) -> MappingView:
    return MappingView(
        uuid="u", function_name="f", qualifier=None, source_arn="a", source_kind="rabbitmq", source_name="q",
        batch_size=1, batching_window_seconds=0, starting_position=None, starting_timestamp=None,
        parallelization_factor=1, report_item_failures=False, bisect_on_error=False, maximum_retry_attempts=0,
        maximum_record_age_seconds=-1, on_failure=None, filters=(), ordered=False, broker_sealed=sealed,
    )  # fmt: skip


def test_errors_are_scrubbed_of_the_uri_and_its_password_and_the_worker_checks_again(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("k" * 32))
    uri = "amqp://guest:p%40ss-S3cret@127.0.0.1:5672/"
    view = _view(brokers.sealer(settings).seal(uri))
    message = f"cannot connect to {uri}: auth p@ss-S3cret / p%40ss-S3cret refused"
    scrubbed = brokers.scrub(message, view, settings)
    assert "S3cret" not in scrubbed and "****" in scrubbed
    assert brokers.url_of(view, settings) == uri
    narrowed = settings.model_copy(
        update={"event_sources": settings.event_sources.model_copy(update={"allowed_hosts": []})}
    )
    with pytest.raises(brokers.BrokerRefused, match="not allowed"):
        brokers.url_of(view, narrowed)
    assert brokers.url_of(_view(None), settings) is None
