"""The console's route: its page and assets are served without a token (they hold no data) and
``GET /`` redirects there; nothing else opens."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.console import STATIC, is_console_path
from foundation.settings import Settings


@pytest.mark.parametrize(
    ("method", "path", "open_"),
    [
        ("GET", "/", True),
        ("GET", "/console", True),
        ("GET", "/console/", True),
        ("GET", "/console/static/console.js", True),
        ("HEAD", "/console", True),
        ("POST", "/", False),  # Step Functions' awsJson1_0 endpoint
        ("POST", "/console", False),
        ("GET", "/consoles", False),
        ("GET", "/v1/state-machines", False),
        ("GET", "/v1/console", False),
    ],
    ids=lambda value: str(value),
)
def test_only_the_console_is_open(method: str, path: str, open_: bool) -> None:
    assert is_console_path(method, path) is open_


def test_the_built_console_ships_with_its_licences() -> None:
    for name in ("index.html", "console.js", "console.css", "THIRD_PARTY_LICENSES.txt"):
        assert (STATIC / name).stat().st_size > 0, name
    licences = (STATIC / "THIRD_PARTY_LICENSES.txt").read_text()
    for package in ("preact", "@codemirror/view", "@dagrejs/dagre"):
        assert f"\n{package} " in licences, package


async def test_served_without_the_token_and_only_from_here() -> None:
    app = create_app(Settings(api={"token": SecretStr("secret-token")}))
    transport = httpx.ASGITransport(app=app)  # no lifespan: the console needs no database
    async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as client:
        root = await client.get("/")
        assert (root.status_code, root.headers["location"]) == (307, "/console")
        page = await client.get("/console")
        assert page.status_code == 200
        assert '<script type="module" src="/console/static/console.js">' in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        script = await client.get("/console/static/console.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert (await client.get("/console/static/%2e%2e/__init__.py")).status_code == 404  # no way out
        assert (await client.get("/v1/state-machines")).status_code == 401


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_console_modules_pass_their_own_tests() -> None:
    """``node --test`` over console/test (history -> state statuses, definitions -> graph edges,
    diagnostics -> their place): plain modules, no packages needed."""
    console = Path(__file__).resolve().parents[3] / "console"
    run = subprocess.run(["node", "--test", "test/"], cwd=console, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
