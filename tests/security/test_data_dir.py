"""``stepline dev``'s data directory is private: other host users read nothing in it, except what the
sandbox users must reach (they traverse the data directory, read function code, use the sockets)."""

from __future__ import annotations

import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.function_kit import requires_bwrap, unique
from tests.integration.shell.test_dev import Dev

pytestmark = [pytest.mark.slow, requires_bwrap]

SANDBOX_READABLE = ("code", "fs")
"""Subtrees the sandbox users read (function code; shared file systems); the rest is private."""


@pytest.fixture
def dev() -> Iterator[Dev]:
    """A data directory sandbox users can reach (pytest's own temporary directories are root's alone)."""
    parent = Path(tempfile.mkdtemp(prefix="sl-dd-"))
    parent.chmod(0o711)
    runner = Dev(parent / "data", env={"TMPDIR": str(parent)})
    yield runner
    if runner.process is not None and runner.process.poll() is None:
        runner.stop()
    shutil.rmtree(parent, ignore_errors=True)


def readable_by_others(path: Path, top: Path) -> bool:
    """Whether a user who is neither the owner nor in the group can read (list) ``path``: it has o+r
    and every directory from ``top`` down to it has o+x. Sockets do not count: who connects to
    them is checked (SO_PEERCRED)."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode) or not mode & stat.S_IROTH:
        return False
    return all(above.stat().st_mode & stat.S_IXOTH for above in path.parents if above.is_relative_to(top))


def test_nothing_in_the_data_dir_is_readable_by_other_users(dev: Dev, database_url: str) -> None:
    """After a function that attaches a db proxy ran: code, sockets, the secret key all exist."""
    dev.start()
    proxy, name = unique("ddp"), unique("dd")
    made = httpx.post(f"{dev.url}/v1/db-proxies", json={"name": proxy, "targetUrl": database_url})
    assert made.status_code == 201, made.text
    created = httpx.post(
        f"{dev.url}/v1/functions",
        json={
            "name": name, "runtime": "python3.11", "handler": "app.handler", "dbProxies": [proxy],
            "code": {"files": {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}},
        },
        timeout=30,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    invoked = httpx.post(f"{dev.url}/v1/functions/{name}/invocations", json={}, timeout=60)
    assert (invoked.status_code, invoked.json()) == (200, {"ok": True}), invoked.text  # sandboxes still work

    root = dev.data_dir
    everything = [root, *root.rglob("*")]
    private = [p for p in everything if p.relative_to(root).parts[:1] not in [(n,) for n in SANDBOX_READABLE]]
    exposed = [str(p.relative_to(root)) for p in private if readable_by_others(p, root.parent)]
    assert not exposed, f"readable (files) or listable (directories) by every host user: {exposed}"

    def mode(relative: str) -> int:
        return stat.S_IMODE((root / relative).stat().st_mode)

    assert mode(".") == 0o711  # sandbox users traverse it, nobody lists it
    for private_file in ("secret.key", "temporal.db", "temporal.log"):
        assert mode(private_file) == 0o600, private_file
    assert mode("postgres") == 0o700
    assert mode("code") & stat.S_IXOTH  # the sandbox users' way to their code
    assert dev.stop() == 0, dev.log()


@pytest.fixture
def deep_dev(dev: Dev) -> Iterator[Dev]:
    """A data directory too deep for PostgreSQL's socket path: pgserver then puts the socket elsewhere."""
    deep = dev.data_dir.parent / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    for directory in (deep, deep.parent):
        directory.chmod(0o711)
    runner = Dev(deep / "data", env=dev.env)
    yield runner
    if runner.process is not None and runner.process.poll() is None:
        runner.stop()


def test_postgres_socket_stays_private_when_the_data_dir_is_deep(deep_dev: Dev) -> None:
    """PostgreSQL trusts whoever reaches its socket (superuser, no password)."""
    deep_dev.start()
    socket_dir = Path((deep_dev.data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[4])
    assert socket_dir != deep_dev.data_dir / "postgres"  # the premise: the fallback directory
    assert (socket_dir / ".s.PGSQL.5432").exists()
    assert stat.S_IMODE(socket_dir.stat().st_mode) & 0o077 == 0, oct(socket_dir.stat().st_mode)
    assert deep_dev.stop() == 0, deep_dev.log()
