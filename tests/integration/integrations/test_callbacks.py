"""The callback pattern over a service integration, as most real machines use it: SQS SendMessage
with ``$$.Task.Token`` in the message, a consumer reading the queue and answering SendTaskSuccess."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.integration.helpers import all_history, create_machine, start, unique, wait_until_done
from tests.integration.integrations.conftest import aws

pytestmark = pytest.mark.usefixtures("integrations_worker")


async def test_a_token_sent_through_sqs_resumes_the_execution(api: httpx.AsyncClient, moto_url: str) -> None:
    body = {"url": moto_url, "accessKeyId": "moto", "secretAccessKey": "moto"}
    assert (await api.put("/v1/service-endpoints/sqs", json=body)).status_code == 200
    queue_url = aws(moto_url, "sqs").create_queue(QueueName=unique("approvals"))["QueueUrl"]
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                },
                "ResultPath": "$.approval",
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"order": 42}))["executionId"]
    messages: list[dict[str, str]] = []
    for _ in range(100):
        messages = aws(moto_url, "sqs").receive_message(QueueUrl=queue_url).get("Messages", [])
        if messages:
            break
        await asyncio.sleep(0.1)
    [message] = messages
    sent = json.loads(message["Body"])
    assert sent["order"] == 42
    answer = await api.post("/v1/task-tokens/success", json={"taskToken": sent["token"], "output": {"ok": 1}})
    assert answer.status_code == 204, answer.text
    done = await wait_until_done(api, execution)
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"order": 42, "approval": {"ok": 1}}
    events = await all_history(api, execution)
    types = [e["type"] for e in events]
    assert types[types.index("TaskScheduled") : types.index("TaskSucceeded") + 1] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    [scheduled] = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("sqs", "sendMessage.waitForTaskToken")
