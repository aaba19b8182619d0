"""What an invocation tells the function about its caller, as Lambda does: ``X-Amz-Client-Context``
as ``context.client_context`` (Python) / ``context.clientContext`` (Node.js), and the ARN the caller
invoked, qualified when a version was named (unmodified boto3, real sandboxes)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

PYTHON = """def handler(event, context):
    cc = context.client_context
    return {
        "arn": context.invoked_function_arn,
        "context": None if cc is None else {
            "custom": cc.custom, "env": cc.env,
            "installation_id": cc.client.installation_id if cc.client else None,
            "app_title": cc.client.app_title if cc.client else None,
        },
    }
"""
NODE = """exports.handler = async (event, context) => ({
  arn: context.invokedFunctionArn,
  context: context.clientContext === undefined ? null : context.clientContext,
});
"""
CLIENT_CONTEXT = {
    "client": {"installation_id": "i-1", "app_title": "Tour\r\nX-Injected: 1"},
    "custom": {"tenant": "a", "nested": {"n": [1, 2]}},
    "env": {"platform": "test"},
}


def encoded(doc: Any) -> str:
    return base64.b64encode(json.dumps(doc, indent=2).encode()).decode()  # newlines inside: not in a header


def answer(lam: Any, name: str, **params: Any) -> Any:
    result = checked(lam, "Invoke", FunctionName=name, Payload=b"{}", **params)
    assert "FunctionError" not in result, result["Payload"]
    return json.loads(result["Payload"])


@pytest.fixture(scope="module")
def functions(lam: Any) -> dict[str, str]:
    python, node = unique("ctx-py"), unique("ctx-node")
    create(lam, python, {"app.py": PYTHON}, Publish=True)
    create(lam, node, {"index.js": NODE}, Runtime="nodejs20.x", Handler="index.handler", Publish=True)
    return {"python": python, "node": node}


def test_python_gets_the_client_context(lam: Any, functions: dict[str, str]) -> None:
    got = answer(lam, functions["python"], ClientContext=encoded(CLIENT_CONTEXT))["context"]
    assert got == {
        "custom": CLIENT_CONTEXT["custom"], "env": CLIENT_CONTEXT["env"], "installation_id": "i-1",
        "app_title": "Tour\r\nX-Injected: 1",
    }  # fmt: skip
    assert answer(lam, functions["python"])["context"] is None


def test_nodejs_gets_the_client_context(lam: Any, functions: dict[str, str]) -> None:
    assert answer(lam, functions["node"], ClientContext=encoded(CLIENT_CONTEXT))["context"] == CLIENT_CONTEXT
    assert answer(lam, functions["node"])["context"] is None


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_the_invoked_arn_is_qualified_when_a_version_is(
    lam: Any, functions: dict[str, str], runtime: str
) -> None:
    name = functions[runtime]
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert answer(lam, name)["arn"] == arn
    assert answer(lam, name, Qualifier="1")["arn"] == f"{arn}:1"
    assert answer(lam, f"{name}:1")["arn"] == f"{arn}:1"
    assert answer(lam, name, Qualifier="$LATEST")["arn"] == f"{arn}:$LATEST"


@pytest.mark.parametrize(
    "context",
    [base64.b64encode(b"not json").decode(), encoded([1, 2]), "not base64!"],
    ids=["text", "list", "b64"],
)
def test_a_client_context_that_is_not_base64_json_is_refused(
    lam: Any, functions: dict[str, str], context: str
) -> None:
    code, status, _ = error_of(
        lam.invoke, FunctionName=functions["python"], Payload=b"{}", ClientContext=context
    )
    assert (code, status) == ("InvalidRequestContentException", 400)
