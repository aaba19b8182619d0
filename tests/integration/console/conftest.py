"""The console's browser tests: one ``stepline dev`` stack and one Chromium for the session, a fresh
page per test, and a folder of screenshots (printed at the start) to look at."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.integration.conftest import create_database, drop_database
from tests.integration.console.stack import CHROMIUM, stepline_dev

if not os.path.exists(CHROMIUM) or shutil.which("bwrap") is None:
    pytest.skip("needs Debian's chromium and bubblewrap", allow_module_level=True)


@pytest.fixture(scope="session")
async def console_url(temporal_address: str) -> AsyncIterator[str]:
    """The base URL of a whole Stepline on a fresh database (``stepline dev`` migrates it)."""
    database = await create_database()
    try:
        with stepline_dev(database, temporal_address) as url:
            yield url
    finally:
        await drop_database(database)


@pytest.fixture(scope="session")
async def client(console_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The same stack's API, for arranging what a test looks at and checking what the console did."""
    async with httpx.AsyncClient(base_url=console_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


_SHOTS: list[Path] = []
"""The screenshot folder once a test used it (named in the run's summary)."""


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where the screenshots go (``STEPLINE_CONSOLE_SHOTS``, else a new temporary folder)."""
    folder = Path(
        os.environ.get("STEPLINE_CONSOLE_SHOTS") or tempfile.mkdtemp(prefix="stepline-console-shots-")
    )
    folder.mkdir(parents=True, exist_ok=True)
    _SHOTS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the screenshot folder at the end of the run (``-q`` included)."""
    for folder in _SHOTS:
        terminalreporter.write_line(f"console screenshots: {folder}")


@pytest.fixture
async def page(browser: Browser, console_url: str) -> AsyncIterator[Page]:
    """A 1280x800 page on the console; a script error on it fails the test."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, base_url=console_url)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    await context.close()
    assert not errors, f"script errors on the page: {errors}"
