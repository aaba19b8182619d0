"""Task tokens: read back what was written; anything else is InvalidToken."""

from __future__ import annotations

import pytest

from foundation.task_tokens import MAX_LENGTH, InvalidTaskToken, TaskToken, new_secret, parse


def test_a_token_reads_back_its_claims() -> None:
    token = TaskToken("machine:execution/map/Items/3", 12, new_secret())
    text = token.text()
    assert len(text) < MAX_LENGTH
    assert parse(text) == token
    assert token.execution_id == "machine:execution"


def test_secrets_differ_each_time() -> None:
    assert len({new_secret() for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x" * 40,
        "SLT1.",
        "SLT1.abc",
        "SLT1.!!!.secret",
        "SLT1.WyJhIiwiMSJd.secret",  # ["a","1"]: a sequence that is not a number
        "SLT1.W10.secret",  # []
        "SLT1." + "A" * 3000,
        "SLT1.WyJhIiwxXQ.",  # ["a",1] without a secret
    ],
    ids=[
        "empty",
        "foreign",
        "prefix-only",
        "no-secret-part",
        "not-base64",
        "text-sequence",
        "empty-claims",
        "too-long",
        "empty-secret",
    ],
)
def test_what_we_did_not_issue_is_an_invalid_token(text: str) -> None:
    with pytest.raises(InvalidTaskToken) as raised:
        parse(text)
    assert raised.value.problems[0]["code"] == "InvalidToken"
