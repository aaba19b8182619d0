"""Routes for container images: import (the archive is the request body), list, describe.

The body (an OCI image layout as a tar, or a ``docker save`` tar) is streamed to a temporary file
in the data directory, never held in memory; ``api.request_limits`` caps it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from api import image_schemas as schemas
from api.deps import SessionDep, SettingsDep
from api.json_input import JsonRoute
from api.services import images as service
from workers.functions.images.store import ImageStore

router = APIRouter(prefix="/v1/images", tags=["images"], route_class=JsonRoute)


@contextmanager
def _spooled(directory: Path) -> Iterator[tuple[int, Path]]:
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=directory)
    try:
        yield fd, Path(name)
    finally:
        os.close(fd)
        os.unlink(name)


@router.post("", status_code=status.HTTP_201_CREATED)
async def import_image(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str | None, Query(max_length=service.MAX_REFERENCE)] = None,
) -> schemas.ImagePublic:
    """Import the image archive sent as the body (``?name=repository:tag`` names it; otherwise the
    names the archive holds)."""
    store = ImageStore(settings.data_dir.resolve() / "images")
    store.private_root()
    with _spooled(store.root / "uploads") as (fd, path):
        async for chunk in request.stream():
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        return await service.import_image(session, store, path, name)


@router.get("")
async def list_images(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> schemas.ImageList:
    return await service.list_images(session, limit, next_token)


@router.get("/{reference:path}")
async def get_image(reference: str, session: SessionDep) -> schemas.ImagePublic:
    """An image by ``sha256:<hex>`` or by name (``repository:tag``)."""
    return await service.get_image(session, reference)
