"""A sandbox's output split into bounded log lines (``OutputLines``), fed bytes directly."""

from __future__ import annotations

import time

import pytest

from workers.functions.output import TRUNCATED, OutputLines


@pytest.mark.parametrize("split", [1, 2, 3, 5, 1000], ids=lambda n: f"chunks-of-{n}")
def test_lines_are_reassembled_across_chunks(split: int) -> None:
    data = b"first\nsecond line\n\nlast"
    output = OutputLines()
    for start in range(0, len(data), split):
        output.feed(data[start : start + split])
    assert output.take() == ["first", "second line", ""]  # "last" is not finished yet
    output.feed(b" part\n")
    assert output.take() == ["last part"]


def test_a_long_line_is_cut_and_marked() -> None:
    output = OutputLines(max_line=10)
    output.feed(b"0123456789abcdef")
    output.feed(b"ghij\nnext\n")
    assert output.take() == [f"0123456789 {TRUNCATED}", "next"]


def test_an_invocation_keeps_its_budget_and_says_what_it_dropped() -> None:
    output = OutputLines(max_bytes=100, max_lines=3)
    output.feed(b"a\nb\nc\nd\ne\n")
    lines = output.take()
    assert lines[:3] == ["a", "b", "c"]
    assert lines[3].startswith(TRUNCATED) and "(2 lines)" in lines[3]
    output.feed(b"f\n")
    assert output.take() == ["f"]  # the next invocation has its own budget


def test_the_unterminated_last_line_of_a_dead_sandbox_is_kept() -> None:
    output = OutputLines()
    output.feed(b"done\ncrash")
    output.finish()
    assert output.take() == ["done", "crash"]


def test_invalid_utf8_is_replaced() -> None:
    output = OutputLines()
    output.feed(b"caf\xe9\n")
    assert output.take() == ["caf\ufffd"]


def test_time_is_linear_in_the_output() -> None:
    """100 MB without a newline in 64 KB chunks: no re-joining of a growing partial line."""
    chunk = b"x" * 65536
    output = OutputLines()
    started = time.perf_counter()
    for _ in range(1600):
        output.feed(chunk)
    output.feed(b"\n")
    assert time.perf_counter() - started < 2.0
    assert output.take() == ["x" * (256 * 1024) + f" {TRUNCATED}"]
