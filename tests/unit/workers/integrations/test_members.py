"""Member names between Step Functions' PascalCase and botocore's models, by the operation's shapes."""

from __future__ import annotations

import botocore.session

from workers.integrations.members import to_model, to_pascal

MODELS = botocore.session.get_session()


def shapes(service: str, operation: str) -> tuple[object, object]:
    model = MODELS.get_service_model(service).operation_model(operation)
    return model.input_shape, model.output_shape


def test_camel_case_models_take_pascal_case_members_and_answer_in_them() -> None:
    request, answer = shapes("stepfunctions", "StartExecution")
    assert to_model(request, {"StateMachineArn": "arn", "Input": "{}"}) == {
        "stateMachineArn": "arn",
        "input": "{}",
    }
    assert to_model(request, {"stateMachineArn": "arn"}) == {"stateMachineArn": "arn"}
    assert to_pascal(answer, {"executionArn": "e", "startDate": 1, "ResponseMetadata": {}}) == {
        "ExecutionArn": "e",
        "StartDate": 1,
        "ResponseMetadata": {},
    }


def test_lists_of_structures_are_renamed_but_map_keys_and_documents_are_not() -> None:
    _, answer = shapes("apigateway", "GetRestApis")
    listed = {"items": [{"id": "a", "name": "n", "tags": {"team": "x"}}]}
    assert to_pascal(answer, listed) == {"Items": [{"Id": "a", "Name": "n", "Tags": {"team": "x"}}]}
    request, answer = shapes("dynamodb", "GetItem")
    key = {"TableName": "t", "Key": {"id": {"S": "a"}, "sort": {"N": "1"}}}
    assert to_model(request, key) == key
    assert to_pascal(answer, {"Item": {"lower": {"S": "x"}}}) == {"Item": {"lower": {"S": "x"}}}
