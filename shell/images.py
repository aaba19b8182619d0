"""``stepline images``: import a container image into this Stepline's data directory and registry.

Runs on the machine holding the data directory (``STEPLINE_DATA_DIR``) with the registry's database
(``STEPLINE_DATABASE_URL``), as ``POST /v1/images`` would: the same checks, the same store. An OCI
image layout directory is read in place (the API takes archives as tar files only).
"""

from __future__ import annotations

from pathlib import Path

from api.image_schemas import ImagePublic
from api.services import images as service
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.settings import Settings
from workers.functions.images.store import ImageStore


async def import_image(settings: Settings, archive: Path, name: str | None) -> ImagePublic:
    """Import ``archive`` (an OCI layout directory or tar, or a docker save tar); raises
    ``foundation.errors.InvalidRequest`` saying what is wrong with it."""
    store = ImageStore(settings.data_dir.resolve() / "images")
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=1)
    try:
        async with unit_of_work(session_maker(engine)) as session:
            return await service.import_image(session, store, archive, name)
    finally:
        await engine.dispose()
