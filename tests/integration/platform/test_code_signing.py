"""Code signing through ``/v1`` on real sandboxes: signing profiles (public keys and certificates),
code-signing configurations, ``stepline sign``, and creating or updating a function with an
unsigned, tampered, expired or untrusted package under Enforce (refused, nothing created) and Warn
(deployed, a warning logged); a tampered package fails the integrity check whatever the policy."""

from __future__ import annotations

import base64
import io
import logging
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from foundation import code_signatures
from foundation.settings import Settings
from shell.cli import app as cli
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]
APP = "def handler(event, context):\n    return 'signed code ran'\n"


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": tmp_path / "data"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as c:
            yield c


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", APP)
    return buffer.getvalue()


def public_pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def certificate(key: ec.EllipticCurvePrivateKey, not_before: datetime, not_after: datetime) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stepline test signer")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def profile(client: httpx.AsyncClient, material: str) -> str:
    body = {"name": unique("p").replace("-", "_"), "publicMaterial": material}
    response = await client.post("/v1/signing-profiles", json=body)
    assert response.status_code == 201, response.text
    arn: str = response.json()["profileVersionArn"]
    return arn


async def config(client: httpx.AsyncClient, publishers: list[str], policy: str) -> str:
    body = {"allowedPublishers": publishers, "untrustedArtifactOnDeployment": policy}
    response = await client.post("/v1/code-signing-configs", json=body)
    assert response.status_code == 201, response.text
    arn: str = response.json()["codeSigningConfigArn"]
    return arn


async def create(client: httpx.AsyncClient, data: bytes, csc: str, name: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {
        "name": name or unique("signed"), "runtime": "python3.11", "handler": "app.handler",
        "code": {"zipFile": base64.b64encode(data).decode()}, "codeSigningConfigArn": csc,
    }  # fmt: skip
    return await client.post("/v1/functions", json=body)


def cli_sign(tmp_path: Path, key_pem: bytes, profile_arn: str) -> bytes:
    (tmp_path / "app.zip").write_bytes(package())
    (tmp_path / "key.pem").write_bytes(key_pem)
    result = CliRunner().invoke(
        cli, ["sign", str(tmp_path / "app.zip"), "--key", str(tmp_path / "key.pem"), "--profile", profile_arn]
    )
    assert result.exit_code == 0, result.output
    return (tmp_path / "app-signed.zip").read_bytes()


async def test_each_failure_under_enforce_and_warn(
    client: httpx.AsyncClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    trusted = await profile(client, public_pem(key))
    stranger_key = ed25519.Ed25519PrivateKey.generate()
    stranger = await profile(client, public_pem(stranger_key))
    enforce, warn = await config(client, [trusted], "Enforce"), await config(client, [trusted], "Warn")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signed = cli_sign(tmp_path, pem, trusted)

    made = await create(client, signed, enforce)
    assert made.status_code == 201, made.text
    assert made.json()["signingProfileVersionArn"] == trusted
    ran = await client.post(f"/v1/functions/{made.json()['functionName']}/invocations", json={})
    assert ran.json() == "signed code ran"

    past = datetime.now(UTC) - timedelta(days=10)
    day = timedelta(days=1)
    cases = {
        "unsigned": (package(), "not signed"),
        "untrusted": (
            code_signatures.sign(package(), stranger_key, stranger, validity=day), "not an allowed publisher"
        ),
        "expired": (code_signatures.sign(package(), key, trusted, validity=day, now=past), "expired"),
    }  # fmt: skip
    for case, (data, says) in cases.items():
        name = unique(case)
        refused = await create(client, data, enforce, name)
        assert refused.status_code == 400 and says in refused.json()["detail"], (case, refused.text)
        assert refused.json()["errors"][0]["code"] == "CodeVerificationFailedException"
        assert (await client.get(f"/v1/functions/{name}")).status_code == 404, case  # nothing half-created
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="api.services.code_signing"):
            allowed = await create(client, data, warn)
        assert allowed.status_code == 201, (case, allowed.text)
        assert allowed.json()["signingProfileVersionArn"] is None
        assert any(says in r.getMessage() and "deployed anyway" in r.getMessage() for r in caplog.records), (
            case
        )

    unsigned, _ = code_signatures.split(signed)
    tampered = code_signatures.with_comment(
        unsigned.replace(b"signed code ran", b"evil code ran!!"), code_signatures.split(signed)[1]
    )
    for csc in (enforce, warn):
        refused = await create(client, tampered, csc)
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["code"] == "InvalidCodeSignatureException"
        assert "modified after it was signed" in refused.json()["detail"]


async def test_updates_certificates_and_revocation(client: httpx.AsyncClient) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    current = await profile(client, certificate(key, now - timedelta(days=1), now + timedelta(days=30)))
    lapsed_key = ec.generate_private_key(ec.SECP256R1())
    lapsed = await profile(client, certificate(lapsed_key, now - timedelta(days=30), now - timedelta(days=1)))
    csc = await config(client, [current, lapsed], "Enforce")
    signed = code_signatures.sign(package(), key, current, validity=timedelta(days=365))
    made = await create(client, signed, csc)
    assert made.status_code == 201, made.text
    name = made.json()["functionName"]

    unsigned = {"code": {"files": {"app.py": APP}}}
    refused = await client.put(f"/v1/functions/{name}", json=unsigned)
    assert refused.status_code == 400 and "CodeVerificationFailedException" in refused.text
    expired = code_signatures.sign(package(), lapsed_key, lapsed, validity=timedelta(days=365))
    refused = await client.put(
        f"/v1/functions/{name}", json={"code": {"zipFile": base64.b64encode(expired).decode()}}
    )
    assert refused.status_code == 400 and "expired" in refused.json()["detail"]

    named = await client.get(f"/v1/functions/{name}/code-signing-config")
    assert named.json() == {"codeSigningConfigArn": csc}
    in_use = await client.delete(f"/v1/code-signing-configs/{csc}")
    assert in_use.status_code == 409
    assert (await client.post(f"/v1/signing-profiles/{current.split('/')[-2]}/revoke")).status_code == 200
    again = await client.put(
        f"/v1/functions/{name}", json={"code": {"zipFile": base64.b64encode(signed).decode()}}
    )
    assert again.status_code == 400 and "revoked" in again.json()["detail"]
    assert (await client.delete(f"/v1/functions/{name}/code-signing-config")).status_code == 204
    assert (await client.put(f"/v1/functions/{name}", json=unsigned)).status_code == 200
    assert (await client.get(f"/v1/functions/{name}/code-signing-config")).json() is None
    assert (await client.delete(f"/v1/code-signing-configs/{csc}")).status_code == 204


async def test_bad_profiles_and_configs_are_refused(client: httpx.AsyncClient) -> None:
    small = await client.post(
        "/v1/signing-profiles",
        json={
            "name": "bad_key",
            "publicMaterial": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        },
    )
    assert small.status_code == 400 and "not a PEM public key" in small.json()["detail"]
    bad = await client.post("/v1/code-signing-configs", json={"allowedPublishers": ["arn:aws:iam::1:role/x"]})
    assert bad.status_code == 400 and "signing profile version ARN" in bad.json()["detail"]
    missing = await create(
        client, package(), "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdefg"
    )
    assert missing.status_code == 404
