"""The web console in Chromium: how fast the execution page is ready, and how late live updates are.

    python bench/console.py [--json FILE] [--rounds 3] [--quick]

Starts a Temporal dev server, a fresh database on the local PostgreSQL and ``stepline dev`` against
both, runs the executions below through the API, then opens their pages in Debian's Chromium
(Playwright) at 1280x800, a fresh page each round:

- the execution page of a 1,000-state execution (a Pass chain: 2,002 events) and of a 10,000-item
  Map (about 20,000 events): time to first render (the page's heading drawn) and to interactive
  (every event read, the graph coloured, the event table and timeline drawn, and the next frame
  painted), from navigation start; goals < 1 s and < 2 s. "events read" is when the last byte of
  the history's pages arrived (the server's share), "after the last event" the page's own work left;
- the live update: a running execution's Wait state turning succeeded on the open page, from the
  moment the server recorded the WaitStateExited event (its history timestamp) to the attribute
  change in the page (same machine, same clock); goal < 500 ms.

Medians (and the worst) over the rounds, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shell.embedded import temporal_dev_server
from tests.integration.conftest import create_database, drop_database
from tests.integration.console import scenario
from tests.integration.console.stack import CHROMIUM, stepline_dev

MARKS = """
window.__marks = {};
const seen = () => {
  const page = document.querySelector(".execution");
  if (page && !window.__marks.render) window.__marks.render = performance.now();
  if (page && page.dataset.loaded === "yes" && document.querySelector(".state[data-status]")
      && document.querySelector(".events tbody tr") && !window.__marks.loaded) {
    window.__marks.loaded = performance.now();
    requestAnimationFrame(() => setTimeout(() => (window.__marks.interactive = performance.now()), 0));
  }
};
new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true });
"""

WATCH = """
name => new Promise(resolve => {
  const observer = new MutationObserver(() => {
    const node = document.querySelector(`[data-state="${name}"]`);
    if (node && node.dataset.status === "succeeded") { observer.disconnect(); resolve(Date.now()); }
  });
  observer.observe(document, { subtree: true, attributes: true, attributeFilter: ["data-status"] });
})
"""


async def run_to_end(client: httpx.AsyncClient, name: str, definition: dict[str, Any], value: Any) -> str:
    created = await client.post("/v1/state-machines", json={"name": name, "definition": definition})
    assert created.status_code == 201, created.text
    started = await client.post(f"/v1/state-machines/{name}/executions", json={"input": value})
    execution = str(started.json()["executionId"])
    async with client.stream("GET", f"/v1/executions/{execution}/events") as events:
        async for line in events.aiter_lines():  # the stream ends after the "status" event
            if line == "event: status":
                break
    return execution


async def page_load(browser: Browser, url: str, execution: str) -> dict[str, float]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    await page.add_init_script(MARKS)
    await page.goto(f"{url}/console#/executions/{execution}")
    await page.wait_for_function("window.__marks.interactive", timeout=60_000)
    marks: dict[str, float] = await page.evaluate("window.__marks")
    marks["read"] = await page.evaluate(  # the last byte of the history's pages: the server's share
        "Math.max(...performance.getEntriesByType('resource')"
        ".filter(r => r.name.includes('/history')).map(r => r.responseEnd))"
    )
    await context.close()
    return marks


async def live_delay(browser: Browser, client: httpx.AsyncClient, url: str, machine: str) -> float:
    """ms from the WaitStateExited event's timestamp to the page showing Wait succeeded."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    started = await client.post(f"/v1/state-machines/{machine}/executions", json={"input": {}})
    execution = started.json()["executionId"]
    await page.goto(f"{url}/console#/executions/{execution}")
    await page.wait_for_selector('[data-state="Wait"][data-status="running"]')
    changed_at = await page.evaluate(WATCH, "Wait")
    await context.close()
    events = (await client.get(f"/v1/executions/{execution}/history", params={"limit": 1000})).json()[
        "events"
    ]
    (exited,) = [e for e in events if e["type"] == "WaitStateExited"]
    recorded = datetime.fromisoformat(exited["timestamp"].replace("Z", "+00:00")).timestamp() * 1000
    return float(changed_at - recorded)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}


async def measure(url: str, rounds: int, map_items: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        chain = await run_to_end(client, "chain", scenario.pass_chain(1000), {})
        fan_definition, fan_input = scenario.fan_out(map_items)
        fan = await run_to_end(client, "fan", fan_definition, fan_input)
        wait = {**scenario.WAIT, "States": {**scenario.WAIT["States"]}}
        wait["States"]["Wait"] = {**wait["States"]["Wait"], "Seconds": 3}  # the page opens before it ends
        await client.post("/v1/state-machines", json={"name": "live", "definition": wait})
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            results: dict[str, Any] = {}
            for label, execution in (("1,000-state execution", chain), (f"{map_items:,}-item Map", fan)):
                await page_load(
                    browser, url, execution
                )  # warm: the bundle in the cache, the server's code paths
                loads = [await page_load(browser, url, execution) for _ in range(rounds)]
                results[label] = {
                    "first render": summary([m["render"] for m in loads]),
                    "events read": summary([m["read"] for m in loads]),
                    "interactive": summary([m["interactive"] for m in loads]),
                    "after the last event": summary([m["interactive"] - m["read"] for m in loads]),
                }
            delays = [await live_delay(browser, client, url, "live") for _ in range(rounds)]
            results["live update delay"] = summary(delays)
            await browser.close()
    return results


async def main(args: argparse.Namespace) -> dict[str, Any]:
    database = await create_database()
    try:
        with temporal_dev_server() as temporal, stepline_dev(database, temporal) as url:
            started = time.perf_counter()
            results = await measure(url, args.rounds, 2000 if args.quick else 10_000)
            results["seconds"] = round(time.perf_counter() - started, 1)
            return results
    finally:
        await drop_database(database)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 2,000-item Map instead of 10,000")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    print(json.dumps(figures, indent=2))
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
