"""The console with an EXPRESS machine, which keeps no executions (as on AWS): a start from the
console lands on the execution's log view, read from its log events; a synchronous start answers
inline; the machine page lists its recent executions from its log."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.integration.console.test_console import type_into_editor

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

HELLO: dict[str, Any] = {
    "StartAt": "Hello",
    "States": {"Hello": {"Type": "Pass", "Parameters": {"hello.$": "$.who"}, "End": True}},
}


async def logged_count(client: httpx.AsyncClient, machine: str, count: int) -> None:
    """Wait (5 s at most) until ``machine`` has ``count`` log events stored."""
    for _ in range(100):
        answer = await client.get("/v1/execution-logs", params={"stateMachine": machine, "limit": 1000})
        if len(answer.json()["events"]) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{machine} has logged {len(answer.json()['events'])} events, not {count}")


async def test_express_start_shows_its_log_view_with_the_output(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    name = f"express-{uuid.uuid4().hex[:6]}"
    await page.goto("/console#/machines/+new")  # created in the editor: EXPRESS, logging ALL with data
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Type").select_option("EXPRESS")
    await expect(page.get_by_label("Logging")).to_have_value("ALL")
    await expect(page.get_by_label("Log input and output")).to_be_checked()
    await type_into_editor(page, "State machine definition (JSON)", json.dumps(HELLO, indent=2))
    await expect(page.locator(".validation")).to_contain_text("Valid definition")
    await page.screenshot(path=shots / "express-create.png")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator('[data-logging="ALL"]')).to_contain_text(f"/stepline/{name}")
    kept = (await client.get(f"/v1/state-machines/{name}/logging-configuration")).json()
    assert kept["level"] == "ALL" and kept["includeExecutionData"] is True, kept
    await type_into_editor(page, "Execution input (JSON)", '{"who": "express"}')

    await page.get_by_role("button", name="Start synchronously").click()  # the result inline
    await expect(page.locator(".sync-result")).to_contain_text("succeeded")
    await expect(page.locator(".sync-result pre.json")).to_contain_text('"hello": "express"')

    await page.get_by_role("button", name="Start execution").click()  # asynchronous: its log view
    await expect(page).to_have_url(re.compile(f"#/executions/arn.*express.*{name}"))
    await expect(page.locator("[data-arn]")).to_contain_text(f":express:{name}:")
    await expect(page.locator('tr[data-type="ExecutionSucceeded"]')).to_be_visible()
    await expect(page.locator(".express-status")).to_contain_text("succeeded")
    await expect(page.get_by_label("Execution input")).to_contain_text('"who": "express"')
    await expect(page.get_by_label("Execution output")).to_contain_text('"hello": "express"')
    await page.screenshot(path=shots / "express-log-view.png", full_page=True)
    await page.set_viewport_size({"width": 420, "height": 800})
    await page.screenshot(path=shots / "express-log-view-narrow.png", full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})

    arn = (await page.locator("[data-arn]").inner_text()).strip()
    logged = await client.get("/v1/execution-logs", params={"executionArn": arn})
    assert [e["message"]["type"] for e in logged.json()["events"]][-1] == "ExecutionSucceeded"
    await page.get_by_role("link", name=name).click()  # the machine page lists it from its log
    await expect(page.locator(f'.express-runs a[href*="{arn.split(":")[-1]}"]')).to_be_visible()
    await expect(page.locator(".express-runs .s-succeeded")).to_have_count(2)  # the synchronous run too
    await expect(page.locator(".express-runs")).to_contain_text("(synchronous)")
    await page.screenshot(path=shots / "express-machine.png", full_page=True)

    runs = [
        client.post(f"/v1/state-machines/{name}/sync-executions", json={"input": {"who": k}})
        for k in range(64)
    ]
    assert all(r.status_code == 200 for r in await asyncio.gather(*runs))  # 256 more events: 2 pages
    await logged_count(client, name, 264)  # written in batches after the runs answered
    await page.get_by_role("button", name="Refresh").click()
    await expect(page.locator(".express-runs tbody tr")).to_have_count(63)  # the newest 250 events
    await page.get_by_role("button", name="Read older events").click()
    await expect(page.locator(".express-runs tbody tr")).to_have_count(66)  # and the rest
    await expect(page.get_by_role("button", name="Read older events")).to_have_count(0)

    await page.get_by_label("Level").select_option("OFF")  # logging off: the log view says so
    await page.get_by_role("button", name="Save logging").click()
    await expect(page.locator('[data-logging="OFF"]').first).to_contain_text("nothing is logged")
    assert (await client.get(f"/v1/state-machines/{name}/logging-configuration")).json()["level"] == "OFF"
    await page.get_by_role("button", name="Start execution").click()
    await expect(page.locator(".express-off")).to_contain_text("logging-configuration")
    await page.screenshot(path=shots / "express-logging-off.png", full_page=True)
