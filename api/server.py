"""``stepline api``: serve the API with uvicorn, refusing unsafe or unmigrated starts up front."""

from __future__ import annotations

import asyncio
import sys

import uvicorn

from foundation.datadir import prepare_data_dir
from foundation.db import DatabaseNotMigrated, check_migrated
from foundation.preflight import UnsafeBind, UnsafeStart, check_bind, is_loopback
from foundation.registry.database import create_engine
from foundation.settings import Settings

__all__ = ["UnsafeBind", "check_bind", "check_database", "is_loopback", "serve"]


async def check_database(settings: Settings) -> None:
    """Fail fast, with the fix in the message, when the registry is not migrated."""
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=1)
    try:
        await check_migrated(engine)
    finally:
        await engine.dispose()


def serve(settings: Settings | None = None) -> None:
    """Entry point of ``stepline api``: no function runs in this process (``functions="remote"``):
    invocations go to the live workers (``stepline worker``)."""
    # Imported once the checks passed: a refused start answers at once, not after the 1.5 s that
    # importing the app (FastAPI, Temporal, the AWS models) takes.
    from api.app import create_app

    settings = settings or Settings()
    try:
        check_bind(settings.api)
        prepare_data_dir(settings.data_dir)  # the code store lives there (shared with the workers)
        asyncio.run(check_database(settings))
    except (UnsafeStart, DatabaseNotMigrated) as exc:
        sys.exit(f"stepline api: {exc}")
    print(f"stepline api: http://{settings.api.host}:{settings.api.port} (OpenAPI at /docs)")
    app = create_app(settings, functions="remote")
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="warning")
