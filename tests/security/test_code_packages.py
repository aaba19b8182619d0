"""Hostile function packages through the API: each is a 400 naming the entry (never a 500, never a host
path, never a function that can never run), and storing or cold-starting a big one never stalls the
service (real API, real PostgreSQL, real Temporal, real sandboxes)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import stat
import struct
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.function_kit import requires_bwrap, unique
from workers.functions.unpack import MAX_ENTRIES

pytestmark = [requires_bwrap]

APP = "def handler(event, context):\n    return 'ran'\n"


@dataclass
class Api:
    client: httpx.AsyncClient
    data_dir: Path

    async def create(self, code: dict[str, object], name: str | None = None) -> httpx.Response:
        body: dict[str, object] = {"name": name or unique("pkg"), "runtime": "python3.11"}
        body |= {"handler": "app.handler", "code": code}
        content = await asyncio.to_thread(json.dumps, body)  # (the client's work kept off the loop)
        headers = {"content-type": "application/json"}
        return await self.client.post("/v1/functions", content=content, headers=headers)

    def assert_refused(self, response: httpx.Response, *fragments: str) -> str:
        """A 400 whose message has every fragment and no host path; nothing left half-stored."""
        assert response.status_code == 400, response.text
        found = response.json()
        message: str = found.get("detail") or found.get("message") or ""
        for fragment in fragments:
            assert fragment in message, message
        assert str(self.data_dir) not in response.text and "/tmp/" not in response.text, response.text
        code_dir = self.data_dir / "code"
        assert not _staging(code_dir), list(code_dir.iterdir())
        return message


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the sandbox users can reach (as in production: they run unprivileged)."""
    base = Path(tempfile.mkdtemp(prefix="stepline-packages-"))
    base.chmod(0o711)
    yield base / "data"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def api(settings: Settings, data_dir: Path) -> AsyncIterator[Api]:
    """The API with the real function runtime in its lifespan; a 500 is a response, not an exception."""
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": data_dir}))
    async with app.router.lifespan_context(app):
        await app.state.stepline.function_invoker.pool.spares_ready()  # (started with the lifespan)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test", timeout=300) as c:
            yield Api(c, data_dir)


def zip_of(entries: list[tuple[str, bytes]] | dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items() if isinstance(entries, dict) else entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_code(data: bytes) -> dict[str, object]:
    return {"zipFile": base64.b64encode(data).decode()}


def with_false_size(data: bytes, size: int) -> bytes:
    """The zip with its (only) entry's uncompressed size changed in both headers."""
    patched = bytearray(data)
    local = patched.index(b"PK\x03\x04")
    central = patched.index(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, size)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


async def test_a_name_over_255_bytes_is_refused_by_name(api: Api) -> None:
    name = "a" * 300 + ".py"
    response = await api.create(zip_code(zip_of({"app.py": APP.encode(), name: b"x = 1\n"})))
    api.assert_refused(response, "over 255 bytes", "'aaaa")


@pytest.mark.parametrize("size", [10, 2000], ids=["smaller", "larger"])
async def test_false_size_fields_are_refused_by_name(api: Api, size: int) -> None:
    data = with_false_size(zip_of({"app.py": APP.encode() + b"#" * 1000}), size)
    api.assert_refused(await api.create(zip_code(data)), "'app.py'")


@pytest.mark.parametrize(
    "entries",
    [[("x", b"1"), ("x/y", b"2")], [("x/y", b"2"), ("x", b"1")], [("x/", b""), ("x", b"1")]],
    ids=["file-first", "directory-first", "directory-entry"],
)
async def test_a_name_that_is_both_file_and_directory_is_refused(
    api: Api, entries: list[tuple[str, bytes]]
) -> None:
    data = zip_of([("app.py", APP.encode()), *entries])
    api.assert_refused(await api.create(zip_code(data)), "'x", "directory")


async def test_a_name_twice_is_refused(api: Api) -> None:
    data = zip_of([("app.py", APP.encode()), ("lib.py", b"A = 1\n"), ("./lib.py", b"A = 2\n")])
    api.assert_refused(await api.create(zip_code(data)), "two entries", "'lib.py'")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("", "name ''"), (".", "name '.'"), ("./", "name './'"), ("a\x00b", "NUL")],
    ids=["empty", "dot", "dot-slash", "nul"],
)
async def test_files_keys_that_name_no_file_are_refused(api: Api, name: str, fragment: str) -> None:
    response = await api.create({"files": {"app.py": APP, name: "x"}})
    api.assert_refused(response, fragment)


async def test_a_2000_level_path_is_refused(api: Api) -> None:
    deep = "a/" * 2000 + "f.py"
    message = api.assert_refused(await api.create({"files": {"app.py": APP, deep: "x"}}), "2001 levels")
    assert len(message) < 400  # the entry is named, shortened


async def test_a_symbolic_link_is_refused(api: Api) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", APP)
        link = zipfile.ZipInfo("passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    api.assert_refused(await api.create(zip_code(buffer.getvalue())), "'passwd'", "symbolic link")


async def test_a_valid_package_still_runs(api: Api) -> None:
    data = zip_of({"app.py": APP.encode(), "pkg/__init__.py": b"", "./pkg/mod.py": b"X = 1\n"})
    name = unique("ok")
    assert (await api.create(zip_code(data), name)).status_code == 201
    response = await api.client.post(f"/v1/functions/{name}/invocations", json={})
    assert response.json() == "ran", response.text


async def healthz_latencies(
    client: httpx.AsyncClient, busy: asyncio.Future[httpx.Response], staging_in: Path | None = None
) -> list[float]:
    """GET /healthz one after another until ``busy`` is done; each answer's latency in seconds.

    With ``staging_in``, only the answers to requests sent while a package was being unpacked there
    count (before that, the API is still reading the request's JSON: not this test's subject)."""
    latencies: list[float] = []
    statuses: set[int] = set()
    while not busy.done():
        unpacking = staging_in is None or _staging(staging_in)
        started = time.perf_counter()
        response = await client.get("/healthz")
        if unpacking:
            latencies.append(time.perf_counter() - started)
            statuses.add(response.status_code)
        await asyncio.sleep(0.01)
    assert statuses <= {200}, (statuses, max(latencies))  # (503: its database check timed out, blocked)
    return latencies


def assert_answering(latencies: list[float], when: str) -> None:
    """95 % of the answers within 200 ms, none over a second. (Not every one within 200 ms: on a
    loaded 2-core machine the scheduler alone sometimes holds the process for a few hundred ms.)"""
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) > 1 else ordered[0]
    assert p95 < 0.2 and ordered[-1] < 1.0, f"/healthz {when}: p95 {p95:.3f} s, max {ordered[-1]:.3f} s"


def _staging(code_dir: Path) -> bool:
    try:
        return any(path.name.startswith(".staging-") for path in code_dir.iterdir())
    except FileNotFoundError:
        return False


def big_package(modules: int, files: int) -> bytes:
    """``modules`` Python modules to compile and ``files`` small data files, and app.py."""
    module = "".join(f"def f{i}(x):\n    return [x * {i} for _ in range(3)]\n" for i in range(40))
    entries = {"app.py": APP.encode()}
    entries |= {f"mods/m{i}.py": module.encode() for i in range(modules)}
    entries |= {f"data/{i // 1000}/d{i}.txt": b"d" for i in range(files)}
    return zip_of(entries)


@pytest.mark.slow
async def test_storing_and_cold_starting_a_big_package_leaves_the_service_answering(api: Api) -> None:
    data = await asyncio.to_thread(big_package, 2000, 8000)
    await api.client.get("/healthz")
    name = unique("big")
    store = asyncio.ensure_future(api.create(zip_code(data), name))
    latencies = await healthz_latencies(api.client, store, api.data_dir / "code")
    assert (await store).status_code == 201, (await store).text
    assert len(latencies) > 3, latencies  # storing took a while: the answers came meanwhile
    assert_answering(latencies, "while the package was stored")

    invoke = asyncio.ensure_future(api.client.post(f"/v1/functions/{name}/invocations", json={}))
    latencies = await healthz_latencies(api.client, invoke)
    assert latencies
    assert (await invoke).json() == "ran"
    assert_answering(latencies, "during the cold start")


async def test_too_many_entries_are_refused_without_stalling_the_service(api: Api) -> None:
    data = await asyncio.to_thread(zip_of, {f"f{i}": b"" for i in range(100_000)})
    store = asyncio.ensure_future(api.create(zip_code(data)))
    latencies = await healthz_latencies(api.client, store, api.data_dir / "code")
    api.assert_refused(await store, "100000 entries", f"limit of {MAX_ENTRIES}")
    assert latencies, "no /healthz answer while the package was being checked"  # refused early: few
    assert_answering(latencies, "while the package was checked")
