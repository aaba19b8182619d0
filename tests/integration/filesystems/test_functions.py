"""File systems attached to real functions: concurrent flock appends, sharing, read-only, access points."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from foundation.registry import resources
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import body, call, deploy, requires_bwrap, unique
from workers.attachments import serve_attachments
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]

CODE = """
import fcntl, os

def append(event, context):
    with open('/mnt/shared/log.txt', 'a') as f:
        for i in range(event['lines']):
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write('%s line %02d ' % (event['who'], i))
            f.flush()
            f.write('end\\n')
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)
    return os.getuid(), os.getgid()

def write(event, context):
    try:
        with open(event['path'], 'w') as f:
            f.write(event['text'])
    except OSError as e:
        return {'error': e.strerror}
    st = os.stat(event['path'])
    return {'uid': st.st_uid, 'gid': st.st_gid, 'me': [os.getuid(), os.getgid()]}

def read(event, context):
    return {'text': open(event['path']).read(), 'mnt': sorted(os.listdir('/mnt')),
            'top': sorted(os.listdir(os.path.dirname(event['path'])))}
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the sandbox users can traverse, so sandboxes run as unprivileged host users
    (as in production) rather than root mapped into a user namespace."""
    path = Path(tempfile.mkdtemp(prefix="sl-fn-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def service(database_url: str, data_dir: Path) -> AsyncIterator[FunctionService]:
    """The function runtime with attachments served, as in the worker."""
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=data_dir, secret_key=SecretStr("t"),
        sandbox={"max_environments": 40},
    )  # fmt: skip
    async with (
        FunctionService(settings, config_cache_seconds=0.0) as svc,
        serve_attachments(settings, svc.sessions),
    ):
        yield svc


async def file_system(service: FunctionService, access_point: dict[str, Any] | None = None) -> str:
    name = unique("fs")
    async with unit_of_work(service.sessions) as session:
        await resources.add_file_system(
            session, resources.FileSystem(name=name, created_at=resources.utcnow())
        )
        if access_point is not None:
            row = resources.AccessPoint(file_system_name=name, created_at=resources.utcnow(), **access_point)
            await resources.add_access_point(session, row)
    return name


def mount(fs: str, path: str, read_only: bool = False, access_point: str | None = None) -> dict[str, Any]:
    return {"fileSystem": fs, "accessPoint": access_point, "localMountPath": path, "readOnly": read_only}


async def test_100_concurrent_invocations_append_with_flock_and_lose_no_line(
    service: FunctionService,
) -> None:
    fs = await file_system(service)
    name = await deploy(service, unique("append"), {"app.py": CODE}, handler="app.append",
                        file_system_configs=[mount(fs, "/mnt/shared")])  # fmt: skip
    gate = asyncio.Semaphore(40)  # the runtime's environment cap: more would be throttled, not queued

    async def one(n: int) -> None:
        async with gate:
            result = await call(service, name, {"who": f"inv{n}", "lines": 10})
            assert result.function_error is None, result.payload

    await asyncio.gather(*(one(n) for n in range(100)))
    log = service.settings.data_dir.resolve() / "fs" / fs / "log.txt"
    lines = log.read_text().splitlines()
    assert sorted(lines) == sorted(f"inv{n} line {i:02d} end" for n in range(100) for i in range(10))


async def test_two_functions_share_data_and_a_read_only_mount_refuses_writes(
    service: FunctionService,
) -> None:
    fs = await file_system(service)
    writer = await deploy(service, unique("w"), {"app.py": CODE}, handler="app.write",
                          file_system_configs=[mount(fs, "/mnt/orders")])  # fmt: skip
    reader = await deploy(service, unique("r"), {"app.py": CODE}, handler="app.read",
                          file_system_configs=[mount(fs, "/mnt/archive", read_only=True)])  # fmt: skip
    readonly = [mount(fs, "/mnt/archive", read_only=True)]
    readonly_writer = await deploy(
        service, unique("ro"), {"app.py": CODE}, handler="app.write", file_system_configs=readonly
    )
    written = body(await call(service, writer, {"path": "/mnt/orders/note.txt", "text": "from the writer"}))
    assert "error" not in written
    read = body(await call(service, reader, {"path": "/mnt/archive/note.txt"}))
    assert read["text"] == "from the writer" and read["mnt"] == ["archive"]
    refused = body(await call(service, readonly_writer, {"path": "/mnt/archive/note.txt", "text": "x"}))
    assert refused == {"error": "Read-only file system"}


async def test_access_point_confines_the_function_to_its_root(service: FunctionService) -> None:
    ap = {"name": "tenant", "root_directory": "/tenants/a", "uid": 2101, "gid": 2202, "permissions": 0o777}
    fs = await file_system(service, ap)
    root = service.settings.data_dir.resolve() / "fs" / fs
    root.mkdir(parents=True, exist_ok=True)
    (root / "secret.txt").write_text("parent only")
    config = [mount(fs, "/mnt/tenant", access_point="tenant")]
    writer = await deploy(
        service, unique("apw"), {"app.py": CODE}, handler="app.write", file_system_configs=config
    )
    reader = await deploy(
        service, unique("apr"), {"app.py": CODE}, handler="app.read", file_system_configs=config
    )
    written = body(await call(service, writer, {"path": "/mnt/tenant/mine.txt", "text": "hi"}))
    assert "error" not in written and written["me"] == [2101, 2202]
    assert (root / "tenants" / "a" / "mine.txt").read_text() == "hi"
    seen = body(await call(service, reader, {"path": "/mnt/tenant/mine.txt"}))
    assert seen["top"] == ["mine.txt"] and seen["mnt"] == ["tenant"]
    escape = await call(service, reader, {"path": "/mnt/tenant/../secret.txt"})
    assert escape.function_error is not None and body(escape)["errorType"] == "FileNotFoundError"


async def test_files_are_created_with_the_access_points_uid_gid(service: FunctionService) -> None:
    ap = {"name": "owned", "root_directory": "/owned", "uid": 2101, "gid": 2202, "permissions": 0o750}
    fs = await file_system(service, ap)
    config = [mount(fs, "/mnt/owned", access_point="owned")]
    writer = await deploy(
        service, unique("own"), {"app.py": CODE}, handler="app.write", file_system_configs=config
    )
    written = body(await call(service, writer, {"path": "/mnt/owned/mine.txt", "text": "hi"}))
    assert written == {"uid": 2101, "gid": 2202, "me": [2101, 2202]}
    host_file = (service.settings.data_dir.resolve() / "fs" / fs / "owned" / "mine.txt").stat()
    assert (host_file.st_uid, host_file.st_gid) == (2101, 2202)
