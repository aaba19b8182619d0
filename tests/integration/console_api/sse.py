"""Reading ``text/event-stream`` as the console does with ``fetch``: blocks split on a blank line."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Message:
    event: str
    data: Any
    id: str | None
    received: float
    """``time.monotonic()`` when its last byte arrived."""


async def messages(response: httpx.Response) -> AsyncIterator[Message | str]:
    """Each event as a ``Message``; each comment block as its text (keep-alives)."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields: dict[str, str] = {}
            comments = []
            for line in block.split("\n"):
                if line.startswith(":"):
                    comments.append(line[1:].strip())
                elif ":" in line:
                    name, value = line.split(":", 1)
                    fields[name] = value[1:] if value.startswith(" ") else value
            if "data" in fields:
                yield Message(
                    fields.get("event", "message"),
                    json.loads(fields["data"]),
                    fields.get("id"),
                    time.monotonic(),
                )
            else:
                yield " ".join(comments)
