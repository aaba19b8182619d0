"""Layers under code signing through ``/v1`` on real sandboxes: a function whose code-signing
configuration applies may only use layer versions signed by an allowed profile (Lambda's rule).
Unsigned, untrusted and expired layers are refused under Enforce (naming the layer, nothing
created or changed) and used under Warn (a warning logged); a layer changed after signing fails the
integrity check whatever the policy; a signed layer is used and its code runs."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from foundation import code_signatures
from tests.integration.function_kit import requires_bwrap, unique
from tests.integration.platform.test_code_signing import client, config, profile, public_pem
from workers.functions.codestore import zip_files as zip_of

pytestmark = [requires_bwrap]
__all__ = ["client"]
APP = {"app.py": "import helper\n\ndef handler(event, context):\n    return helper.greet()\n"}
LAYER = {"python/helper.py": "def greet():\n    return 'signed layer ran'\n"}
DAY = timedelta(days=1)


async def publish(client: httpx.AsyncClient, data: bytes) -> dict[str, Any]:
    body = {"content": {"zipFile": base64.b64encode(data).decode()}, "compatibleRuntimes": ["python3.11"]}
    response = await client.post(f"/v1/layers/{unique('l')}/versions", json=body)
    assert response.status_code == 201, response.text
    published: dict[str, Any] = response.json()
    return published


def signed_app(key: ed25519.Ed25519PrivateKey, profile_arn: str) -> str:
    return base64.b64encode(code_signatures.sign(zip_of(APP), key, profile_arn, validity=DAY)).decode()


async def create(
    client: httpx.AsyncClient, csc: str, code: str, layers: list[str], name: str
) -> httpx.Response:
    body = {
        "name": name, "runtime": "python3.11", "handler": "app.handler", "code": {"zipFile": code},
        "codeSigningConfigArn": csc, "layers": layers,
    }  # fmt: skip
    return await client.post("/v1/functions", json=body)


async def test_layers_must_be_signed_by_an_allowed_profile(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    key, stranger_key = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    trusted, stranger = (
        await profile(client, public_pem(key)),
        await profile(client, public_pem(stranger_key)),
    )
    enforce, warn = await config(client, [trusted], "Enforce"), await config(client, [trusted], "Warn")
    code = signed_app(key, trusted)

    good = await publish(client, code_signatures.sign(zip_of(LAYER), key, trusted, validity=DAY))
    assert good["content"]["signingProfileVersionArn"] == trusted
    name = unique("signed-layers")
    made = await create(client, enforce, code, [good["layerVersionArn"]], name)
    assert made.status_code == 201, made.text
    assert (await client.post(f"/v1/functions/{name}/invocations", json={})).json() == "signed layer ran"

    past = datetime.now(UTC) - timedelta(days=10)
    cases = {
        "unsigned": (zip_of(LAYER), "layer is not signed"),
        "untrusted": (
            code_signatures.sign(zip_of(LAYER), stranger_key, stranger, validity=DAY),
            "not an allowed publisher",
        ),
        "expired": (code_signatures.sign(zip_of(LAYER), key, trusted, validity=DAY, now=past), "expired"),
    }  # fmt: skip
    for case, (data, says) in cases.items():
        layer = await publish(client, data)  # publishing never checks: Lambda checks where it is used
        arn = layer["layerVersionArn"]
        refused = await create(client, enforce, code, [good["layerVersionArn"], arn], unique(case))
        assert refused.status_code == 400, (case, refused.text)
        detail = refused.json()["detail"]
        assert refused.json()["errors"][0]["code"] == "CodeVerificationFailedException", case
        assert arn in detail and says in detail, (case, detail)
        changed = await client.put(f"/v1/functions/{name}", json={"layers": [arn]})
        assert changed.status_code == 400 and arn in changed.json()["detail"], (case, changed.text)
        current = (await client.get(f"/v1/functions/{name}")).json()
        assert [entry["arn"] for entry in current["layers"]] == [good["layerVersionArn"]], case  # unchanged
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="api.services.code_signing"):
            allowed = await create(client, warn, code, [arn], unique(case))
        assert allowed.status_code == 201, (case, allowed.text)
        assert any(arn in r.getMessage() and "deployed anyway" in r.getMessage() for r in caplog.records), (
            case
        )

    _, comment = code_signatures.split(code_signatures.sign(zip_of(LAYER), key, trusted, validity=DAY))
    evil = {"python/helper.py": "def greet():\n    return 'evil layer ran'\n"}
    tampered = await publish(
        client, code_signatures.with_comment(zip_of(evil), comment)
    )  # its block, other code
    for csc in (enforce, warn):
        refused = await create(client, csc, code, [tampered["layerVersionArn"]], unique("tampered"))
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["code"] == "InvalidCodeSignatureException"
        assert tampered["layerVersionArn"] in refused.json()["detail"]

    plain = unique("no-csc")  # without a configuration, any layer goes
    body = {"name": plain, "runtime": "python3.11", "handler": "app.handler", "code": {"files": APP},
            "layers": [tampered["layerVersionArn"]]}  # fmt: skip
    assert (await client.post("/v1/functions", json=body)).status_code == 201


async def test_new_code_rechecks_the_layers_a_function_keeps(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """UpdateFunctionCode of a function under code signing checks the layers it keeps, as Lambda:
    an unsigned one is refused under Enforce (naming it, nothing changed), deployed under Warn."""
    key = ed25519.Ed25519PrivateKey.generate()
    trusted = await profile(client, public_pem(key))
    enforce, warn = await config(client, [trusted], "Enforce"), await config(client, [trusted], "Warn")
    unsigned = (await publish(client, zip_of(LAYER)))["layerVersionArn"]
    newer = code_signatures.sign(zip_of(APP | {"notes.txt": "v2"}), key, trusted, validity=DAY)
    other = base64.b64encode(newer).decode()
    for csc in (enforce, warn):
        name = unique("keeps-layer")
        made = await create(client, warn, signed_app(key, trusted), [unsigned], name)  # Warn lets it in
        assert made.status_code == 201, made.text
        attached = await client.put(
            f"/v1/functions/{name}/code-signing-config", json={"codeSigningConfigArn": csc}
        )
        assert attached.status_code == 200, attached.text
        before = (await client.get(f"/v1/functions/{name}")).json()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="api.services.code_signing"):
            updated = await client.put(f"/v1/functions/{name}", json={"code": {"zipFile": other}})
        after = (await client.get(f"/v1/functions/{name}")).json()
        if csc == enforce:
            assert updated.status_code == 400, updated.text
            assert updated.json()["errors"][0]["code"] == "CodeVerificationFailedException"
            detail = updated.json()["detail"]
            assert unsigned in detail and "layer is not signed" in detail, detail
            assert after == before
        else:
            assert updated.status_code == 200, updated.text
            assert after["codeSha256"] != before["codeSha256"]
            messages = [r.getMessage() for r in caplog.records]
            assert any(unsigned in m and "deployed anyway" in m for m in messages), messages


async def test_a_layer_for_another_runtime_is_used_with_a_warning(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "content": {"files": LAYER},
        "compatibleRuntimes": ["nodejs20.x"],
        "compatibleArchitectures": ["arm64"],
    }
    layer = await client.post(f"/v1/layers/{unique('node-only')}/versions", json=body)
    assert layer.status_code == 201, layer.text
    arn = layer.json()["layerVersionArn"]
    name = unique("mismatch")
    function = {"name": name, "runtime": "python3.11", "handler": "app.handler", "code": {"files": APP},
                "layers": [arn]}  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="api.services.layers"):
        made = await client.post("/v1/functions", json=function)
    assert made.status_code == 201, made.text  # as Lambda: compatible runtimes are metadata
    messages = [r.getMessage() for r in caplog.records]
    assert any("compatible runtimes are nodejs20.x" in m and arn in m for m in messages), messages
    assert any("compatible architectures are arm64" in m for m in messages), messages
    assert (await client.post(f"/v1/functions/{name}/invocations", json={})).json() == "signed layer ran"


async def test_layer_version_policy_on_v1(client: httpx.AsyncClient) -> None:
    layer = await publish(client, zip_of(LAYER))
    base = f"/v1/layers/{layer['layerName']}/versions/{layer['version']}/policy"
    assert (await client.get(base)).status_code == 404
    grant = {"statementId": "team", "action": "lambda:GetLayerVersion", "principal": "123456789012"}
    added = await client.post(base, json=grant)
    assert added.status_code == 201, added.text
    assert json.loads(added.json()["statement"])["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert (await client.post(base, json=grant)).status_code == 409
    bad = await client.post(base, json=grant | {"statementId": "x", "principal": "../etc"})
    assert bad.status_code == 400 and "principal" in bad.json()["detail"].lower()
    policy = (await client.get(base)).json()
    assert [s["Sid"] for s in json.loads(policy["policy"])["Statement"]] == ["team"]
    stale = await client.delete(f"{base}/team", params={"revisionId": "0" * 36})
    assert stale.status_code == 409
    assert (
        await client.delete(f"{base}/team", params={"revisionId": policy["revisionId"]})
    ).status_code == 204
    assert (await client.delete(f"{base}/team")).status_code == 404
