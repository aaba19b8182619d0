"""Hostile layers, signatures and aliases through the API: a layer cannot replace Stepline's own
libraries under /opt or write to another layer; refusals never show a host path; a forged or
garbled signature block is a 400, never a 500; alias weights that are not numbers in [0, 1] are
refused (real API, real PostgreSQL, real sandboxes)."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from foundation import code_signatures
from foundation.settings import Settings
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]

PROBE = """
import os
def handler(event, context):
    try:
        open("/opt/python/evil.py", "w")
        wrote = True
    except OSError:
        wrote = False
    return {"stepline": sorted(os.listdir("/opt/stepline")), "wrote": wrote}
"""


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": tmp_path / "data"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as c:
            yield c


def zipped(files: dict[str, str], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.comment = comment
    return buffer.getvalue()


async def test_a_layer_cannot_replace_steplines_libraries_or_write_opt(client: httpx.AsyncClient) -> None:
    hostile = {"stepline/python/boto3.py": "raise SystemExit", "stepline/evil": "x", "python/ok.py": ""}
    layer = await client.post(f"/v1/layers/{unique('h')}/versions", json={"content": {"files": hostile}})
    assert layer.status_code == 201, layer.text
    body = {"name": unique("probe"), "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": PROBE}}, "layers": [layer.json()["layerVersionArn"]]}  # fmt: skip
    assert (await client.post("/v1/functions", json=body)).status_code == 201
    found = (await client.post(f"/v1/functions/{body['name']}/invocations", json={})).json()
    assert "evil" not in found["stepline"] and {"python", "node"} <= set(found["stepline"])
    assert found["wrote"] is False


async def test_refused_layers_show_no_host_path(client: httpx.AsyncClient, tmp_path: Path) -> None:
    for content in ({"zipFile": base64.b64encode(b"PK\x03\x04 broken").decode()}, {"files": {"/etc/x": "y"}}):
        response = await client.post(f"/v1/layers/{unique('r')}/versions", json={"content": content})
        assert response.status_code == 400, response.text
        assert str(tmp_path) not in response.text and "/tmp/" not in response.text


@pytest.mark.parametrize(
    "comment",
    [
        code_signatures.MAGIC + b"!!!not base64",
        code_signatures.MAGIC + base64.urlsafe_b64encode(b'{"profile": 1}'),
    ],
    ids=["garbled", "fields-missing"],
)
async def test_garbled_signature_blocks_are_integrity_failures(
    client: httpx.AsyncClient, comment: bytes
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    made = await client.post(
        "/v1/signing-profiles", json={"name": unique("p").replace("-", "_"), "publicMaterial": pem.decode()}
    )
    profile = made.json()["profileVersionArn"]
    body = {"allowedPublishers": [profile], "untrustedArtifactOnDeployment": "Warn"}
    csc = (await client.post("/v1/code-signing-configs", json=body)).json()["codeSigningConfigArn"]
    package = zipped({"app.py": "def handler(e, c):\n    return 1\n"}, comment)
    impostor = ed25519.Ed25519PrivateKey.generate()  # claims the trusted profile with another key
    forged = code_signatures.sign(zipped({"app.py": "x"}), impostor, profile, validity=timedelta(days=1))
    for data in (package, forged):
        response = await client.post("/v1/functions", json={
            "name": unique("sig"), "runtime": "python3.11", "handler": "app.handler",
            "code": {"zipFile": base64.b64encode(data).decode()}, "codeSigningConfigArn": csc,
        })  # fmt: skip
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["code"] == "InvalidCodeSignatureException"


@pytest.mark.parametrize("weight", ["NaN", "Infinity", "-0.5", "1e309"])
async def test_alias_weights_outside_0_to_1_are_refused(client: httpx.AsyncClient, weight: str) -> None:
    name = unique("w")
    body = {
        "name": name,
        "runtime": "python3.11",
        "handler": "app.handler",
        "code": {"files": {"app.py": "x=1"}},
    }
    assert (await client.post("/v1/functions", json=body)).status_code == 201
    for _ in range(2):
        assert (await client.post(f"/v1/functions/{name}/versions")).status_code == 201
    routing = '"routingConfig": {"additionalVersionWeights": {"2": ' + weight + "}}"
    raw = '{"name": "a", "functionVersion": "1", ' + routing + "}"
    response = await client.post(
        f"/v1/functions/{name}/aliases", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
