"""Target input: Input, InputPath and EventBridge's input transformer (the documentation's examples)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.events.transform import InvalidInputTransformer, TargetInput, check, render

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "time": "2015-11-11T21:29:54Z",
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3, "tags": ["a", "b"]},
}


def _render(settings: TargetInput) -> str:
    check(settings)
    return render(settings, EVENT, rule_name="r", rule_arn="arn:aws:events:us-east-1:000000000000:rule/r")


def test_the_whole_event_by_default() -> None:
    assert json.loads(_render(TargetInput())) == EVENT


def test_constant_input_and_input_path() -> None:
    assert _render(TargetInput(input='{"fixed": 1}')) == '{"fixed": 1}'
    assert json.loads(_render(TargetInput(input_path="$.detail.tags"))) == ["a", "b"]
    assert _render(TargetInput(input_path="$.detail.missing")) == "null"


def test_a_json_template_takes_values_as_json_and_as_text_inside_strings() -> None:
    settings = TargetInput(
        paths_map={"instance": "$.detail.instance-id", "count": "$.detail.count", "tags": "$.detail.tags"},
        template='{"instance": <instance>, "n": <count>, "tags": <tags>, "msg": "<instance> has <count>"}',
    )
    assert json.loads(_render(settings)) == {
        "instance": "i-0123456789",
        "n": 3,
        "tags": ["a", "b"],
        "msg": "i-0123456789 has 3",
    }


def test_a_string_template_and_reserved_variables() -> None:
    settings = TargetInput(
        paths_map={"state": "$.detail.state"},
        template='"<aws.events.rule-name> saw <state> at <aws.events.event.ingestion-time>"',
    )
    assert json.loads(_render(settings)) == "r saw RUNNING at 2015-11-11T21:29:54Z"
    whole = TargetInput(paths_map={}, template='{"event": <aws.events.event>}')
    assert json.loads(_render(whole)) == {"event": EVENT}


def test_quotes_in_values_stay_valid_json() -> None:
    event = {"detail": {"text": 'say "hi"'}}
    settings = TargetInput(paths_map={"t": "$.detail.text"}, template='{"m": "<t>!"}')
    rendered = render(settings, event, rule_name="r", rule_arn="a")
    assert json.loads(rendered) == {"m": 'say "hi"!'}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (TargetInput(input="{}", input_path="$.a"), "Only one of"),
        (TargetInput(input="not json"), "valid JSON"),
        (TargetInput(input_path="detail"), "InputPath"),
        (TargetInput(paths_map={"x": "$.[bad"}, template="<x>"), "InputPathsMap.x"),
        (TargetInput(paths_map={"aws.x": "$.a"}, template="<aws.x>"), "not a valid name"),
        (TargetInput(paths_map={}, template='{"a": <typo>}'), "<typo>"),
        (TargetInput(paths_map={f"k{i}": "$.a" for i in range(101)}, template="{}"), "more than 100"),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: TargetInput, message: str) -> None:
    with pytest.raises(InvalidInputTransformer) as raised:
        check(settings)
    assert message in str(raised.value)
