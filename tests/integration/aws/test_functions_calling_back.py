"""Functions calling back: a function with ``STEPLINE_AWS_API=true`` (``awsApi`` on /v1) reaches this
Stepline's AWS APIs from its sandbox with the boto3 the runtime provides, its credentials renewed at
each invocation; real sandboxes, a real server, unmodified boto3 on both sides."""

from __future__ import annotations

import json
import shutil
from typing import Any

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.aws.callback_kit import CALLER, FLAG, MACHINE, caller, invoke, lam, served
from tests.integration.aws.conftest import client
from tests.integration.aws.lambda_kit import ROLE, checked, create, error_of, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["caller", "lam", "served"]


def test_a_function_invokes_another_with_boto3(lam: Any, caller: str) -> None:
    target = unique("echo")
    create(lam, target)
    answer = invoke(lam, caller, {"action": "invoke", "target": target, "payload": {"n": 1}})
    assert answer == {"status": 200, "payload": {"echo": {"n": 1}}}


def test_a_function_starts_an_execution_and_waits_for_it(
    served: tuple[str, Settings], lam: Any, caller: str
) -> None:
    target = unique("echo")
    create(lam, target)
    sfn = client(served[0], "stepfunctions")
    definition = json.dumps(MACHINE).replace("TARGET", target)
    standard = sfn.create_state_machine(name=unique("m"), definition=definition, roleArn=ROLE)
    answer = invoke(lam, caller, {"action": "start", "arn": standard["stateMachineArn"], "input": {"k": "v"}})
    assert answer == {"status": "SUCCEEDED", "output": {"echo": {"k": "v"}}}
    express = sfn.create_state_machine(name=unique("x"), definition=definition, roleArn=ROLE, type="EXPRESS")
    answer = invoke(lam, caller, {"action": "sync", "arn": express["stateMachineArn"], "input": {"s": 1}})
    assert answer == {"status": "SUCCEEDED", "output": {"echo": {"s": 1}}}  # the sync- prefix is off


def test_credentials_are_renewed_before_an_invocation_would_outlast_them(lam: Any, caller: str) -> None:
    """Credentials last 15 minutes: a 60-second function keeps its set from one invocation to the
    next; one that may run 900 seconds gets a new set with each event (and a client made at INIT,
    re-reading them, keeps working)."""
    first, second = (invoke(lam, caller, {"action": "env"}) for _ in range(2))
    assert first["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9002"
    assert first["AWS_ACCESS_KEY_ID"].startswith("ASIA") and first == second
    long = unique("long")
    create(lam, long, {"app.py": CALLER}, Environment=FLAG, MemorySize=256, Timeout=900)
    target = unique("echo")
    create(lam, target)
    seen = []
    for n in range(2):
        seen.append(invoke(lam, long, {"action": "env"}))
        echoed = invoke(lam, long, {"action": "invoke", "target": target, "payload": {"n": n}})
        assert echoed == {"status": 200, "payload": {"echo": {"n": n}}}
    assert seen[0]["AWS_ACCESS_KEY_ID"] != seen[1]["AWS_ACCESS_KEY_ID"]
    assert seen[0]["AWS_SESSION_TOKEN"] != seen[1]["AWS_SESSION_TOKEN"]
    assert seen[0]["AWS_CREDENTIAL_EXPIRATION"] <= seen[1]["AWS_CREDENTIAL_EXPIRATION"]


def test_a_function_without_the_flag_gets_no_endpoint(lam: Any) -> None:
    name = unique("plain")
    create(lam, name, {"app.py": CALLER}, MemorySize=256)
    assert set(invoke(lam, name, {"action": "env"}).values()) == {None}


def test_the_flag_is_an_environment_variable_of_the_lambda_api(lam: Any) -> None:
    name = unique("flag")
    created = create(
        lam, name, {"app.py": CALLER}, Environment={"Variables": {"AB": "1", "STEPLINE_AWS_API": "TRUE"}}
    )
    assert created["Environment"] == {"Variables": {"AB": "1", "STEPLINE_AWS_API": "true"}}
    assert invoke(lam, name, {"action": "env"})["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9002"
    updated = checked(
        lam, "UpdateFunctionConfiguration", FunctionName=name, Environment={"Variables": {"AB": "2"}}
    )
    assert updated["Environment"] == {"Variables": {"AB": "2"}}  # replacing the variables turns it off
    assert invoke(lam, name, {"action": "env"})["AWS_ENDPOINT_URL"] is None
    code, status, message = error_of(
        lam.update_function_configuration,
        FunctionName=name,
        Environment={"Variables": {"STEPLINE_AWS_API": "yes"}},
    )
    assert (code, status) == ("InvalidParameterValueException", 400) and "STEPLINE_AWS_API" in message


def test_the_flag_is_aws_api_on_v1(served: tuple[str, Settings]) -> None:
    url = served[0]
    body = {"name": unique("v1"), "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": CALLER}}, "awsApi": True}  # fmt: skip
    created = httpx.post(f"{url}/v1/functions", json=body)
    assert created.status_code == 201 and created.json()["awsApi"] is True, created.text
    refused = httpx.post(
        f"{url}/v1/functions", json=body | {"name": unique("v1"), "environment": {"STEPLINE_AWS_API": "true"}}
    )
    assert refused.status_code == 400 and "STEPLINE_AWS_API" in refused.text


NODE = r"""
const crypto = require("crypto");
const http = require("http");

const hmac = (key, text) => crypto.createHmac("sha256", key).update(text).digest();
const sha = (text) => crypto.createHash("sha256").update(text).digest("hex");

// ListFunctions, signed by hand with SigV4 (no SDK in this test's package): the relay, the
// worker's forwarder and the API's check of the session credentials, from Node.js.
exports.handler = async () => {
  const env = process.env;
  const url = new URL("/2015-03-31/functions/?MaxItems=1", env.AWS_ENDPOINT_URL);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const day = stamp.slice(0, 8);
  const headers = { host: url.host, "x-amz-date": stamp, "x-amz-security-token": env.AWS_SESSION_TOKEN };
  const signed = Object.keys(headers).sort();
  const canonical = ["GET", "/2015-03-31/functions/", "MaxItems=1",
    signed.map((h) => `${h}:${headers[h]}\n`).join(""), signed.join(";"), sha("")].join("\n");
  const scope = `${day}/${env.AWS_REGION}/lambda/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", stamp, scope, sha(canonical)].join("\n");
  let key = "AWS4" + env.AWS_SECRET_ACCESS_KEY;
  for (const part of [day, env.AWS_REGION, "lambda", "aws4_request"]) key = hmac(key, part);
  const signature = hmac(key, toSign).toString("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${env.AWS_ACCESS_KEY_ID}/${scope}, ` +
    `SignedHeaders=${signed.join(";")}, Signature=${signature}`;
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode, functions: JSON.parse(body).Functions.length }));
    }).on("error", reject);
  });
};
"""


def test_a_nodejs_function_calls_back_through_its_relay(lam: Any) -> None:
    name = unique("node")
    create(lam, name, {"index.js": NODE}, Runtime="nodejs20.x", Handler="index.handler", Environment=FLAG)
    assert invoke(lam, name, {}) == {"status": 200, "functions": 1}


PROVIDED = """#!/bin/sh
# A custom runtime: one event, then report what an unsigned call to AWS_ENDPOINT_URL got.
set -e
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  id=$(curl -sSi "$api/invocation/next" | tr -d '\\r' | sed -n 's/^Lambda-Runtime-Aws-Request-Id: //ip')
  answer=$(curl -s "$AWS_ENDPOINT_URL/2015-03-31/functions/" | tr -d '"')
  curl -s -X POST "$api/invocation/$id/response" -d "\\"$answer\\"" >/dev/null
done
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="the provided runtime's bootstrap uses curl")
def test_a_provided_runtime_reaches_the_endpoint_through_its_relay(lam: Any) -> None:
    """An unsigned call gets the forwarder's refusal: the relay and the socket are there."""
    name = unique("custom")
    create(lam, name, {"bootstrap": PROVIDED}, Runtime="provided.al2023", Environment=FLAG)
    answer = invoke(lam, name, {})
    assert "AccessDeniedException" in answer and "signed with the function's credentials" in answer
