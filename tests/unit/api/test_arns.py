"""Every ARN Stepline shows uses one region, ``Settings.region`` (``us-east-1`` unless configured)."""

from __future__ import annotations

from pathlib import Path

from foundation.settings import Settings
from statemachine import DEFAULT_ACCOUNT, EXECUTION_ROLE_ARN, execution_arn, function_arn, state_machine_arn
from workers.contracts import ExecutionInput
from workers.functions.config import FunctionConfig


def region_of(arn: str) -> str:
    return arn.split(":")[3]


def test_default_region_is_shared_by_states_and_lambda_arns() -> None:
    region = Settings().region
    assert region == "us-east-1"
    arns = [state_machine_arn("m", region), execution_arn("m", "e", region), function_arn("f", region=region)]
    assert {region_of(a) for a in arns} == {"us-east-1"}
    assert {a.split(":")[4] for a in arns} == {DEFAULT_ACCOUNT}
    assert region_of(function_arn("f")) == region  # the functions' default is the settings' default
    assert ExecutionInput("i", "e", "m", 1, "{}", "{}", "t").region == region


def test_a_configured_region_reaches_every_arn() -> None:
    region = Settings(region="eu-west-1").region
    assert state_machine_arn("m", region) == f"arn:aws:states:eu-west-1:{DEFAULT_ACCOUNT}:stateMachine:m"
    assert execution_arn("m", "e", region) == f"arn:aws:states:eu-west-1:{DEFAULT_ACCOUNT}:execution:m:e"
    config = FunctionConfig(name="f", runtime="python3.11", handler="h.h", code_dir=Path("/x"), region=region)
    assert config.arn == f"arn:aws:lambda:eu-west-1:{DEFAULT_ACCOUNT}:function:f"
    assert function_arn("f", "2", region) == f"arn:aws:lambda:eu-west-1:{DEFAULT_ACCOUNT}:function:f:2"


def test_role_arn_is_an_iam_arn_without_region() -> None:
    assert EXECUTION_ROLE_ARN.startswith(f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/")
