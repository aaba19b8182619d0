"""``api.services.live``: the Server-Sent Events framing and where a stream resumes."""

from __future__ import annotations

import json

import pytest

from api.services.live import resume_point, sse
from foundation.errors import InvalidRequest


def test_an_event_is_one_data_line_of_json_with_its_id() -> None:
    frame = sse({"type": "PassStateEntered", "text": "two\nlines"}, "history", 7)
    assert frame.endswith(b"\n\n") and frame.count(b"\n") == 4
    head, event, data = frame.decode().rstrip("\n").split("\n")
    assert head == "id: 7" and event == "event: history"
    assert json.loads(data.removeprefix("data: "))["text"] == "two\nlines"
    assert not sse({}, "status").startswith(b"id:")


def test_huge_integers_still_frame() -> None:
    assert json.loads(sse({"n": 2**70}, "history", 1).decode().split("data: ")[1])["n"] == 2**70


def test_last_event_id_wins_over_after_and_must_be_an_id() -> None:
    assert resume_point(None, None) == 0
    assert resume_point(None, 5) == 5
    assert resume_point("9", 5) == 9
    assert resume_point(" ", 5) == 5
    assert resume_point(str(2**63 - 1), None) == 2**63 - 1
    for bad in ("x", "-1", "1.5", str(2**63)):
        with pytest.raises(InvalidRequest):
            resume_point(bad, None)
