"""``stepline dev``: PostgreSQL, Temporal, migrations, the API and a worker, with one command.

Embedded services keep their data in ``data_dir`` (``./.stepline``): PostgreSQL from the pip package
``pgserver`` (listening on a socket in ``data_dir/postgres``) and the Temporal dev server with its
SQLite file ``data_dir/temporal.db``. A database URL or Temporal address given through
``STEPLINE_DATABASE_URL`` / ``STEPLINE_TEMPORAL_ADDRESS`` is used instead of the embedded one.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from stepline.db import upgrade
from stepline.embedded import temporal_dev_server
from stepline.settings import Settings


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """A PostgreSQL server on ``data_dir/postgres`` (created on first use); yields its URL."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def _uses(settings: Settings, field: str) -> bool:
    """Whether the user configured ``field`` (flat shortcut or nested variable)."""
    nested = getattr(settings, field.split("_")[0])
    return getattr(settings, field) is not None or (
        ("address" if field.startswith("temporal") else "url") in nested.model_fields_set
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``run_dev`` stops the API and the worker together."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(settings: Settings) -> None:
    from api.app import create_app
    from workers.main import serve_worker

    stop = asyncio.Event()
    server = _Server(
        uvicorn.Config(
            create_app(settings), host=settings.api.host, port=settings.api.port, log_level="warning"
        )
    )

    def shut_down() -> None:
        server.should_exit = True
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shut_down)
    worker = asyncio.create_task(serve_worker(settings, stop))
    api = asyncio.create_task(server.serve())
    await asyncio.wait({worker, api}, return_when=asyncio.FIRST_COMPLETED)
    shut_down()
    await asyncio.gather(worker, api)


def run_dev(settings: Settings | None = None, temporal_port: int | None = None) -> None:
    """Entry point of ``stepline dev``; returns after Ctrl-C once everything has stopped."""
    settings = settings or Settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if not _uses(settings, "database_url"):
            print(f"stepline dev: starting PostgreSQL in {data_dir / 'postgres'}", flush=True)
            settings.database.url = SecretStr(stack.enter_context(embedded_postgres(data_dir)))
        if not _uses(settings, "temporal_address"):
            port = temporal_port or int(settings.temporal.address.rsplit(":", 1)[1])
            print(f"stepline dev: starting Temporal (data in {data_dir / 'temporal.db'})", flush=True)
            settings.temporal.address = stack.enter_context(
                temporal_dev_server(
                    port=port,
                    ui_port=settings.temporal.ui_port,
                    db_file=data_dir / "temporal.db",
                    log_file=data_dir / "temporal.log",
                    headless=False,
                )
            )
        upgrade(settings.database.url.get_secret_value())
        print(
            f"stepline dev: API        http://{settings.api.host}:{settings.api.port} (docs at /docs)\n"
            f"stepline dev: Temporal   {settings.temporal.address} "
            f"(UI http://127.0.0.1:{settings.temporal.ui_port})\n"
            "stepline dev: Ctrl-C stops everything",
            flush=True,
        )
        try:
            asyncio.run(_serve(settings))
        except Exception as exc:
            sys.exit(f"stepline dev: {exc.__class__.__name__}: {exc}")
    print("stepline dev: stopped", flush=True)
