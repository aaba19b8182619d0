"""``stepline api``: serve the API with uvicorn, refusing unsafe or unmigrated starts up front."""

from __future__ import annotations

import asyncio
import ipaddress
import sys

import uvicorn

from stepline.db import DatabaseNotMigrated, check_migrated
from stepline.registry.database import create_engine
from stepline.settings import ApiSettings, Settings


class UnsafeBind(RuntimeError):
    """Listening beyond loopback without a token."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(api: ApiSettings) -> None:
    """Refuse to listen beyond loopback without ``STEPLINE_API_TOKEN``."""
    if not is_loopback(api.host) and (api.token is None or not api.token.get_secret_value()):
        raise UnsafeBind(
            f"refusing to listen on {api.host} without a token: set STEPLINE_API_TOKEN "
            "(clients then send 'Authorization: Bearer <token>'), or listen on 127.0.0.1"
        )


async def check_database(settings: Settings) -> None:
    """Fail fast, with the fix in the message, when the registry is not migrated."""
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=1)
    try:
        await check_migrated(engine)
    finally:
        await engine.dispose()


def serve(settings: Settings | None = None) -> None:
    """Entry point of ``stepline api``."""
    from api.app import create_app

    settings = settings or Settings()
    try:
        check_bind(settings.api)
        asyncio.run(check_database(settings))
    except (UnsafeBind, DatabaseNotMigrated) as exc:
        sys.exit(f"stepline api: {exc}")
    print(f"stepline api: http://{settings.api.host}:{settings.api.port} (OpenAPI at /docs)")
    uvicorn.run(create_app(settings), host=settings.api.host, port=settings.api.port, log_level="warning")
