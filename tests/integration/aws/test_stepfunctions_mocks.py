"""Mock configurations through unmodified boto3: a MockConfigFile loaded on ``/v1``, an execution
started as ``stateMachineArn#TestCase`` whose mocked Tasks make no call (a function that does not
exist, a DynamoDB endpoint never configured), retries seeing successive responses, a Throw caught;
an unknown test case refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.test_stepfunctions_callbacks import history
from tests.integration.aws.test_stepfunctions_executions import call, machine, wait_done
from tests.integration.aws.test_stepfunctions_state_machines import error_of

pytestmark = pytest.mark.integration

MACHINE = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:absent",
            "ResultPath": "$.charge", "Next": "Save",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
        },
        "Save": {
            "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"id": {"S": "1"}}}, "ResultPath": "$.saved",
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Duplicate"}],
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
        "Duplicate": {"Type": "Pass", "Result": "duplicate", "End": True},
    },
}  # fmt: skip


def config(name: str) -> dict[str, Any]:
    return {
        "StateMachines": {
            name: {
                "TestCases": {
                    "HappyPath": {"Charge": "BusyThenCharged", "Save": "Saved"},
                    "Duplicate": {"Charge": "Charged", "Save": "Exists"},
                }
            }
        },
        "MockedResponses": {
            "BusyThenCharged": {
                "0-1": {"Throw": {"Error": "Busy", "Cause": "later"}},
                "2": {"Return": {"ok": 1}},
            },
            "Charged": {"0": {"Return": {"ok": 1}}},
            "Saved": {"0": {"Return": {"SdkHttpMetadata": {"HttpStatusCode": 200}}}},
            "Exists": {
                "0": {"Throw": {"Error": "DynamoDB.ConditionalCheckFailedException", "Cause": "exists"}}
            },
        },
    }


def test_an_execution_of_a_test_case_makes_no_mocked_call(sfn: Any, aws_url: str) -> None:
    arn = machine(sfn, MACHINE)
    name = arn.rsplit(":", 1)[1]
    loaded = httpx.put(f"{aws_url}/v1/mock-configuration", json=config(name))
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["stateMachines"][name] == ["Duplicate", "HappyPath"]

    happy = call(sfn, "StartExecution", stateMachineArn=f"{arn}#HappyPath", input='{"order": 1}')[
        "executionArn"
    ]
    done = wait_done(sfn, happy, seconds=60)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {
        "order": 1, "charge": {"ok": 1}, "saved": {"SdkHttpMetadata": {"HttpStatusCode": 200}},
    }  # fmt: skip
    kinds = [e["type"] for e in history(sfn, happy)]
    assert kinds.count("LambdaFunctionFailed") == 2 and kinds.count("LambdaFunctionSucceeded") == 1
    assert "TaskSucceeded" in kinds  # the putItem, mocked

    duplicate = call(sfn, "StartExecution", stateMachineArn=f"{arn}#Duplicate")["executionArn"]
    caught = wait_done(sfn, duplicate, seconds=60)
    assert (caught["status"], json.loads(caught["output"])) == ("SUCCEEDED", "duplicate")

    plain = call(sfn, "StartExecution", stateMachineArn=arn)["executionArn"]  # no test case: real calls
    assert wait_done(sfn, plain, seconds=60)["status"] == "FAILED"

    with pytest.raises(ClientError) as unknown:
        sfn.start_execution(stateMachineArn=f"{arn}#Nope")
    code, message = error_of(unknown)
    assert code == "ValidationException" and "'Nope'" in message


def test_a_document_that_is_not_a_mock_configuration_is_refused(aws_url: str) -> None:
    bad = {"StateMachines": {"m": {"TestCases": {"c": {"S": "Missing"}}}}, "MockedResponses": {}}
    refused = httpx.put(f"{aws_url}/v1/mock-configuration", json=bad)
    assert refused.status_code == 400
    assert "/StateMachines/m/TestCases/c/S" in refused.text and "Missing" in refused.text
