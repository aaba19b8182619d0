"""TestState's programs: a lone state wrapped (its transitions made Succeed states), a state of a
whole machine found by name, and the machine that does only a state's work."""

from __future__ import annotations

import pytest

from statemachine import DefinitionError, find_state, ir, load_program
from statemachine.test_state import TEST_STATE, WORK, machine_under_test, needs_mock, state_spec, work_machine


def test_a_lone_state_is_wrapped_with_its_targets() -> None:
    state = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Next": "A",
             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}]}  # fmt: skip
    machine, name = machine_under_test(state, None)
    assert name == TEST_STATE
    assert machine == {
        "StartAt": TEST_STATE,
        "States": {TEST_STATE: state, "A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}},
    }


def test_a_state_of_a_whole_machine_is_found_in_branches() -> None:
    inner = {"Type": "Pass", "End": True}
    machine = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True,
               "Branches": [{"StartAt": "Inner", "States": {"Inner": inner}}]}}}  # fmt: skip
    assert machine_under_test(machine, "P") == (machine, "P")
    assert machine_under_test(machine, None)[1] == "P"  # StartAt when no name is given
    assert state_spec(machine, "Inner") == inner
    with pytest.raises(DefinitionError):
        machine_under_test(machine, "Inner")  # only top-level states are tested
    with pytest.raises(DefinitionError):
        machine_under_test({"Type": "Pass", "End": True}, "X")


def test_the_work_machine_keeps_only_the_work() -> None:
    spec = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "InputPath": "$.a",
            "Parameters": {"x": 1}, "ResultPath": "$.r", "Retry": [{"ErrorEquals": ["E"]}], "Next": "N",
            "TimeoutSeconds": 5}  # fmt: skip
    work = work_machine(spec, "JSONPath").block.states[WORK]
    assert isinstance(work, ir.Task)
    assert (work.parameters, work.retry, work.next, work.timeout_seconds) == (None, (), None, 5)


@pytest.mark.parametrize(
    ("spec", "needs"),
    [
        ({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True}, False),
        ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "End": True}, True),
        ({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "End": True}, True),
        ({"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:a", "End": True}, True),
        (
            {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}],
            },
            True,
        ),
    ],
)
def test_what_needs_a_mock(spec: dict[str, object], needs: bool) -> None:
    machine, name = machine_under_test(spec, None)
    state = find_state(load_program(machine).block, name)
    assert state is not None and (needs_mock(state) is not None) == needs
