"""Request and response bodies for container images (camelCase JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.schemas import Schema


class ImagePublic(Schema):
    digest: str
    """``sha256:<hex>`` of the image's manifest: ``repository@digest`` names it in an ImageUri."""
    size: int
    layers: list[str]
    names: list[str]
    """``repository:tag`` names pointing at it."""
    config: dict[str, Any]
    """The image configuration's Entrypoint, Cmd, WorkingDir and Env."""
    imported_at: datetime


class ImageList(Schema):
    images: list[ImagePublic]
    next_token: str | None = None
