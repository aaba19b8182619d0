"""Errors of the API's use cases (``api/errors.py`` turns them into problem+json)."""

from __future__ import annotations

from typing import Any


class InvalidRequest(Exception):
    """A request the API cannot act on (HTTP 400); ``problems`` say what and where."""

    def __init__(self, detail: str, problems: list[dict[str, Any]] | None = None) -> None:
        self.detail = detail
        self.problems = problems or []
        super().__init__(detail)


class PayloadTooLarge(Exception):
    """An input over the 256 KiB limit (HTTP 413)."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        self.detail = f"{what} is {size} bytes; the limit is {limit} bytes"
        super().__init__(self.detail)


class Conflict(Exception):
    """The request contradicts what exists (HTTP 409), e.g. an execution name reused with other input."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Unavailable(Exception):
    """A backing service (Temporal, PostgreSQL) did not answer (HTTP 503)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
