"""Cost estimates of executions in Step Functions' public price model."""

from __future__ import annotations

import httpx

from tests.integration.helpers import create_machine, start, wait_until_done

FLAKY = "arn:aws:lambda:us-east-1:123456789012:function:throttle"


async def test_standard_counts_states_entered_and_retries(api: httpx.AsyncClient, worker: None) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": FLAKY,
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1, "BackoffRate": 1}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
                "Next": "Z",
            },
            "Z": {"Type": "Succeed"},
        },
    }
    machine = await create_machine(api, definition)
    execution_id = (await start(api, machine, {}))["executionId"]
    await wait_until_done(api, execution_id)
    cost = (await api.get(f"/v1/executions/{execution_id}/cost")).json()
    (item,) = cost["items"]
    assert item["name"] == "stateTransitions" and item["unitPrice"] == 0.000025
    assert item["quantity"] == 3 + 2  # A, T, Z entered; T retried twice
    assert cost["total"] == item["amount"] == round(5 * 0.000025, 10)
    assert cost["estimate"] is True and any("free tier" in n for n in cost["notes"])
    assert (await api.get("/v1/executions/nope:none/cost")).status_code == 404


async def test_an_async_express_execution_is_not_kept_to_cost(api: httpx.AsyncClient) -> None:
    """Asynchronous Express executions run from a queue and are kept nowhere (their log events are
    what remains: docs/executions.md), so there is no execution to estimate."""
    machine = await create_machine(
        api, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, type="EXPRESS"
    )
    execution_arn = (await start(api, machine, {}))["executionArn"]
    assert ":express:" in execution_arn
    assert (await api.get(f"/v1/executions/{execution_arn}/cost")).status_code == 404
