"""The API binds to loopback unless a token protects it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from api.server import UnsafeBind, check_bind, is_loopback
from foundation.settings import ApiSettings


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_needs_no_token() -> None:
    check_bind(ApiSettings(host="127.0.0.1"))


@pytest.mark.parametrize("token", [None, SecretStr("")], ids=["none", "empty"])
def test_other_interfaces_need_a_token(token: SecretStr | None) -> None:
    with pytest.raises(UnsafeBind, match="STEPLINE_API_TOKEN"):
        check_bind(ApiSettings(host="0.0.0.0", token=token))


def test_other_interfaces_with_a_token_are_allowed() -> None:
    check_bind(ApiSettings(host="0.0.0.0", token=SecretStr("s3cret")))
