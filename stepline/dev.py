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
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import FrameType

import uvicorn
from pydantic import SecretStr

from stepline.db import upgrade
from stepline.embedded import temporal_dev_server
from stepline.settings import Settings


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """A PostgreSQL server on ``data_dir/postgres`` (created on first use); yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # pgserver asks for a runtime dir it does not need here
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import pgserver

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
    """The API with a worker in the same process, until SIGINT/SIGTERM (or the worker fails)."""
    from api.app import create_app
    from api.colocated_worker import ColocatedWorker

    def shut_down() -> None:
        server.should_exit = True

    app = create_app(settings, worker=ColocatedWorker(on_failure=shut_down))
    server = _Server(uvicorn.Config(app, host=settings.api.host, port=settings.api.port, log_level="warning"))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shut_down)
    await server.serve()


class _StopSignals:
    """SIGINT and SIGTERM outside the event loop: the first one raises ``KeyboardInterrupt`` so the
    ``ExitStack`` stops whatever already started; later ones are ignored so that cleanup finishes.

    Inside ``deferred()`` (pgserver starting PostgreSQL, before it hands back a handle to stop it) a
    signal waits until the block ends, so no server is left running without an owner.
    """

    def __init__(self) -> None:
        self.stopping = False
        self._deferring = False
        self._pending = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        if self._deferring:
            self._pending = True
            return
        self.stopping = True
        raise KeyboardInterrupt

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending and not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt


def run_dev(settings: Settings | None = None, temporal_port: int | None = None) -> None:
    """Entry point of ``stepline dev``; returns once everything has stopped after Ctrl-C or SIGTERM
    (also when either arrives while the services are still starting)."""
    signals = _StopSignals()
    signals.install()
    with suppress(KeyboardInterrupt):
        _run_dev(settings or Settings(), temporal_port, signals)
    print("stepline dev: stopped", flush=True)


def _run_dev(settings: Settings, temporal_port: int | None, signals: _StopSignals) -> None:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            _start_and_serve(settings, temporal_port, signals, stack, data_dir)
        finally:
            signals.stopping = True  # the stack's cleanup is not interrupted by further signals
            signals.install()  # asyncio.run put back the default handlers


def _start_and_serve(
    settings: Settings, temporal_port: int | None, signals: _StopSignals, stack: ExitStack, data_dir: Path
) -> None:
    """Start what is not configured elsewhere (each registered on ``stack``), migrate, then serve."""
    if not _uses(settings, "database_url"):
        print(f"stepline dev: starting PostgreSQL in {data_dir / 'postgres'}", flush=True)
        with signals.deferred():
            url = stack.enter_context(embedded_postgres(data_dir))
        settings.database.url = SecretStr(url)
    if not _uses(settings, "temporal_address"):
        port = temporal_port or int(settings.temporal.address.rsplit(":", 1)[1])
        print(f"stepline dev: starting Temporal (data in {data_dir / 'temporal.db'})", flush=True)
        with signals.deferred():
            address = stack.enter_context(
                temporal_dev_server(
                    port=port,
                    ui_port=settings.temporal.ui_port,
                    db_file=data_dir / "temporal.db",
                    log_file=data_dir / "temporal.log",
                    headless=False,
                )
            )
        settings.temporal.address = address
    upgrade(settings.database.url.get_secret_value())
    print(
        f"stepline dev: API        http://{settings.api.host}:{settings.api.port} (docs at /docs)\n"
        f"stepline dev: Temporal   {settings.temporal.address} "
        f"(UI http://127.0.0.1:{settings.temporal.ui_port})\n"
        "stepline dev: Ctrl-C stops everything",
        flush=True,
    )
    try:
        asyncio.run(_serve(settings))  # the loop handles SIGINT/SIGTERM itself meanwhile
    except Exception as exc:
        sys.exit(f"stepline dev: {exc.__class__.__name__}: {exc}")
