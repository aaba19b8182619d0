"""The web console in a real browser (Debian's Chromium) against a whole Stepline: each test drives
the pages as a user would and checks what the API then holds. Screenshots go to the folder printed
at the start of the session."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.integration.console import scenario

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

BROKEN: dict[str, Any] = {
    "StartAt": "First",
    "States": {"First": {"Type": "Pass", "Next": "Nowhere"}, "Last": {"Type": "Succeed"}},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def create_machine(client: httpx.AsyncClient, prefix: str, definition: dict[str, Any]) -> str:
    name = unique(prefix)
    created = await client.post("/v1/state-machines", json={"name": name, "definition": definition})
    assert created.status_code == 201, created.text
    return name


async def start(client: httpx.AsyncClient, machine: str, value: Any = None) -> str:
    started = await client.post(f"/v1/state-machines/{machine}/executions", json={"input": value or {}})
    assert started.status_code == 201, started.text
    return str(started.json()["executionId"])


async def type_into_editor(page: Page, label: str, text: str) -> None:
    """Replace the text of the CodeMirror editor named ``label`` as typed input."""
    editor = page.locator(f'.cm-content[aria-label="{label}"]')
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)


async def test_editor_shows_diagnostics_at_their_state_then_creates(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    name = unique("edited")
    await page.goto("/console#/machines/+new")
    await page.get_by_label("Name").fill(name)
    await type_into_editor(page, "State machine definition (JSON)", json.dumps(BROKEN, indent=2))
    diagnostics = page.locator(".diagnostics")
    await expect(diagnostics).to_contain_text("/States/First/Next")
    await expect(diagnostics).to_contain_text("Nowhere")
    # at its state: on the graph (a problem mark on First) and in the editor (a lint mark on its line)
    await expect(page.locator('[data-state="First"].has-problem')).to_be_visible()
    await expect(page.locator(".cm-lintRange-error").first).to_contain_text('"Next": "Nowhere"')
    await page.screenshot(path=shots / "editor-invalid.png", full_page=True)

    fixed = {**BROKEN, "States": {**BROKEN["States"], "First": {"Type": "Pass", "Next": "Last"}}}
    await type_into_editor(page, "State machine definition (JSON)", json.dumps(fixed, indent=2))
    await expect(page.locator(".validation")).to_contain_text("Valid definition")
    await expect(page.locator('[data-state="First"].has-problem')).to_have_count(0)
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("h1")).to_contain_text(name)
    await expect(page.locator('[data-state="Last"]')).to_be_visible()
    await page.screenshot(path=shots / "machine.png", full_page=True)
    stored = await client.get(f"/v1/state-machines/{name}")
    assert stored.json()["definition"] == fixed

    await page.get_by_role("link", name="Edit").click()  # saving again publishes version 2
    updated = {**fixed, "Comment": "second"}
    await type_into_editor(page, "State machine definition (JSON)", json.dumps(updated))
    await expect(page.locator(".validation")).to_contain_text("Valid definition")
    await page.get_by_role("button", name="Save new version").click()
    await expect(page.locator("h1")).to_contain_text("version 2 of 2")
    assert (await client.get(f"/v1/state-machines/{name}")).json()["definition"] == updated


async def test_start_form_refuses_bad_json_then_the_wait_turns_succeeded_live(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    machine = await create_machine(client, "wait", scenario.WAIT)
    await page.goto(f"/console#/machines/{machine}")
    await type_into_editor(page, "Execution input (JSON)", '{"x": 1,')
    await page.get_by_role("button", name="Start execution").click()
    await expect(page.get_by_role("alert")).to_contain_text("The input is not valid JSON")
    listed = await client.get("/v1/executions", params={"stateMachine": machine})
    assert listed.json()["executions"] == []  # nothing was sent

    await type_into_editor(page, "Execution input (JSON)", '{"x": 1}')
    await page.get_by_role("button", name="Start execution").click()
    await expect(page.locator('[data-state="Wait"]')).to_have_attribute("data-status", "running")
    await page.evaluate("window.sameDocument = true")
    await page.screenshot(path=shots / "execution-running.png", full_page=True)
    await expect(page.locator('[data-state="Wait"]')).to_have_attribute(
        "data-status", "succeeded", timeout=20_000
    )
    await expect(page.locator('[data-state="Done"]')).to_have_attribute("data-status", "succeeded")
    assert await page.evaluate("window.sameDocument") is True  # no reload
    await expect(page.locator(".execution")).to_have_attribute("data-status", "SUCCEEDED")
    await page.screenshot(path=shots / "execution-succeeded.png", full_page=True)
    (execution,) = (await client.get("/v1/executions", params={"stateMachine": machine})).json()["executions"]
    described = await client.get(f"/v1/executions/{execution['executionId']}")
    assert described.json()["input"] == {"x": 1}


async def test_failed_execution_shows_its_error_and_the_failed_state_in_red(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    machine = await create_machine(client, "failing", scenario.FAILING)
    execution = await start(client, machine)
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator(".execution")).to_have_attribute("data-status", "FAILED")
    await expect(page.locator(".failure")).to_contain_text("OrderRefused")
    await expect(page.locator(".failure")).to_contain_text("the total is over the limit")
    refuse = page.locator('[data-state="Refuse"]')
    await expect(refuse).to_have_attribute("data-status", "failed")
    await expect(refuse).to_contain_text("failed")  # the status word, not colour alone
    fill = await refuse.locator(".box").evaluate("box => getComputedStyle(box).fill")
    assert fill == "rgb(208, 52, 44)"  # --st-failed
    await expect(page.locator('[data-state="Check"]')).to_have_attribute("data-status", "succeeded")
    await page.screenshot(path=shots / "execution-failed.png", full_page=True)


async def test_machine_aliases_shown_and_a_failed_execution_redriven(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    machine = await create_machine(client, "redriven", scenario.REDRIVEN)
    published = await client.post(
        "/",
        json={"stateMachineArn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{machine}"},
        headers={
            "X-Amz-Target": "AWSStepFunctions.PublishStateMachineVersion",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert published.status_code == 200, published.text
    routing = [{"version": 1, "weight": 100}]
    alias = {"name": "prod", "description": "what production runs", "routing": routing}
    created = await client.post(f"/v1/state-machines/{machine}/aliases", json=alias)
    assert created.status_code == 201, created.text
    await page.goto(f"/console#/machines/{machine}")
    shown = page.locator('[data-alias="prod"]')
    await expect(shown).to_contain_text("version 1 100%")
    await expect(shown).to_contain_text("what production runs")
    await page.screenshot(path=shots / "machine-aliases.png", full_page=True)

    execution = await start(client, machine)
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator(".execution")).to_have_attribute("data-status", "FAILED")
    await expect(page.locator('[data-state="Gate"]')).to_have_attribute("data-status", "failed")
    await expect(page.locator('[data-state="Done"]')).not_to_have_attribute("data-status", "succeeded")
    await page.get_by_role("button", name="Redrive").click()
    await expect(page.locator(".execution")).to_have_attribute("data-status", "SUCCEEDED")
    await expect(page.locator('[data-state="Done"]')).to_have_attribute("data-status", "succeeded")
    await expect(page.locator('[data-state="Gate"]')).to_have_attribute("data-status", "retried")
    await expect(page.locator(".facts")).to_contain_text("1 time")
    await expect(page.get_by_role("button", name="Redrive")).to_have_count(0)
    await page.screenshot(path=shots / "execution-redriven.png", full_page=True)


async def test_step_through_shows_each_stage_of_a_state(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    machine = await create_machine(client, "orders", scenario.ORDERS)
    execution = await start(client, machine, scenario.ORDER_INPUT)
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator(".execution")).to_have_attribute("data-status", "SUCCEEDED")
    await page.locator('[data-state="Big order?"]').focus()
    await page.keyboard.press("ArrowUp")  # the graph is one Tab stop; arrows move between its states
    await expect(page.locator('[data-state="Prepare"]')).to_be_focused()
    await expect(page.locator('[data-state="Prepare"]')).to_have_attribute("tabindex", "0")
    await expect(page.locator('[data-state="Big order?"]')).to_have_attribute("tabindex", "-1")
    await page.locator(".graph").screenshot(path=shots / "graph-focus.png")
    await page.keyboard.press("Enter")
    stages = page.locator(".stages")
    order = {"customer": "Ada", "total": 150}
    prepared = {"name": "Ada", "total": 150}

    async def stage(name: str) -> Any:
        return json.loads(await stages.locator(f'[data-stage="{name}"] pre').inner_text())

    await expect(stages.locator('[data-stage="output"]')).to_be_visible()
    assert await stage("input") == scenario.ORDER_INPUT
    assert await stage("afterInputPath") == order
    assert await stage("afterParameters") == prepared
    assert await stage("afterResultPath") == {
        **scenario.ORDER_INPUT,
        "prepared": prepared,
    }  # on the raw input
    assert await stage("output") == prepared
    await page.screenshot(path=shots / "step-through.png", full_page=True)

    jsonata = await create_machine(client, "jsonata", scenario.JSONATA)  # variables assigned, Output
    execution = await start(client, jsonata, {"items": [1, 2, 3]})
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator(".execution")).to_have_attribute("data-status", "SUCCEEDED")
    await page.locator('[data-state="Total"]').click()
    await expect(stages.locator('[data-stage="output"]')).to_contain_text('"sum": 6')
    assert await stage("output") == {"sum": 6}
    await expect(page.locator(".steps")).to_contain_text('"count": 3')


async def test_map_of_2000_items_pages_its_iterations(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    definition, items = scenario.fan_out(2000)
    machine = await create_machine(client, "fan", definition)
    execution = await start(client, machine, items)
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator(".execution")).to_have_attribute("data-status", "SUCCEEDED", timeout=60_000)
    # its items ran in chunks, so their states' events are not in this history: no "not reached"
    await expect(page.locator('[data-state="Square"]')).to_have_attribute("data-status", "see iterations")
    await page.locator('[data-state="Fan"]').click()
    iterations = page.locator(".iterations")
    await expect(iterations.locator("h3").first).to_contain_text("2000")
    buttons = iterations.locator(".iteration-list button")
    await expect(buttons).to_have_count(50)
    await expect(buttons.first).to_have_text("#0 succeeded")
    await iterations.get_by_role("button", name="Next →").click()
    await expect(buttons.first).to_have_text("#50 succeeded")
    await expect(iterations.locator(".pager")).to_contain_text("Page 2")
    await buttons.nth(3).click()
    await expect(iterations.locator(".iteration h4")).to_contain_text("#53: succeeded")
    await page.screenshot(path=shots / "map-iterations.png", full_page=True)


async def test_function_test_invoke_shows_result_and_report_line(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    name = unique("greet")
    created = await client.post("/v1/functions", json={**scenario.GREET, "name": name})
    assert created.status_code == 201, created.text
    await page.goto(f"/console#/functions/{name}")
    await type_into_editor(page, "Test event (JSON)", '{"name": "Ada"}')
    await page.get_by_role("button", name="Invoke").click()
    result = page.locator(".invoke-result")
    await expect(result).to_contain_text("Hello, Ada!", timeout=30_000)
    await expect(result.locator(".report")).to_contain_text("REPORT RequestId:")
    await expect(result.locator(".report")).to_contain_text("Billed Duration")
    await expect(page.locator(".logs.tail")).to_contain_text("greeting Ada", timeout=15_000)  # the live tail
    await expect(page.get_by_role("heading", name="Logs (live)")).to_be_visible()  # streamed, not polled
    await expect(page.locator(".totals")).to_contain_text("1 invocation,", timeout=15_000)  # charts refreshed
    await expect(page.locator(".chart").first).to_contain_text("Invocations: max 1")
    await expect(page.locator(".in-use")).to_have_attribute("data-in-use", "0")
    await page.screenshot(path=shots / "function.png", full_page=True)

    slow = unique("slow")  # concurrency in use: 1 while an invocation runs, then 0
    files = {"app.py": "import time\ndef handler(event, context):\n    time.sleep(4)\n    return 1\n"}
    created = await client.post(
        "/v1/functions", json={**scenario.GREET, "name": slow, "code": {"files": files}}
    )
    assert created.status_code == 201, created.text
    await page.goto(f"/console#/functions/{slow}")
    await expect(page.locator(".in-use")).to_have_attribute("data-in-use", "0")
    running = asyncio.create_task(client.post(f"/v1/functions/{slow}/invocations", json={}))
    await expect(page.locator(".in-use")).to_have_attribute("data-in-use", "1", timeout=10_000)
    await page.locator(".concurrency").screenshot(path=shots / "function-in-use.png")
    assert (await running).status_code == 200
    await expect(page.locator(".in-use")).to_have_attribute("data-in-use", "0", timeout=5_000)

    flaky = unique("flaky")  # a Task whose first attempt fails and whose retry succeeds
    files = {"app.py": scenario.FLAKY_CODE}
    created = await client.post(
        "/v1/functions", json={**scenario.GREET, "name": flaky, "code": {"files": files}}
    )
    assert created.status_code == 201, created.text
    machine = await create_machine(client, "retried", scenario.retried(flaky))
    execution = await start(client, machine)
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator(".execution")).to_have_attribute("data-status", "SUCCEEDED", timeout=30_000)
    await expect(page.locator('[data-state="Call"]')).to_have_attribute("data-status", "retried")
    await page.locator('[data-state="Call"]').click()
    await expect(page.locator(".attempts li")).to_have_count(1)
    await expect(page.locator(".attempts")).to_contain_text("first attempt fails")
    await page.screenshot(path=shots / "execution-retried.png", full_page=True)


async def test_stop_button_stops_a_running_execution(
    page: Page, client: httpx.AsyncClient, shots: Path
) -> None:
    machine = await create_machine(client, "long", scenario.LONG_WAIT)
    execution = await start(client, machine)
    await page.goto(f"/console#/executions/{execution}")
    await expect(page.locator('[data-state="Nap"]')).to_have_attribute("data-status", "running")
    await page.get_by_label("Error").fill("Operator.Stop")
    await page.get_by_label("Cause").fill("stopped from the console")
    await page.get_by_role("button", name="Stop execution").click()
    await expect(page.locator(".execution")).to_have_attribute("data-status", "ABORTED")
    await expect(page.locator('[data-state="Nap"]')).to_have_attribute("data-status", "cancelled")
    await expect(page.locator(".failure")).to_contain_text("Operator.Stop")
    described = (await client.get(f"/v1/executions/{execution}")).json()
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED", "Operator.Stop", "stopped from the console",
    )  # fmt: skip
    await page.screenshot(path=shots / "execution-stopped.png", full_page=True)


async def test_lists_and_a_narrow_window(page: Page, client: httpx.AsyncClient, shots: Path) -> None:
    machine = await create_machine(client, "listed", scenario.WAIT)
    proxy, files = unique("orders-db"), unique("shared")
    for path, body in (
        (
            "/v1/db-proxies",
            {"name": proxy, "targetUrl": "postgresql://postgres@127.0.0.1:5432/postgres", "poolSize": 4},
        ),
        ("/v1/file-systems", {"name": files}),
        (f"/v1/file-systems/{files}/access-points", {"name": "app", "posixUser": {"uid": 1000, "gid": 1000}}),
    ):
        assert (await client.post(path, json=body)).status_code == 201, path
    await page.goto("/")  # redirected to /console
    assert page.url.endswith("/console")
    await expect(page.get_by_role("link", name=machine)).to_be_visible()
    await page.screenshot(path=shots / "machines.png", full_page=True)
    sections = page.get_by_role("navigation", name="Sections")
    for section, label in (
        ("executions", "Executions"),
        ("functions", "Functions"),
        ("resources", "DB proxies"),
    ):
        await sections.get_by_role("link").filter(has_text=label).click()
        await expect(page.locator("h1").first).to_be_visible()
        if section == "resources":
            await expect(page.get_by_role("row").filter(has_text=proxy)).to_contain_text("4")  # its pool size
            # the live status read: no function uses the proxy, so no process runs its pool yet
            await expect(page.locator(f'tr[data-proxy="{proxy}"]')).to_contain_text("none running yet")
            await expect(page.get_by_role("heading", name=files, level=3)).to_be_visible()
            await expect(page.get_by_role("row").filter(has_text="app")).to_contain_text("1000:1000")
        await page.screenshot(path=shots / f"{section}.png", full_page=True)
    await page.set_viewport_size({"width": 420, "height": 800})
    await page.goto(f"/console#/machines/{machine}")
    await expect(page.locator('[data-state="Wait"]')).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, f"the machine page scrolls sideways at 420 px ({width} px wide)"
    await page.screenshot(path=shots / "machine-narrow.png", full_page=True)
    execution = await start(client, machine)
    await page.goto(f"/console#/executions?machine={machine}&status=SUCCEEDED")
    await expect(page.get_by_text("No executions.")).to_be_visible()
    await page.get_by_label("Status").select_option("RUNNING")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("table.executions tbody tr")).to_have_count(1)
    await page.locator("table.executions tbody a").first.click()
    await expect(page.locator('[data-state="Wait"]')).to_have_attribute("data-status", "running")
    assert page.url.endswith(f"#/executions/{quote(execution)}")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, f"the execution page scrolls sideways at 420 px ({width} px wide)"
    await page.screenshot(path=shots / "execution-narrow.png", full_page=True)
