"""Playwright driving Debian's Chromium against pytest-django's live server.

Chromium is launched for each test (about a second), after the test database is set
up, and each test gets a fresh browser context (its own cookies) and a page. The tests
use the transactional database of ``live_server`` with serialized rollback: the pump
model reference rows of the data migration are restored before each browser test, and
the database is flushed after it, so nothing a browser test writes reaches other tests.

Outside CI a machine without /usr/bin/chromium skips these tests with a reason; in CI
(the CI environment variable set) a missing Chromium fails them.
"""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 1024, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def running_playwright():
    """Playwright's sync API, with the test's database connections kept as they are.

    The sync API keeps an asyncio loop running in this thread. While a loop runs, Django
    looks up database connections in per-context storage and refuses ORM calls as "async
    unsafe". So the connections the test database was set up with (and that the live
    server shares for in-memory SQLite) are pinned into that storage, and the async check
    is relaxed for the test only: the ORM calls of the test code (factories, assertions)
    run while the browser waits, never at the same time. Both are undone afterwards.
    """
    from django.db import connections
    from playwright.sync_api import sync_playwright

    pinned = {alias: connections[alias] for alias in connections}
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        for alias, connection in pinned.items():
            connections[alias] = connection
        yield playwright
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser(live_server, django_db_serialized_rollback):
    """Chromium for one test, started after the test database is ready (about a second)."""
    require_chromium()
    with running_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def login(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login form and land on Today."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Today")


def serious_violations(page) -> list[str]:
    """axe-core's serious or critical findings on the page, with their targets (none allowed)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']]}"
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page, name: str) -> Path:
    """A full-page PNG under test-artifacts/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
