"""Extensions through Lambda's own API with unmodified boto3: PublishLayerVersion of a layer with an
executable in ``extensions/``, CreateFunction with it in ``Layers``, Invoke; a crashing extension's
invocation fails with ``Extension.Crash``."""

from __future__ import annotations

import io
import json
import stat
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.aws.lambda_kit import checked, create, lam, unique
from tests.integration.extensions.extension_kit import HOSTILE_EXTENSION, PYTHON_EXTENSION
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

APP = """
import json
def handler(event, context):
    try:
        with open("/tmp/events.jsonl") as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0
"""


def extension_layer(lam: Any, name: str, source: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(f"extensions/{name}")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(info, source.format(python=Path(sys.executable).resolve(), node=""))
    published = checked(
        lam, "PublishLayerVersion", LayerName=unique(name), Content={"ZipFile": buffer.getvalue()}
    )
    arn: str = published["LayerVersionArn"]
    return arn


def test_an_extension_layer_through_lambdas_api(lam: Any) -> None:
    function = unique("extfn")
    create(lam, function, {"app.py": APP}, Layers=[extension_layer(lam, "recorder", PYTHON_EXTENSION)])
    counts = [
        json.loads(checked(lam, "Invoke", FunctionName=function, Payload=b"{}")["Payload"]) for _ in range(4)
    ]
    assert counts[-1] >= 3 and counts == sorted(counts), counts  # each INVOKE seen, one sandbox kept


def test_a_crashing_extension_fails_the_invocation_as_extension_crash(lam: Any) -> None:
    function = unique("crash")
    layer = extension_layer(lam, "hostile", HOSTILE_EXTENSION)
    create(
        lam, function, {"app.py": APP}, Layers=[layer], Environment={"Variables": {"EXTENSION_MODE": "crash"}}
    )
    answer = checked(lam, "Invoke", FunctionName=function, Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"])["errorType"] == "Extension.Crash"
