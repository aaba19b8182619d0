"""Blueprints: working functions to start from (``stepline functions init --blueprint NAME``,
``GET /v1/blueprints``).

Each is a directory here: ``blueprint.json`` (description, runtime, handler, the function's other
``/v1`` settings, a function URL or an event source mapping to create with it, a sample event) and its
files, each stored with a ``.tmpl`` suffix (so that this package's tools do not take a template for its
own code) and written without it. Placeholders in capitals (``DB_PROXY``, ``FILE_SYSTEM``,
``ACTIVITY``, ``BROKER``, ``QUEUE``) name what the user's deployment must supply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from foundation.errors import InvalidRequest, NotFound

SUFFIX = ".tmpl"
MANIFEST = "blueprint.json"


class BlueprintNotFound(NotFound):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"blueprint {name!r} does not exist (see GET /v1/blueprints)")


@dataclass(frozen=True, slots=True)
class Blueprint:
    name: str
    description: str
    runtime: str
    handler: str
    settings: dict[str, Any]
    """More of the function's ``/v1`` settings (camelCase), placeholders included."""
    url: dict[str, Any] | None
    """A function URL to create with it (``authType``...), or None."""
    event_source_mapping: dict[str, Any] | None
    """An event source mapping to create for it (``/v1/event-source-mappings`` fields but the function's
    name), or None."""
    sample_event: Any
    files: dict[str, str]


def _root() -> Any:
    return resources.files(__name__)


def names() -> list[str]:
    return sorted(p.name for p in _root().iterdir() if p.is_dir() and (p / MANIFEST).is_file())


def load(name: str) -> Blueprint:
    if name not in names():
        raise BlueprintNotFound(name)
    folder = _root() / name
    manifest = json.loads((folder / MANIFEST).read_text())
    files = {
        p.name.removesuffix(SUFFIX): p.read_text()
        for p in folder.iterdir()
        if p.is_file() and p.name.endswith(SUFFIX)
    }
    return Blueprint(
        name=name, description=manifest["description"], runtime=manifest["runtime"],
        handler=manifest["handler"], settings=manifest.get("settings") or {}, url=manifest.get("url"),
        event_source_mapping=manifest.get("eventSourceMapping"), sample_event=manifest.get("sampleEvent"),
        files=files,
    )  # fmt: skip


def write(name: str, directory: Path) -> list[Path]:
    """Write blueprint ``name``'s files and its ``blueprint.json`` into ``directory`` (created; an
    existing file there is never overwritten: InvalidRequest names it)."""
    blueprint = load(name)
    manifest = (_root() / name / MANIFEST).read_text()
    targets = {directory / f: text for f, text in blueprint.files.items()} | {directory / MANIFEST: manifest}
    taken = [str(p) for p in targets if p.exists()]
    if taken:
        raise InvalidRequest(f"not overwriting existing files: {', '.join(sorted(taken))}")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in targets.items():
        path.write_text(text)
    return sorted(targets)
