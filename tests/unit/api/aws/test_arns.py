"""Step Functions ARNs read back as Stepline names (``api.aws.arns``), and built in one place."""

from __future__ import annotations

import pytest

from api.aws import arns
from api.aws.errors import AwsError
from statemachine import execution_arn, state_machine_arn, version_arn


def test_what_is_built_reads_back() -> None:
    assert arns.state_machine(state_machine_arn("orders", "eu-west-1")) == arns.MachineRef("orders")
    assert arns.state_machine(version_arn("orders", 3, "us-east-1")) == arns.MachineRef("orders", 3)
    execution = arns.execution(execution_arn("orders", "run-1", "us-east-1"))
    assert (execution.machine, execution.name, execution.id) == ("orders", "run-1", "orders:run-1")


def test_region_and_account_of_a_request_are_not_checked() -> None:
    assert arns.state_machine("arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m").name == "m"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("not_a_valid_arn", "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"),
        (
            "arn:aws:states:us-east-1:000000000000:execution:m:e",
            "Invalid Arn: 'Resource type not valid in this context: execution'",
        ),
        (
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            "Invalid Arn: 'Unable to parse ARN: arn:aws:lambda:us-east-1:000000000000:function:f'",
        ),
        (
            "arn:aws:states:us-east-1:000000000000:stateMachine:",
            "Invalid Arn: 'Unable to parse ARN: arn:aws:states:us-east-1:000000000000:stateMachine:'",
        ),
        (
            "arn:aws:states:us-east-1:000000000000:stateMachine:m:1:2",
            "Invalid Arn: 'Unable to parse ARN: arn:aws:states:us-east-1:000000000000:stateMachine:m:1:2'",
        ),
    ],
    ids=["prefix", "wrong-resource", "wrong-service", "no-name", "too-many-parts"],
)
def test_invalid_state_machine_arns(arn: str, message: str) -> None:
    with pytest.raises(AwsError) as caught:
        arns.state_machine(arn)
    assert (caught.value.code, caught.value.message) == ("InvalidArn", message)


def test_an_alias_arn_names_the_alias() -> None:
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:m:prod"
    assert arns.state_machine(arn) == arns.MachineRef("m", alias="prod")
    assert arns.alias(arn).alias == "prod"
    with pytest.raises(AwsError) as caught:
        arns.unqualified_state_machine(arn)
    assert caught.value.code == "InvalidArn"
    with pytest.raises(AwsError) as not_alias:
        arns.alias(version_arn("m", 2, "us-east-1"))
    assert not_alias.value.code == "InvalidArn"


def test_operations_on_the_machine_itself_refuse_a_version_arn() -> None:
    with pytest.raises(AwsError) as caught:
        arns.unqualified_state_machine(version_arn("m", 2, "us-east-1"))
    assert caught.value.code == "InvalidArn"


def test_execution_arns_need_machine_and_name() -> None:
    with pytest.raises(AwsError) as caught:
        arns.execution("arn:aws:states:us-east-1:000000000000:execution:m")
    assert caught.value.code == "InvalidArn"
