"""Registering proxies, file systems and access points over HTTP, then attaching them to a function."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from foundation.registry import resources
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from tests.integration.helpers import unique
from workers.attachments import AttachmentError, resolve_attachments, running_proxies, serve_attachments

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(settings: Settings) -> Iterator[Settings]:
    """The test's settings with a data directory of its own (the sealing key must not land in the
    working directory) and a secret key."""
    data_dir = Path(tempfile.mkdtemp(prefix="sl-api-"))
    yield settings.model_copy(update={"data_dir": data_dir, "secret_key": SecretStr("test-secret")})
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def api(registry: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API (lifespan entered) on the test's own data directory."""
    from api.app import create_app

    app = create_app(registry)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as client:
            yield client


async def test_db_proxy_lifecycle_never_shows_the_password(api: httpx.AsyncClient) -> None:
    name = unique("orders").replace("-", "_")
    body = {"name": name, "targetUrl": "postgresql://app:s3cret@db.internal:6432/shop", "poolSize": 5}
    created = await api.post("/v1/db-proxies", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["target"] == "app@db.internal:6432/shop"
    assert created.json()["socketDirectory"] == f"/run/stepline/db/{name}"
    assert "s3cret" not in created.text
    listed = await api.get("/v1/db-proxies")
    assert name in [p["name"] for p in listed.json()["dbProxies"]] and "s3cret" not in listed.text
    assert (await api.post("/v1/db-proxies", json=body)).status_code == 409
    bad = await api.post("/v1/db-proxies", json={**body, "name": unique("x"), "targetUrl": "mysql://a@b/c"})
    assert bad.status_code == 400 and "postgresql://" in bad.json()["detail"]
    assert (await api.delete(f"/v1/db-proxies/{name}")).status_code == 204
    missing = await api.get(f"/v1/db-proxies/{name}")
    assert missing.status_code == 404 and f"db proxy {name!r} does not exist" in missing.json()["detail"]


async def test_file_systems_and_access_points_over_http(api: httpx.AsyncClient) -> None:
    fs = unique("media")
    assert (await api.post("/v1/file-systems", json={"name": fs})).status_code == 201
    outside = await api.post("/v1/file-systems", json={"name": unique("host"), "hostPath": "/etc"})
    assert outside.status_code == 400 and "outside the allowed roots" in outside.json()["detail"]
    ap = {"name": "tenant-a", "rootDirectory": "/tenants/a", "posixUser": {"uid": 1001, "gid": 1002}}
    created = await api.post(f"/v1/file-systems/{fs}/access-points", json={**ap, "permissions": "0750"})
    assert created.status_code == 201, created.text
    assert created.json()["permissions"] == "0750"
    escape = await api.post(
        f"/v1/file-systems/{fs}/access-points", json={**ap, "name": "b", "rootDirectory": "/a/../.."}
    )
    assert escape.status_code == 400 and "'..'" in escape.json()["detail"]
    listed = await api.get(f"/v1/file-systems/{fs}/access-points")
    assert [a["name"] for a in listed.json()["accessPoints"]] == ["tenant-a"]
    assert (await api.get(f"/v1/file-systems/{unique('nope')}/access-points")).status_code == 404
    assert (await api.delete(f"/v1/file-systems/{fs}")).status_code == 204
    assert (await api.get(f"/v1/file-systems/{fs}/access-points/tenant-a")).status_code == 404


async def test_a_name_taken_is_409_naming_it(api: httpx.AsyncClient) -> None:
    proxy, fs = unique("dup").replace("-", "_"), unique("dupfs")
    target = {"name": proxy, "targetUrl": "postgresql://app@db.internal/shop"}
    point = {"name": "a", "rootDirectory": "/a", "posixUser": {"uid": 1001, "gid": 1002}}
    creates = [
        ("/v1/db-proxies", target, f"db proxy {proxy!r}"),
        ("/v1/file-systems", {"name": fs}, f"file system {fs!r}"),
        (f"/v1/file-systems/{fs}/access-points", point, f"access point '{fs}/a'"),
    ]
    for url, body, what in creates:
        assert (await api.post(url, json=body)).status_code == 201
        again = await api.post(url, json=body)
        assert again.status_code == 409, again.text
        assert again.headers["content-type"] == "application/problem+json"
        assert (again.json()["title"], again.json()["detail"]) == ("Conflict", f"{what} already exists")


async def test_attachments_mount_the_proxy_and_the_access_point(
    registry: Settings, database_url: str
) -> None:
    engine = create_engine(registry.database.url.get_secret_value(), pool_size=2)
    sessions = session_maker(engine)
    proxy_name, fs_name = unique("db"), unique("fs")
    from foundation.sealing import Sealer

    sealer = Sealer.from_settings("test-secret", registry.data_dir)
    async with sessions() as session, session.begin():
        now = resources.utcnow()
        await resources.add_db_proxy(
            session,
            resources.DbProxy(
                name=proxy_name,
                target_sealed=sealer.seal(database_url),
                target_summary="x",
                pool_size=2,
                borrow_timeout=5.0,
                idle_timeout=60.0,
                created_at=now,
                updated_at=now,
            ),
        )
        await resources.add_file_system(session, resources.FileSystem(name=fs_name, created_at=now))
        await resources.add_access_point(
            session,
            resources.AccessPoint(
                file_system_name=fs_name,
                name="ap",
                root_directory="/data/ap",
                uid=1500,
                gid=1600,
                permissions=0o750,
                created_at=now,
            ),
        )
    config = {
        "dbProxies": [proxy_name],
        "fileSystemConfigs": [{"fileSystem": fs_name, "accessPoint": "ap", "localMountPath": "/mnt/work"}],
    }
    try:
        with pytest.raises(AttachmentError, match="serve_attachments"):
            await resolve_attachments(config, registry.data_dir)
        async with serve_attachments(registry, sessions):
            attached = await resolve_attachments(config, registry.data_dir)
            db_mount, fs_mount = attached.mounts
            assert db_mount.target == f"/run/stepline/db/{proxy_name}" and db_mount.read_only
            key = proxy_name.upper().replace("-", "_")
            assert attached.environment[f"STEPLINE_DB_{key}_HOST"] == db_mount.target
            assert attached.environment["PGHOST"] == db_mount.target
            conn = await asyncpg.connect(host=str(db_mount.source), user="fn", database="x")
            assert await conn.fetchval("SELECT current_database()") == database_url.rsplit("/", 1)[1]
            await conn.close()
            assert (fs_mount.target, fs_mount.read_only) == ("/mnt/work", False)
            assert fs_mount.source == (registry.data_dir / "fs" / fs_name / "data" / "ap").resolve()
            assert attached.run_as == (1500, 1600)
            manager = running_proxies()
            assert manager is not None and proxy_name in manager.stats()
            async with sessions() as session, session.begin():
                await resources.delete_db_proxy(session, proxy_name)
            await manager.sync()
            assert proxy_name not in manager.stats()
            with pytest.raises(AttachmentError, match="does not exist"):
                await resolve_attachments({"dbProxies": [proxy_name]}, registry.data_dir)
            bad_mount = {"fileSystemConfigs": [{"fileSystem": fs_name, "localMountPath": "/etc"}]}
            with pytest.raises(AttachmentError, match=r"fileSystemConfigs\[0\]\.localMountPath"):
                await resolve_attachments(bad_mount, registry.data_dir)
    finally:
        await engine.dispose()


async def test_put_changes_a_proxy_and_the_running_proxy_follows(
    api: httpx.AsyncClient, database_url: str
) -> None:
    name = unique("upd").replace("-", "_")
    created = await api.post("/v1/db-proxies", json={"name": name, "targetUrl": database_url, "poolSize": 2})
    assert created.status_code == 201, created.text
    manager = running_proxies()
    assert manager is not None
    proxy = await manager.ensure(name)
    client = await asyncpg.connect(host=str(proxy.directory), user="fn", database="x")
    try:
        assert await client.fetchval("SELECT 1") == 1
        changed = await api.put(f"/v1/db-proxies/{name}", json={"poolSize": 4, "borrowTimeout": 2.5})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["poolSize"], changed.json()["borrowTimeout"]) == (4, 2.5)
        assert changed.json()["idleTimeout"] == created.json()["idleTimeout"]  # untouched fields stay
        await manager.sync()
        assert (await manager.ensure(name)) is proxy  # followed in place, not restarted
        assert (proxy.config.size, proxy.config.borrow_timeout) == (4, 2.5)
        assert await client.fetchval("SELECT 2") == 2  # the client stayed connected
        metrics = await api.get("/metrics")
        assert f'stepline_dbproxy_pool_size{{proxy="{name}"}} 4.0' in metrics.text

        secret_url = database_url.replace("://", "://postgres:hunter2@", 1)
        moved = await api.put(f"/v1/db-proxies/{name}", json={"targetUrl": secret_url})
        assert moved.status_code == 200 and "hunter2" not in moved.text
        bad = await api.put(f"/v1/db-proxies/{name}", json={"targetUrl": "mysql://a@b/c"})
        assert bad.status_code == 400 and "postgresql://" in bad.json()["detail"]
        assert (await api.put(f"/v1/db-proxies/{name}", json={"poolSize": 0})).status_code in (400, 422)
        missing = await api.put(f"/v1/db-proxies/{unique('nope')}", json={"poolSize": 3})
        assert missing.status_code == 404
    finally:
        await client.close()
