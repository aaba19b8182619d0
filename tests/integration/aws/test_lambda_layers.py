"""Lambda's layer operations through unmodified boto3 against a served Stepline: publish, get (by
version and by ARN), list, delete; a function using layers (its Layers shown, the layer's code on
its path), and the errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique, zipped
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

APP = "import helper\n\ndef handler(event, context):\n    return helper.greet()\n"


def test_layer_lifecycle_and_a_function_using_it(lam: Any) -> None:
    name = unique("helper")
    content = {"ZipFile": zipped({"python/helper.py": "def greet():\n    return 'from the layer'\n"})}
    published = checked(
        lam, "PublishLayerVersion", LayerName=name, Content=content, CompatibleRuntimes=["python3.11"],
        LicenseInfo="MIT", Description="greets",
    )  # fmt: skip
    assert published["Version"] == 1 and published["LayerVersionArn"] == f"{published['LayerArn']}:1"
    assert published["Content"]["CodeSize"] > 0 and published["LicenseInfo"] == "MIT"
    by_arn = checked(lam, "GetLayerVersionByArn", Arn=published["LayerVersionArn"])
    assert by_arn["Description"] == "greets"
    assert checked(lam, "GetLayerVersion", LayerName=published["LayerArn"], VersionNumber=1)["Version"] == 1
    listed = checked(lam, "ListLayers", CompatibleRuntime="python3.11")["Layers"]
    assert any(
        layer["LayerName"] == name and layer["LatestMatchingVersion"]["Version"] == 1 for layer in listed
    )
    assert [v["Version"] for v in checked(lam, "ListLayerVersions", LayerName=name)["LayerVersions"]] == [1]

    function = unique("uses")
    made = create(lam, function, {"app.py": APP}, Layers=[published["LayerVersionArn"]])
    assert made["Layers"] == [
        {"Arn": published["LayerVersionArn"], "CodeSize": published["Content"]["CodeSize"]}
    ]
    answer = checked(lam, "Invoke", FunctionName=function, Payload=b"{}")
    assert json.loads(answer["Payload"]) == "from the layer"

    checked(lam, "DeleteLayerVersion", LayerName=name, VersionNumber=1)
    checked(lam, "DeleteLayerVersion", LayerName=name, VersionNumber=1)  # 204 again
    code, status, _ = error_of(lam.get_layer_version, LayerName=name, VersionNumber=1)
    assert (code, status) == ("ResourceNotFoundException", 404)
    checked(lam, "UpdateFunctionConfiguration", FunctionName=function, MemorySize=256)  # a fresh environment
    assert (
        json.loads(checked(lam, "Invoke", FunctionName=function, Payload=b"{}")["Payload"])
        == "from the layer"
    )
    assert (
        checked(lam, "PublishLayerVersion", LayerName=name, Content=content)["Version"] == 2
    )  # never reused

    code, _, message = error_of(
        lam.update_function_configuration, FunctionName=function, Layers=[published["LayerVersionArn"]]
    )
    assert code == "InvalidParameterValueException" and "does not exist" in message
    removed = checked(lam, "UpdateFunctionConfiguration", FunctionName=function, Layers=[])
    assert "Layers" not in removed


def test_hostile_and_oversized_layers_are_refused(lam: Any) -> None:
    traversal = {"ZipFile": zipped({"../../etc/cron.d/x": "boom"})}
    code, status, message = error_of(lam.publish_layer_version, LayerName=unique("bad"), Content=traversal)
    assert (code, status) == ("InvalidParameterValueException", 400) and "outside the package" in message
    layer = checked(
        lam, "PublishLayerVersion", LayerName=unique("l"), Content={"ZipFile": zipped({"a": "b"})}
    )
    code, _, message = error_of(create, lam, unique("six"), Layers=[layer["LayerVersionArn"]] * 6)
    assert code == "InvalidParameterValueException"
