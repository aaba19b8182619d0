"""State machines and a function the console's browser tests (and bench/console.py) put on a stack."""

from __future__ import annotations

from typing import Any

LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:"

GREET_CODE = (
    "def handler(event, context):\n"
    "    print('greeting', event.get('name'))\n"
    "    return {'greeting': 'Hello, ' + str(event.get('name')) + '!'}\n"
)
GREET: dict[str, Any] = {
    "name": "greet",
    "runtime": "python3.11",
    "handler": "app.handler",
    "code": {"files": {"app.py": GREET_CODE}},
}

FLAKY_CODE = (
    "def handler(event, context):\n"
    "    if event['retryCount'] == 0:\n"  # told by the state machine: no sandbox state relied on
    "        raise RuntimeError('first attempt fails')\n"
    "    return {'ok': True}\n"
)


def retried(function: str) -> dict[str, Any]:
    """One Task calling ``function`` with a Retry on any error; the function is told which attempt
    it serves (``$$.State.RetryCount``), so the first fails and the retry succeeds in any sandbox."""
    task = {
        "Type": "Task",
        "Resource": LAMBDA + function,
        "Parameters": {"retryCount.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        "End": True,
    }
    return {"StartAt": "Call", "States": {"Call": task}}


ORDERS: dict[str, Any] = {
    "Comment": "Every kind of edge and group the graph draws",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "InputPath": "$.order",
            "Parameters": {"name.$": "$.customer", "total.$": "$.total"},
            "ResultPath": "$.prepared",
            "OutputPath": "$.prepared",
            "Next": "Big order?",
        },
        "Big order?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Greet"}],
            "Default": "Both",
        },
        "Greet": {
            "Type": "Task",
            "Resource": LAMBDA + "greet",
            "ResultSelector": {"text.$": "$.greeting"},
            "ResultPath": "$.greeting",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Both"}],
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "Result": 2, "End": True}}},
            ],
            "ResultPath": "$.both",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.both",
            "ItemProcessor": {"StartAt": "Touch", "States": {"Touch": {"Type": "Pass", "End": True}}},
            "ResultPath": "$.each",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
ORDER_INPUT = {"order": {"customer": "Ada", "total": 150}}

WAIT: dict[str, Any] = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}

LONG_WAIT: dict[str, Any] = {
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 600, "End": True}},
}

JSONATA: dict[str, Any] = {
    "QueryLanguage": "JSONata",
    "StartAt": "Total",
    "States": {
        "Total": {
            "Type": "Pass",
            "Assign": {"count": "{% $count($states.input.items) %}"},
            "Output": {"sum": "{% $sum($states.input.items) %}"},
            "End": True,
        }
    },
}

FAILING: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Pass", "Next": "Refuse"},
        "Refuse": {"Type": "Fail", "Error": "OrderRefused", "Cause": "the total is over the limit"},
    },
}


REDRIVEN: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Pass", "Next": "Gate"},
        "Gate": {  # no Default: States.NoChoiceMatched until the execution is redriven
            "Type": "Choice",
            "Choices": [{"Variable": "$$.Execution.RedriveCount", "NumericGreaterThan": 0, "Next": "Done"}],
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def fan_out(items: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Map over ``items`` numbers (one Pass each): its definition and input."""
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 100,
                "ItemProcessor": {"StartAt": "Square", "States": {"Square": {"Type": "Pass", "End": True}}},
                "ResultPath": None,
                "End": True,
            }
        },
    }
    return definition, {"items": list(range(items))}


def pass_chain(length: int) -> dict[str, Any]:
    """``length`` Pass states in a row."""
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length)}
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}
