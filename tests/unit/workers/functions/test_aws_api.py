"""Where functions' AWS API calls go, and how long their credentials last (``aws_api``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from foundation.settings import Settings
from workers.functions import aws_api
from workers.functions.aws_api import AwsApiAccess, Upstream, covers, reusable, upstream_of
from workers.functions.config import FunctionConfig

ACCESS = AwsApiAccess(b"k" * 32, Upstream("127.0.0.1", 8000))
CONFIG = FunctionConfig(name="f", runtime="python3.11", handler="a.b", code_dir=Path("/nonexistent"))


@pytest.mark.parametrize(
    ("api", "sandbox", "upstream"),
    [
        ({}, {}, Upstream("127.0.0.1", 8000)),
        ({"host": "0.0.0.0", "port": 9000}, {}, Upstream("127.0.0.1", 9000)),
        ({"host": "10.1.2.3"}, {}, Upstream("10.1.2.3", 8000)),
        ({}, {"api_url": "http://api.internal:8080"}, Upstream("api.internal", 8080)),
        ({}, {"api_url": "https://api.example.com"}, Upstream("api.example.com", 443, tls=True)),
    ],
    ids=["default", "wildcard", "own-host", "api-url", "https"],
)
def test_calls_go_to_the_api_url_else_the_apis_own_address(
    api: dict[str, object], sandbox: dict[str, object], upstream: Upstream
) -> None:
    assert upstream_of(Settings(api=api, sandbox=sandbox)) == upstream


@pytest.mark.parametrize("url", ["api.internal:8080", "ftp://api", "http://"])
def test_an_api_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="STEPLINE_SANDBOX__API_URL"):
        upstream_of(Settings(sandbox={"api_url": url}))


def test_credentials_last_fifteen_minutes_or_a_minute_past_the_deadline() -> None:
    now = time.time()
    short = ACCESS.credentials(CONFIG, now + 3).claims.expires
    long = ACCESS.credentials(CONFIG, now + 900).claims.expires
    assert now + aws_api.LIFETIME_SECONDS - 1 <= short <= now + aws_api.LIFETIME_SECONDS + 1
    assert now + 960 - 1 <= long <= now + 960 + 1
    assert ACCESS.credentials(CONFIG).claims.function == "f"


def test_an_environment_is_reused_only_while_its_credentials_cover_the_invocation() -> None:
    now = time.time()
    held = ACCESS.credentials(CONFIG)  # fifteen minutes
    assert covers(held, now + 60) and not covers(held, now + 900) and not covers(None, now)
    assert reusable("provided", held, now + 60)
    assert not reusable("provided", held, now + 900)  # reads them once: a new environment
    assert reusable("python3.11", held, now + 900) and reusable("nodejs20", held, now + 900)  # renewed
    assert reusable("provided", None, now + 900)  # no aws_api
