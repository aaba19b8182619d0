"""State machine routes against a real PostgreSQL (and the API's real lifespan)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration

HELLO = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": "hi", "End": True}}}
BYE = {"StartAt": "Bye", "States": {"Bye": {"Type": "Pass", "Result": "bye", "End": True}}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_create_then_describe_returns_the_definition(api: httpx.AsyncClient) -> None:
    name = unique("hello")
    created = await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["version"] == 1
    assert body["stateMachineArn"].endswith(f":stateMachine:{name}")
    described = (await api.get(f"/v1/state-machines/{name}")).json()
    assert described["definition"] == HELLO
    assert described["type"] == "STANDARD"


async def test_definition_may_be_json_text(api: httpx.AsyncClient) -> None:
    name = unique("text")
    created = await api.post("/v1/state-machines", json={"name": name, "definition": json.dumps(HELLO)})
    assert created.status_code == 201, created.text
    assert created.json()["definition"] == HELLO


async def test_update_adds_a_version_and_keeps_the_old_one(api: httpx.AsyncClient) -> None:
    name = unique("versions")
    await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})
    updated = await api.put(f"/v1/state-machines/{name}", json={"definition": BYE, "description": "v2"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    old = (await api.get(f"/v1/state-machines/{name}", params={"version": 1})).json()
    assert (old["definition"], old["latestVersion"]) == (HELLO, 2)
    assert (await api.get(f"/v1/state-machines/{name}")).json()["description"] == "v2"


async def test_invalid_definition_lists_every_problem(api: httpx.AsyncClient) -> None:
    bad = {"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}
    response = await api.post("/v1/state-machines", json={"name": unique("bad"), "definition": bad})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    diagnostics = response.json()["diagnostics"]
    assert len(diagnostics) >= 2, diagnostics
    assert all(d["location"] is not None and d["message"] for d in diagnostics)


async def test_validate_reports_ok_and_fail(api: httpx.AsyncClient) -> None:
    ok = (await api.post("/v1/state-machines/validate", json={"definition": HELLO})).json()
    assert ok == {"result": "OK", "diagnostics": [], "truncated": False}
    fail = (await api.post("/v1/state-machines/validate", json={"definition": {"States": {}}})).json()
    assert fail["result"] == "FAIL" and fail["diagnostics"] and fail["truncated"] is False


async def test_validate_text_that_is_not_a_definition_fails_with_diagnostics(api: httpx.AsyncClient) -> None:
    """As ValidateStateMachineDefinition: a FAIL answer, not 400; no location when there is no place."""
    garbled = await api.post("/v1/state-machines/validate", json={"definition": "not a definition"})
    assert garbled.status_code == 200
    [bad_json] = garbled.json()["diagnostics"]
    assert bad_json["code"] == "INVALID_JSON_DESCRIPTION" and "line: 1, column: 4" in bad_json["location"]
    blank = (await api.post("/v1/state-machines/validate", json={"definition": " "})).json()
    assert blank == {
        "result": "FAIL",
        "diagnostics": [
            {
                "severity": "ERROR",
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": "Definition must be a valid JSON object",
            }
        ],
        "truncated": False,
    }


async def test_definition_text_that_is_not_json_names_the_position(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/state-machines", json={"name": unique("x"), "definition": '{"StartAt": '})
    assert response.status_code == 400
    assert "line 1" in response.json()["detail"]


async def test_malformed_body_is_400_naming_the_problem(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/state-machines", content=b'{"name": "x", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_values_json_or_postgresql_cannot_carry_are_400_not_500(api: httpx.AsyncClient) -> None:
    """Python's JSON parser takes NaN, Infinity and lone surrogates, and a version may be beyond
    PostgreSQL's integers: each is refused with what is wrong, nothing is stored."""
    name = unique("nan")
    headers = {"content-type": "application/json"}
    for raw, says in [
        (b'{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": NaN, "End": true}}}', "NaN"),
        (b'{"StartAt": "P", "Comment": "\\ud800", "States": {"P": {"Type": "Pass", "End": true}}}',
         "surrogates not allowed"),
    ]:  # fmt: skip
        body = b'{"name": "%s", "definition": %s}' % (name.encode(), raw)
        response = await api.post("/v1/state-machines", content=body, headers=headers)
        assert response.status_code == 400 and says in response.json()["detail"]
        assert (await api.get(f"/v1/state-machines/{name}")).status_code == 404
    assert (await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})).status_code == 201
    response = await api.get(f"/v1/state-machines/{name}", params={"version": 10**20})
    assert response.status_code == 400 and response.json()["errors"][0]["location"] == "query:/version"


async def test_bad_name_is_400_with_its_location(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/state-machines", json={"name": "has space", "definition": HELLO})
    assert response.status_code == 400
    assert response.json()["errors"][0]["location"] == "/name"


async def test_duplicate_name_is_409(api: httpx.AsyncClient) -> None:
    name = unique("dup")
    await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})
    again = await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})
    assert again.status_code == 409


async def test_unknown_names_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/state-machines/nope-nope")).status_code == 404
    assert (await api.put("/v1/state-machines/nope-nope", json={"definition": HELLO})).status_code == 404
    assert (await api.delete("/v1/state-machines/nope-nope")).status_code == 404
    assert (await api.get("/v1/state-machines/nope-nope", params={"version": 7})).status_code == 404


async def test_delete_removes_the_machine(api: httpx.AsyncClient) -> None:
    name = unique("gone")
    await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})
    assert (await api.delete(f"/v1/state-machines/{name}")).status_code == 204
    assert (await api.get(f"/v1/state-machines/{name}")).status_code == 404


async def test_list_pages_through_every_machine(api: httpx.AsyncClient) -> None:
    prefix = unique("page")
    names = {f"{prefix}-{i}" for i in range(5)}
    for name in names:
        await api.post("/v1/state-machines", json={"name": name, "definition": HELLO})
    seen: list[str] = []
    token = None
    while True:
        params = {"limit": 2} | ({"nextToken": token} if token else {})
        page = (await api.get("/v1/state-machines", params=params)).json()
        seen += [m["name"] for m in page["stateMachines"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))


async def test_foreign_next_token_is_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/state-machines", params={"nextToken": "garbage!!"})
    assert response.status_code == 400


async def test_healthz_and_metrics(api: httpx.AsyncClient) -> None:
    health = await api.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok", "database": "ok", "temporal": "ok"}
    metrics = await api.get("/metrics")
    assert "stepline_http_requests_total" in metrics.text
