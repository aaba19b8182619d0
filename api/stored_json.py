"""JSON kept as text (an execution's input and output) served as the text it is.

Parsing stored JSON and serialising it again can fail on what was stored fine: pydantic-core and
orjson stop at 255 levels of nesting, Python's ``json`` near 1,000, PostgreSQL text at none. Values
already stored (before ``api.json_input`` limited depth) or made deeper by a workflow must still read
back, so a response carries them verbatim: no parse, no depth limit, no re-encoding of 256 KiB inputs.
"""

from __future__ import annotations

import re

from fastapi import Response
from pydantic import BaseModel

_STRING_OR_NON_STANDARD = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?Infinity|NaN)')


def strict_json(text: str) -> str:
    """``text`` with the ``NaN`` and ``Infinity`` Python's ``json`` writes (and JSON lacks) as
    ``null``, as pydantic serialises them; strings are left alone."""
    if "NaN" not in text and "Infinity" not in text:
        return text
    return _STRING_OR_NON_STANDARD.sub(lambda m: "null" if m.group(1) else m.group(0), text)


def json_response(model: BaseModel, status_code: int = 200, **texts: str | None) -> Response:
    """``model`` as a JSON response (by alias), except the fields named in ``texts``: each is the
    JSON text given (``None``: null), spliced in unparsed."""
    head = model.model_dump_json(by_alias=True, exclude=set(texts))[:-1]
    parts = [head]
    for field, text in texts.items():
        alias = type(model).model_fields[field].alias or field
        separator = "," if len(parts) > 1 or head != "{" else ""
        parts.append(f'{separator}"{alias}":{strict_json(text) if text is not None else "null"}')
    parts.append("}")
    return Response("".join(parts), status_code=status_code, media_type="application/json")
