"""A sandbox's output (stdout and stderr share one pipe), split into log lines within fixed bounds.

Whatever the function writes, the worker keeps at most ``MAX_LINE_BYTES`` of one line (Lambda cuts
a log event at 256 KB) and ``MAX_INVOCATION_BYTES`` / ``MAX_INVOCATION_LINES`` per invocation; what
is cut is said in the log with a ``[truncated]`` marker. Each byte is looked at a bounded number of
times (no re-joining of a growing partial line), so a 100 MB line costs what 100 MB of short lines
cost, and memory stays bounded however much a process in the sandbox writes between invocations.
"""

from __future__ import annotations

MAX_LINE_BYTES = 256 * 1024
MAX_INVOCATION_BYTES = 1024 * 1024
MAX_INVOCATION_LINES = 10_000
TRUNCATED = "[truncated]"


class OutputLines:
    """Bytes in, bounded lines out; ``take`` ends an invocation's share and starts the next."""

    def __init__(
        self, max_line: int = MAX_LINE_BYTES, max_bytes: int = MAX_INVOCATION_BYTES,
        max_lines: int = MAX_INVOCATION_LINES,
    ) -> None:  # fmt: skip
        self._max_line = max_line
        self._max_bytes = max_bytes
        self._max_lines = max_lines
        self._lines: list[str] = []
        self._kept_bytes = 0
        self._partial = bytearray()
        self._cut = False
        """The current line was cut at ``max_line``: its remaining bytes are skipped."""
        self._dropped_lines = 0
        self._dropped_bytes = 0

    @property
    def full(self) -> bool:
        return self._kept_bytes >= self._max_bytes or len(self._lines) >= self._max_lines

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self.full and not self._partial:  # over budget: only counted, at C speed
            self._dropped_lines += data.count(b"\n")
            self._dropped_bytes += len(data)
            return
        *complete, rest = data.split(b"\n")
        for piece in complete:
            self._extend(piece)
            self._end_line()
        self._extend(rest)

    def finish(self) -> None:
        """The output ended (the sandbox exited): an unterminated last line is a line."""
        if self._partial or self._cut:
            self._end_line()

    def take(self) -> list[str]:
        """The lines so far (a marker last if some were not kept); the budget starts again."""
        lines, self._lines = self._lines, []
        if self._dropped_lines or self._dropped_bytes:
            lines.append(
                f"{TRUNCATED} {self._dropped_bytes} bytes of output ({self._dropped_lines} lines) not kept: "
                f"over {self._max_bytes} bytes or {self._max_lines} lines per invocation"
            )
        self._kept_bytes = self._dropped_lines = self._dropped_bytes = 0
        return lines

    def _extend(self, piece: bytes) -> None:
        if self._cut:
            return
        room = self._max_line - len(self._partial)
        if len(piece) > room:
            self._partial += piece[:room]
            self._cut = True
        else:
            self._partial += piece

    def _end_line(self) -> None:
        size = len(self._partial)
        if self.full:
            self._dropped_lines += 1
            self._dropped_bytes += size
        else:
            text = self._partial.decode(errors="replace")
            if self._cut:
                text += f" {TRUNCATED}"
            self._lines.append(text)
            self._kept_bytes += size
        self._partial.clear()
        self._cut = False
