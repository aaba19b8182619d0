"""nextToken values are opaque, round-trip, and belong to one listing."""

from __future__ import annotations

import pytest

from api.pagination import decode_token, encode_token
from foundation.errors import InvalidRequest


@pytest.mark.parametrize(
    "position",
    [{"after": "orders"}, {"start": "2026-01-01T00:00:00+00:00", "id": "m:e"}, {"after": 17}],
    ids=["name", "keyset", "event-id"],
)
def test_token_round_trips(position: dict[str, object]) -> None:
    token = encode_token("listing", position)
    assert "=" not in token and "/" not in token
    assert decode_token("listing", token) == position


def test_token_of_another_listing_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="another listing"):
        decode_token("executions", encode_token("state-machines", {"after": "x"}))


@pytest.mark.parametrize(
    "token", ["garbage!!", "bm90IGpzb24", "WzFd"], ids=["not-base64", "not-json", "not-object"]
)
def test_malformed_token_is_rejected(token: str) -> None:
    with pytest.raises(InvalidRequest):
        decode_token("executions", token)
