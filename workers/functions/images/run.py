"""What a sandbox runs for an image function: the image configuration with the function's overrides.

Lambda's ``ImageConfig`` overrides the image's ENTRYPOINT (``EntryPoint``), CMD (``Command``) and
WORKDIR (``WorkingDirectory``) one by one; the image's ENV comes first, the function's variables
then override it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ImageRun:
    """The process an image function's sandbox starts, where, with which variables of the image."""

    command: tuple[str, ...]
    working_directory: str
    environment: tuple[tuple[str, str], ...]


def image_run(image_config: Mapping[str, Any], overrides: Mapping[str, Any]) -> ImageRun:
    """``image_config``: the image's configuration document (its ``config`` object holds
    Entrypoint, Cmd, WorkingDir, Env); ``overrides``: the function's ImageConfig (Lambda's keys)."""
    inner = image_config.get("config")
    inner = inner if isinstance(inner, dict) else {}
    entry_point = overrides.get("EntryPoint") or _strings(inner.get("Entrypoint"))
    command = overrides.get("Command") or _strings(inner.get("Cmd"))
    directory = overrides.get("WorkingDirectory") or inner.get("WorkingDir") or "/"
    variables = []
    for item in _strings(inner.get("Env")):
        key, sep, value = item.partition("=")
        if sep and key:
            variables.append((key, value))
    return ImageRun(tuple([*entry_point, *command]), str(directory), tuple(variables))


def _strings(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return []
