"""What a rule's target receives: the event, ``Input``, ``InputPath`` or an ``InputTransformer`` (pure).

``InputTransformer`` is EventBridge's: ``InputPathsMap`` names JSONPaths into the event, and
``<name>`` placeholders in ``InputTemplate`` take their values. Inside a JSON string a placeholder is
replaced by the value's text (a string without its quotes); elsewhere by the value as JSON. A path
that selects nothing gives ``null``. The reserved ``<aws.events.event>`` (the event as JSON),
``<aws.events.event.json>``, ``<aws.events.rule-name>``, ``<aws.events.rule-arn>`` and
``<aws.events.event.ingestion-time>`` need no entry in the map.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from statemachine import PathNotFound, PathSyntaxError, parse_path

MAX_PATHS = 100
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")


class InvalidInputTransformer(ValueError):
    """A target's input settings that cannot work; the message says which and why."""


@dataclass(frozen=True, slots=True)
class TargetInput:
    """A target's input settings (at most one of ``input``, ``input_path``, a transformer)."""

    input: str | None = None
    input_path: str | None = None
    paths_map: Mapping[str, str] | None = None
    template: str | None = None


def check(settings: TargetInput) -> None:
    """Raise ``InvalidInputTransformer`` for settings a delivery could not apply."""
    given = [settings.input is not None, settings.input_path is not None, settings.template is not None]
    if sum(given) > 1:
        raise InvalidInputTransformer("Only one of Input, InputPath, or InputTransformer is allowed.")
    if settings.input is not None:
        try:
            json.loads(settings.input)
        except ValueError:
            raise InvalidInputTransformer("Input must be valid JSON text.") from None
    if settings.input_path is not None:
        _path(settings.input_path, "InputPath")
    paths = settings.paths_map or {}
    if len(paths) > MAX_PATHS:
        raise InvalidInputTransformer(f"InputPathsMap has more than {MAX_PATHS} entries.")
    for name, path in paths.items():
        if not _NAME.match(name) or name.startswith("aws."):
            raise InvalidInputTransformer(f"InputPathsMap key {name!r} is not a valid name.")
        _path(path, f"InputPathsMap.{name}")
    if settings.template is not None:
        for found in _PLACEHOLDER.finditer(settings.template):
            name = found.group(1)
            if not name.startswith("aws.events.") and name not in paths:
                # AWS leaves an unknown placeholder as text; a typo is more likely, so say so.
                raise InvalidInputTransformer(
                    f"InputTemplate uses <{name}>, which InputPathsMap does not define."
                )


def _path(text: str, where: str) -> None:
    try:
        parse_path(text)
    except PathSyntaxError as exc:
        raise InvalidInputTransformer(f"{where} is not a valid JSONPath: {exc}") from None
    if not text.startswith("$") or text.startswith("$$"):
        raise InvalidInputTransformer(f"{where} must start with '$.'")


def render(settings: TargetInput, event: Mapping[str, Any], *, rule_name: str, rule_arn: str) -> str:
    """The JSON text (or, for a template outside JSON, the text) the target receives."""
    if settings.input is not None:
        return settings.input
    if settings.input_path is not None:
        return json.dumps(_select(settings.input_path, event), separators=(",", ":"))
    if settings.template is None:
        return json.dumps(event, separators=(",", ":"))
    values: dict[str, Any] = {name: _select(path, event) for name, path in (settings.paths_map or {}).items()}
    event_text = json.dumps(event, separators=(",", ":"))
    values |= {
        "aws.events.rule-name": rule_name,
        "aws.events.rule-arn": rule_arn,
        "aws.events.event.ingestion-time": event.get("time"),
    }
    template = settings.template
    out: list[str] = []
    position = 0
    for found in _PLACEHOLDER.finditer(template):
        out.append(template[position : found.start()])
        position = found.end()
        name = found.group(1)
        if name in ("aws.events.event", "aws.events.event.json"):
            out.append(event_text)
        elif name in values:
            out.append(_text(values[name], quoted=_inside_string(template, found.start())))
        else:
            out.append(found.group(0))
    out.append(template[position:])
    return "".join(out)


def _select(path: str, event: Mapping[str, Any]) -> Any:
    try:
        return parse_path(path).find(dict(event))
    except PathNotFound:
        return None


def _text(value: Any, *, quoted: bool) -> str:
    if quoted:
        if isinstance(value, str):
            return json.dumps(value)[1:-1]
        return json.dumps(value, separators=(",", ":")).replace('"', '\\"')
    return json.dumps(value, separators=(",", ":"))


def _inside_string(template: str, at: int) -> bool:
    """Whether position ``at`` of a JSON-ish template is inside a string literal."""
    inside = False
    escaped = False
    for char in template[:at]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = inside
        elif char == '"':
            inside = not inside
    return inside
