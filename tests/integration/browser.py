"""Shared Playwright fixtures of the browser tests: Debian's Chromium, headless, never downloaded.

A test module imports the fixtures ``browser`` and ``browser_site`` (a served demo site of
the browser tests' own) and lists them in its ``__all__`` (so linters see them used). Each
importing module holds a definition of its own; they share one browser and one site
through a reference count (:class:`_Shared`). Open pages with :func:`open_page` and log in
with :func:`log_in`:

.. code-block:: python

    def test_x(browser: Browser, browser_site: Site) -> None:
        with open_page(browser, browser_site) as page:
            log_in(page, browser_site, "gv001")
            page.goto("/…")                 # relative to the site
            shot(page, "name")          # docs/screenshots/name.png when SOCAI_SCREENSHOTS=1

Without ``/usr/bin/chromium`` the browser tests skip with a message, unless
``SOCAI_REQUIRE_BROWSER=1`` (CI sets it): then they fail. Playwright's sync API cannot run
inside an asyncio loop; pytest's own thread is fine.

Every page opened by :func:`open_page` records the browser's console errors, failed
requests of the site and CSP violations (:attr:`Watched.problems`); the context manager
fails the test when any is left at its end (a page that breaks the CSP or loads a missing
asset is a bug even when it looks right).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from tests.integration.served import own_site
from tests.integration.web import PASSWORD, Site

__all__ = [
    "CHROMIUM",
    "PHONE",
    "SCREENSHOTS",
    "Watched",
    "browser",
    "browser_site",
    "cookie_client",
    "log_in",
    "open_page",
    "shot",
]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: A phone's viewport (iPhone 12-15 class), and a desktop's.
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
#: Where :func:`shot` writes when ``SOCAI_SCREENSHOTS=1``.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: Console messages of the browser itself about our headers that are not page errors:
#: Chromium warns about Permissions-Policy features it does not know.
_IGNORED_CONSOLE = ("Permissions-Policy header: Unrecognized feature",)


class _Shared:
    """One instance per test session of something several definitions of a fixture share.

    A fixture imported into a test module is a separate definition there, so a
    session-scoped one would be set up again for each module: a second Playwright driver in
    the same thread (which the sync API refuses) and a second demo site. Every definition
    takes a reference here instead; the last one to finish closes it.
    """

    def __init__(self) -> None:
        self.value: Any = None
        self.users = 0
        self.stack: ExitStack | None = None

    @contextmanager
    def use(self, make: Callable[[ExitStack], Any]) -> Iterator[Any]:
        if self.users == 0:
            stack = ExitStack()
            try:
                self.value = make(stack)
            except BaseException:
                stack.close()
                raise
            self.stack = stack
        self.users += 1
        try:
            yield self.value
        finally:
            self.users -= 1
            if self.users == 0 and self.stack is not None:
                stack, self.stack, self.value = self.stack, None, None
                stack.close()


_BROWSER = _Shared()
_SITE = _Shared()


def _launch(stack: ExitStack) -> Browser:
    playwright = stack.enter_context(sync_playwright())
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
    stack.callback(launched.close)
    return launched


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for one test module (skips without it unless required).

    Module scope, not session: Playwright's sync API keeps an asyncio event loop running in
    the main thread while it is open, and every later ``asyncio.run`` of the session (the
    TSA, the witness, pyHanko's validation) would fail with "cannot be called from a running
    event loop".
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests"
        if os.environ.get("SOCAI_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with _BROWSER.use(_launch) as launched:
        yield launched


@pytest.fixture(scope="session")
def browser_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A demo site of the browser tests' own (SQLite), with generous log-in limits.

    The browser tests close a term of the open class and issue transcripts: writes the
    shared ``site`` of the other tests must not see. Who uses it: the teacher's tests write
    term II scores of :data:`~tests.integration.web.OPEN_CLASS`; the principal's fill and
    close term I, approve a correction and issue transcripts of 2025-2026's 6A1.
    """

    def make(stack: ExitStack) -> Site:
        site, _server = stack.enter_context(own_site(tmp_path_factory.mktemp("browser-site")))
        return site

    with _SITE.use(make) as site:
        yield site


@dataclass
class Watched:
    """A page with what went wrong on it."""

    page: Page
    problems: list[str] = field(default_factory=list)


@contextmanager
def open_page(
    browser: Browser,
    site: Site,
    *,
    viewport: dict[str, int] | None = None,
    javascript: bool = True,
    allow: tuple[str, ...] = (),
    storage_state: Any = None,
) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page on ``site``; fails on console errors.

    ``allow`` lists substrings of console messages the test expects (e.g. a 4xx it causes).
    """
    context = browser.new_context(
        viewport=viewport or DESKTOP,  # type: ignore[arg-type]
        java_script_enabled=javascript,
        locale="vi-VN",
        accept_downloads=True,
        base_url=site.base,
        storage_state=storage_state,
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    watched = Watched(page)

    def console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(s in text for s in (*_IGNORED_CONSOLE, *allow)):
            return
        watched.problems.append(f"console: {text}")

    def failed(request: Request) -> None:
        # ERR_ABORTED: the page moved on before the request ended (a click, a form); not a
        # problem of the page.
        if request.url.startswith(site.base) and "ERR_ABORTED" not in (request.failure or ""):
            watched.problems.append(f"request failed: {request.url} {request.failure}")

    page.on("console", console)
    page.on("requestfailed", failed)
    page.on("pageerror", lambda exc: watched.problems.append(f"page error: {exc}"))
    try:
        yield page
        assert not watched.problems, "\n".join(watched.problems)
    finally:
        context.close()


def log_in(page: Page, site: Site, username: str, password: str = PASSWORD) -> None:
    """Log in through the log-in page; land on the home page."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{site.base}/")


def shot(page: Page, name: str, *, full_page: bool = True) -> Path | None:
    """Save a PNG of the page to ``docs/screenshots/<name>.png`` when ``SOCAI_SCREENSHOTS=1``."""
    if os.environ.get("SOCAI_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def cookie_client(page: Page, site: Site) -> httpx.Client:
    """An HTTP client on ``site`` with the page's cookies (the page's session), for API reads."""
    jar = {c["name"]: c["value"] for c in page.context.cookies(site.base)}
    return httpx.Client(base_url=site.base, cookies=jar, timeout=60)
