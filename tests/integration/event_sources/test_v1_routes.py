"""``/v1/event-source-mappings``: the same service as Lambda's operations, problem+json on bad input."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.integration]
MQ = "arn:aws:mq:us-east-1:123456789012:broker:rabbitmq"


async def test_bad_source_and_unknown_mapping_are_4xx_naming_what_is_wrong(api: httpx.AsyncClient) -> None:
    bad = await api.post(
        "/v1/event-source-mappings",
        json={"eventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "functionName": "f"},
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "/eventSourceArn" in bad.text
    huge = await api.post(
        "/v1/event-source-mappings",
        json={"eventSourceArn": MQ, "queues": ["q"], "functionName": "f", "batchSize": 10001},
    )
    assert huge.status_code in (400, 422)
    assert "batchSize" in huge.text
    missing = await api.get("/v1/event-source-mappings/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    listed = await api.get("/v1/event-source-mappings")
    assert listed.status_code == 200
    assert isinstance(listed.json()["eventSourceMappings"], list)
