"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

One Chromium per test module (launching costs most of a second), a fresh context per test so
no cookie, session or storage leaks between tests. Outside CI a machine without Chromium or
axe-core skips these tests and the run ends with the reason and the command that fixes it;
in CI (CI=true) the same absence fails them, so a broken CI image cannot pass by skipping.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from solidaria.core.models import Membership
from solidaria.core.tests.factories import PASSWORD, MembershipFactory, OrganizationFactory

REPO_ROOT = Path(__file__).resolve().parents[4]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The network is closed: without the background-networking flags Chromium keeps trying to
# reach Google (component updates, sync, QUIC probes) and slows every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Long enough for a slow CI machine, short enough that a missing element fails in seconds.
TIMEOUT_MS = 10_000

NO_CHROMIUM = "Debian's chromium is not installed; `apt-get install chromium`"
NO_AXE = "node_modules/axe-core/axe.min.js is missing; run `npm ci`"
SKIP_PREFIXES = ("browser tests skipped:", "accessibility checks skipped:")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(what: str, reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where the tool must be there."""
    if in_ci():
        pytest.fail(f"{what} cannot be skipped in CI (CI=true): {reason}", pytrace=False)
    pytest.skip(f"{what} skipped: {reason}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say why the browser tests did not run, even without `-rs`, and only once."""
    reasons: list[str] = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reason = str(longrepr[2]).removeprefix("Skipped: ")
            if reason.startswith(SKIP_PREFIXES) and reason not in reasons:
                reasons.append(reason)
    for reason in reasons:
        terminalreporter.write_line(reason, yellow=True, bold=True)


# Per module, not per session: pytest-django runs the tests without a database after all
# the others, and Playwright's event loop and the variable below must not outlive the browser
# tests (a later `asyncio.run()` would refuse to start, a subprocess would inherit the variable).
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable("browser tests", NO_CHROMIUM)
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API marks an asyncio event loop as running in this thread from
        # start to stop, and Django refuses ORM calls from a thread with a running loop
        # (SynchronousOnlyOperation), to protect a loop serving other coroutines from being
        # blocked. This loop serves only Playwright and turns only while the test waits on a
        # Playwright call, never during a query, so the test thread's factories and database
        # assertions are safe. Set for exactly as long as the loop exists.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()


@pytest.fixture
def context(browser: Browser, live_server, transactional_db) -> Iterator[BrowserContext]:
    """A fresh browser profile on the live server, in English whatever the machine's locale."""
    ctx = browser.new_context(base_url=live_server.url, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def no_js_page(browser: Browser, live_server, transactional_db) -> Iterator[Page]:
    """A page in a profile with JavaScript switched off, as some staff browse."""
    ctx = browser.new_context(base_url=live_server.url, locale="en-GB", java_script_enabled=False)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        unavailable("accessibility checks", NO_AXE)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def admin(transactional_db) -> Membership:
    """An admin of an organization whose name needs Unicode, as most of our users' do."""
    org = OrganizationFactory(name="Asociación Vecinal Solidaria")
    return MembershipFactory(role="admin", organization=org)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Through the real login form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def staff_page(page: Page, admin: Membership) -> Page:
    """A page whose browser is logged in, through the login form, as `admin`."""
    log_in(page, admin.user.email)
    return page
