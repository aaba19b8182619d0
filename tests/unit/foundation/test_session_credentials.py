"""Functions' session credentials: the token states its claims, the secret follows from the token."""

from __future__ import annotations

import base64
import json

import pytest

from foundation import session_credentials as sc

KEY = b"k" * 32


def test_issued_credentials_carry_their_claims_and_a_secret_derived_from_the_token() -> None:
    issued = sc.issue(KEY, "fn", "3", 2_000_000_000)
    assert issued.access_key_id.startswith("ASIA") and len(issued.access_key_id) == 20
    assert len(issued.secret_access_key) == 40
    assert sc.claims_of(issued.session_token) == sc.SessionClaims(
        issued.access_key_id, "fn", "3", 2_000_000_000
    )
    assert sc.secret_of(KEY, issued.session_token) == issued.secret_access_key
    assert issued.variables()["AWS_CREDENTIAL_EXPIRATION"] == "2033-05-18T03:33:20Z"


def test_each_issue_is_a_new_key_pair() -> None:
    first, second = sc.issue(KEY, "fn", "$LATEST", 1), sc.issue(KEY, "fn", "$LATEST", 1)
    assert first.access_key_id != second.access_key_id
    assert first.secret_access_key != second.secret_access_key


def test_a_changed_token_has_another_secret() -> None:
    """Extending the expiry (or naming another function) yields a secret its holder does not have."""
    issued = sc.issue(KEY, "fn", "$LATEST", 1_000)
    doc = sc.claims_of(issued.session_token)
    forged_payload = {"k": doc.access_key_id, "f": "fn", "v": "$LATEST", "e": 9_999_999_999}
    forged = sc.TOKEN_PREFIX + base64.urlsafe_b64encode(json.dumps(forged_payload).encode()).decode()
    assert sc.claims_of(forged).expires == 9_999_999_999
    assert sc.secret_of(KEY, forged) != issued.secret_access_key
    assert sc.secret_of(b"other key" * 4, issued.session_token) != issued.secret_access_key


@pytest.mark.parametrize(
    "token",
    [
        "",
        "FwoGZXIvYXdzEJr//////////wEaDM",  # an STS token: not Stepline's
        sc.TOKEN_PREFIX + "!!!",
        sc.TOKEN_PREFIX + base64.urlsafe_b64encode(b"[1, 2]").decode(),
        sc.TOKEN_PREFIX + base64.urlsafe_b64encode(b'{"k": "A", "f": "f", "v": "1", "e": "soon"}').decode(),
        sc.TOKEN_PREFIX + base64.urlsafe_b64encode(b'{"k": "A", "f": "f", "v": "1", "e": true}').decode(),
        sc.TOKEN_PREFIX + "A" * sc.MAX_TOKEN_LENGTH,
    ],
    ids=["empty", "sts", "not-base64", "not-an-object", "expiry-text", "expiry-bool", "too-long"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(sc.InvalidSessionToken):
        sc.claims_of(token)
