"""``stepline dev``: PostgreSQL, Temporal, migrations, the API and a worker, with one command.

Embedded services keep their data in ``data_dir`` (``./.stepline``): PostgreSQL from the pip package
``pgserver`` (listening on a socket in ``data_dir/postgres``) and the Temporal dev server with its
SQLite file ``data_dir/temporal.db``. A database URL or Temporal address given through
``STEPLINE_DATABASE_URL`` / ``STEPLINE_TEMPORAL_ADDRESS`` is used instead of the embedded one.

It refuses what ``stepline api`` and ``stepline worker`` refuse (``foundation.preflight``), and a data
directory another ``stepline dev`` uses; it stops the servers a killed one left running
(``shell.devstate``), and keeps its temporary files in one scratch directory, removed at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import stat
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import FrameType

import uvicorn
from pydantic import SecretStr

from foundation.datadir import PRIVATE_UMASK, prepare_data_dir
from foundation.db import upgrade
from foundation.preflight import UnsafeStart, check_bind, check_bwrap
from foundation.settings import Settings
from shell.devstate import Child, DevBusy, DevState, remove_scratch, stop
from shell.embedded import temporal_dev_server


@contextmanager
def embedded_postgres(data_dir: Path, state: DevState | None = None) -> Iterator[str]:
    """A PostgreSQL server on ``data_dir/postgres`` (created on first use); yields its URL.

    The caller first stops a postmaster left running on it (``stale_postmaster``), which pgserver
    would adopt. What PostgreSQL writes is its owner's alone. As root, pgserver runs PostgreSQL as the user
    ``pgserver`` and opens the way for it by adding o+rx to every parent directory: the read bit
    is taken back (PostgreSQL and the sandbox users need to search them, not to list them).
    """
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)  # stale holders would keep it running
    parents = {parent: stat.S_IMODE(parent.stat().st_mode) for parent in pgdata.parents}
    with warnings.catch_warnings():  # pgserver asks for a runtime dir it does not need here
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        # Here, under the filter: pgserver warns as it is imported; and only a dev without
        # STEPLINE_DATABASE_URL needs it (0.13 s).
        import pgserver

        previous = os.umask(PRIVATE_UMASK)
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        finally:
            os.umask(previous)
            _restore_modes(parents)
    try:
        _private_socket_directory(server.get_postmaster_info().socket_dir, pgdata)
        pid = server.get_pid()
        if state is not None and pid is not None:
            state.record_child("PostgreSQL", pid, signal.SIGINT)
        yield str(server.get_uri())
    finally:
        server.cleanup()
        atexit.unregister(server._cleanup)  # it would lock (re-create) pgserver's runtime directory again


def stale_postmaster(pgdata: Path) -> Child | None:
    """The PostgreSQL still running on ``pgdata`` (its ``postmaster.pid`` names a live postgres
    whose command line names ``pgdata``), if any."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if not argv[0].endswith(b"postgres") or str(pgdata).encode() not in argv:
        return None
    return Child.of("PostgreSQL", pid, signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown


def _restore_modes(modes: dict[Path, int]) -> None:
    """Directories pgserver opened (o+rx) go back to their mode, plus the search bit it needed."""
    for path, mode in modes.items():
        with suppress(OSError):
            if stat.S_IMODE(path.stat().st_mode) != mode:
                path.chmod(mode | stat.S_IXOTH)


def _private_socket_directory(socket_dir: Path | None, pgdata: Path) -> None:
    """PostgreSQL trusts whoever reaches its socket. pgserver puts it in ``pgdata`` (0700) unless
    that path is too long; its fallback directory is then opened to everyone (0777): close it."""
    if socket_dir is None or socket_dir.resolve() == pgdata.resolve():
        return
    owner = pgdata.stat()
    os.chown(socket_dir, owner.st_uid, owner.st_gid)
    socket_dir.chmod(0o700)


def _stop_leftovers(state: DevState, data_dir: Path) -> None:
    """Stop the servers a killed ``stepline dev`` left running here, remove its scratch directory."""
    children, scratch = state.leftovers()
    postmaster = stale_postmaster(data_dir / "postgres")
    if postmaster is not None and all(child.pid != postmaster.pid for child in children):
        children.append(postmaster)
    for child in children:
        print(
            f"stepline dev: stopping {child.name} (pid {child.pid}), left running by a stepline dev "
            "that did not stop cleanly",
            flush=True,
        )
        stop(child)
    if scratch is not None:
        print(f"stepline dev: removing {scratch}, left by a stepline dev that did not stop cleanly")
        remove_scratch(scratch)


@contextmanager
def _temporary_files_in(scratch: Path) -> Iterator[None]:
    """Every temporary directory of this process and its children goes under ``scratch``."""
    previous_env, previous_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(scratch)
    try:
        yield
    finally:
        tempfile.tempdir = previous_dir
        if previous_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_env


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
    # Imported once the servers are up: a refused start (a busy data directory, an unsafe bind)
    # answers at once, not after the 1.5 s that importing the API and the runtime takes.
    from api.app import create_app
    from api.colocated_worker import ColocatedWorker

    def shut_down() -> None:
        server.should_exit = True

    app = create_app(settings, worker=ColocatedWorker(on_failure=shut_down), functions="in-process")
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
    try:
        check_bind(settings.api)
        check_bwrap(settings.sandbox)  # the worker inside runs functions
        data_dir = prepare_data_dir(settings.data_dir)
        state = DevState(data_dir)
        state.acquire()
    except (UnsafeStart, DevBusy) as exc:
        sys.exit(f"stepline dev: {exc}")
    with ExitStack() as stack:
        stack.callback(state.release)
        try:
            _stop_leftovers(state, data_dir)
            scratch = state.make_scratch()
            stack.callback(remove_scratch, scratch)
            stack.enter_context(_temporary_files_in(scratch))
            _start_and_serve(settings, temporal_port, signals, stack, data_dir, state)
        finally:
            signals.stopping = True  # the stack's cleanup is not interrupted by further signals
            signals.install()  # asyncio.run put back the default handlers


def _start_and_serve(
    settings: Settings, temporal_port: int | None, signals: _StopSignals, stack: ExitStack, data_dir: Path,
    state: DevState,
) -> None:  # fmt: skip
    """Start what is not configured elsewhere (each registered on ``stack``), migrate, then serve."""
    if not _uses(settings, "database_url"):
        print(f"stepline dev: starting PostgreSQL in {data_dir / 'postgres'}", flush=True)
        with signals.deferred():
            url = stack.enter_context(embedded_postgres(data_dir, state))
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
                    started=lambda pid: state.record_child("Temporal", pid),
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
