"""Extensions through the front door: a layer published over ``/v1`` with an executable in its
``extensions/`` runs beside a function created over ``/v1``, as on Lambda."""

from __future__ import annotations

import base64
import io
import stat
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.extensions.extension_kit import PYTHON_EXTENSION
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]

APP = """
import json
def handler(event, context):
    try:
        with open("/tmp/events.jsonl") as f:
            return [json.loads(line)["eventType"] for line in f]
    except FileNotFoundError:
        return []
"""


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": tmp_path / "data"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test", timeout=120) as c:
            yield c


def layer_zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("extensions/recorder")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(info, PYTHON_EXTENSION.format(python=Path(sys.executable).resolve(), node=""))
    return base64.b64encode(buffer.getvalue()).decode()


async def test_a_published_layers_extension_gets_the_functions_invokes(client: httpx.AsyncClient) -> None:
    published = await client.post(
        f"/v1/layers/{unique('ext')}/versions", json={"content": {"zipFile": layer_zip()}}
    )
    assert published.status_code == 201, published.text
    layers = [published.json()["layerVersionArn"]]
    body: dict[str, Any] = {"name": unique("extfn"), "runtime": "python3.11", "handler": "app.handler",
                            "code": {"files": {"app.py": APP}}, "layers": layers}  # fmt: skip
    created = await client.post("/v1/functions", json=body)
    assert created.status_code == 201, created.text
    url = f"/v1/functions/{body['name']}/invocations"
    seen = [(await client.post(url, json={})).json() for _ in range(5)]
    # The extension gets each INVOKE beside the runtime (it may write it down just after the handler
    # reads): invocation n sees n or n - 1 of them, all in the one sandbox it stays in.
    assert all(len(events) in (n, n + 1) for n, events in enumerate(seen)), seen
    assert set(seen[-1]) == {"INVOKE"}
