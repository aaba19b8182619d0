"""The console against an API that requires a token: asked for once, kept for the tab, sent as a
header and never put in a URL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Request, expect

from tests.integration.conftest import create_database, drop_database
from tests.integration.console.stack import stepline_dev

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
async def guarded_url(temporal_address: str) -> AsyncIterator[str]:
    database = await create_database()
    try:
        with stepline_dev(database, temporal_address, token=TOKEN) as url:
            yield url
    finally:
        await drop_database(database)


async def test_token_is_asked_once_and_sent_only_as_a_header(
    browser: Browser, guarded_url: str, shots: Path
) -> None:
    async with httpx.AsyncClient(
        base_url=guarded_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        created = await client.post(
            "/v1/state-machines",
            json={"name": "guarded", "definition": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}},
        )
        assert created.status_code == 201, created.text
        refused = await client.get("/v1/state-machines", headers={"Authorization": ""})
        assert refused.status_code == 401  # the API is closed...
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, base_url=guarded_url)
    page = await context.new_page()
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    await page.goto("/console")  # ...the console's page and assets are not
    dialog = page.get_by_role("dialog", name="API token")
    await expect(dialog).to_be_visible()
    await page.screenshot(path=shots / "token.png")
    await dialog.get_by_label("Token").fill("not-the-token")
    await dialog.get_by_role("button", name="Continue").click()
    await expect(dialog.get_by_role("alert")).to_have_text("The API refused that token.")
    await dialog.get_by_label("Token").fill(TOKEN)
    await dialog.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("link", name="guarded")).to_be_visible()

    await page.reload()  # the same tab: kept in session storage, not asked again
    await expect(page.get_by_role("link", name="guarded")).to_be_visible()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    api_calls = [r for r in requests if "/v1/" in r.url]
    assert api_calls and all(TOKEN not in r.url for r in requests)
    assert (await api_calls[-1].all_headers())["authorization"] == f"Bearer {TOKEN}"

    other_tab = await (await browser.new_context(base_url=guarded_url)).new_page()
    await other_tab.goto("/console")  # another session asks again
    await expect(other_tab.get_by_role("dialog", name="API token")).to_be_visible()
    await other_tab.context.close()
    await context.close()
