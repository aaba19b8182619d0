"""Text that functions and workflows make, made storable before it is written.

The API refuses NUL (U+0000) and lone surrogates where requests bring them in (``api.json_input``);
what runs makes its own text, though: a function prints ``"\\0"``, an intrinsic decodes ``"\\u0000"``
into an error's cause. PostgreSQL text cannot hold NUL and UTF-8 cannot encode a lone surrogate, so
one such character would fail the whole write (a batch of logs lost, an execution's outcome retried
forever). Each becomes U+FFFD, the replacement character, as a decoder would show it.
"""

from __future__ import annotations

from typing import overload

REPLACEMENT = "\ufffd"


@overload
def storable(text: str) -> str: ...
@overload
def storable(text: None) -> None: ...
def storable(text: str | None) -> str | None:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD (the same object when there is none)."""
    if text is None or (text.isascii() and "\x00" not in text):
        return text
    text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode()
    except UnicodeEncodeError:  # rare: one pass over the characters
        return "".join(REPLACEMENT if "\ud800" <= c <= "\udfff" else c for c in text)
    return text
