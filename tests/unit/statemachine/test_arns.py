"""ARNs are built and read in one module, ``statemachine.arns``, with one default account."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from statemachine import arns
from statemachine.arns import (
    DEFAULT_ACCOUNT,
    EXECUTION_ROLE_ARN,
    ArnError,
    access_point_arn,
    access_point_id_of,
    execution_arn,
    file_system_arn,
    function_arn,
    function_reference,
    map_run_arn,
    parse_function_ref,
    region_of,
    state_machine_arn,
    states_resource,
    version_arn,
)

ROOT = Path(__file__).resolve().parents[3]
LAYERS = ("statemachine", "foundation", "workers", "api", "shell")


def test_every_builder_uses_the_one_default_account() -> None:
    built = [
        state_machine_arn("m", "eu-west-1"),
        version_arn("m", 3, "eu-west-1"),
        execution_arn("m", "e", "eu-west-1"),
        function_arn("f", "2", "eu-west-1"),
        access_point_arn("fsap-0123456789abcdef0", "eu-west-1"),
        file_system_arn("shared", "eu-west-1"),
    ]
    assert {arn.split(":")[4] for arn in built} == {DEFAULT_ACCOUNT} == {"000000000000"}
    assert {arn.split(":")[3] for arn in built} == {"eu-west-1"}
    assert f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/StepFunctionsRole" == EXECUTION_ROLE_ARN


def test_shapes() -> None:
    assert state_machine_arn("m") == "arn:aws:states:us-east-1:000000000000:stateMachine:m"
    assert version_arn("m", 2) == "arn:aws:states:us-east-1:000000000000:stateMachine:m:2"
    assert execution_arn("m", "e", account="111111111111", express=True) == (
        "arn:aws:states:us-east-1:111111111111:express:m:e"
    )
    assert function_arn("f") == "arn:aws:lambda:us-east-1:000000000000:function:f"
    run = map_run_arn(execution_arn("m", "e"), "Map", "u-1")
    assert run == "arn:aws:states:us-east-1:000000000000:mapRun:m:e/Map:u-1"


def test_what_is_built_reads_back() -> None:
    assert states_resource(version_arn("m", 4, "ap-south-1"), "stateMachine") == ["m", "4"]
    assert states_resource(execution_arn("m", "e"), "execution") == ["m", "e"]
    assert parse_function_ref(function_arn("f", "7")) == ("f", "7")
    assert function_reference(function_arn("f", "$LATEST")) == ("f", "$LATEST")
    assert access_point_id_of(access_point_arn("fsap-0123456789abcdef0")) == "fsap-0123456789abcdef0"
    assert region_of(function_arn("f", region="eu-central-1")) == "eu-central-1"
    assert region_of("arn:aws:states:::lambda:invoke") == "us-east-1"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("stateMachine:m", "Invalid Arn: 'Invalid ARN prefix: stateMachine:m'"),
        ("arn:aws:lambda:us-east-1:1:function:f", "Invalid Arn: 'Unable to parse ARN: arn:aws:lambda:"),
        ("arn:aws:states:us-east-1:1:execution:m:e", "Resource type not valid in this context: execution"),
        ("arn:aws:states:us-east-1:1:stateMachine:", "Unable to parse ARN"),
    ],
)
def test_unreadable_state_machine_arns(arn: str, message: str) -> None:
    with pytest.raises(ArnError, match=r"^Invalid Arn: ") as raised:
        states_resource(arn, "stateMachine")
    assert message in str(raised.value)


def test_function_references() -> None:
    assert parse_function_ref("f:3") == ("f", "3")
    assert function_reference("000000000000:function:f") == ("f", None)
    assert function_reference("arn:aws:lambda:us-east-1:000000000000:function:f:live") == ("f", "live")
    assert function_reference("not a name!") is None
    for bad in ("arn:aws:states:us-east-1:1:stateMachine:m", ":3"):
        with pytest.raises(ArnError):
            parse_function_ref(bad)
    assert issubclass(ArnError, ValueError)


def arn_builders(source: str) -> list[int]:
    """Lines of f-strings that spell an ARN (``f"arn:...{x}..."``): building one outside ``arns``."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.JoinedStr)
        and any(isinstance(part, ast.Constant) and "arn:" in str(part.value) for part in node.values)
    ]


def test_the_check_sees_a_builder() -> None:
    assert arn_builders('x = 1\ny = f"arn:aws:states:{r}:1:stateMachine:{n}"\n') == [2]
    assert arn_builders('y = "arn:aws:states:::lambda:invoke"\n') == []


def test_no_other_module_builds_an_arn() -> None:
    this = Path(arns.__file__).resolve()
    files = [p for layer in LAYERS for p in (ROOT / layer).rglob("*.py") if p.resolve() != this]
    assert len(files) > 100
    found = {str(p.relative_to(ROOT)): lines for p in files if (lines := arn_builders(p.read_text()))}
    assert found == {}, "build ARNs with statemachine.arns"
