"""Browser tests: the app served on loopback from a thread, over its own fresh database loaded with the
demo data, driven by Playwright in Debian's Chromium (Playwright cannot download browsers here)."""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from lms import clock as platform_clock
from lms.db import Base
from lms.features import import_models
from tests import dbutil
from tests.conftest import make_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "Demo2026!cqo"
# Web-first assertions wait as long as the pages' own actions (15 s, set on each page below) rather than
# Playwright's 5 s: CI runs two suites on two cores, and an assertion may have to wait across a page's reload.
E2E_TIMEOUT_MS = 15_000
expect.set_options(timeout=E2E_TIMEOUT_MS)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    # The tests that move the server's clock (the ``clock`` fixture) run after every other: the records they
    # leave are dated days or years ahead, which no other test expects of the shared database.
    items.sort(key=lambda item: "/e2e/" in str(item.fspath) and "clock" in getattr(item, "fixturenames", ()))


def _buffered(app):
    """Each response read whole and closed before it is sent. Werkzeug's development server leaves a file response
    (a static file) open when the browser drops the connection mid-response, as it does on navigating away; that
    is a ResourceWarning, an error in this suite. gunicorn in production closes them; the pages are unchanged."""
    def wsgi(environ, start_response):
        body_iter = app(environ, start_response)
        try:
            return [b"".join(body_iter)]
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture(scope="session")
def e2e_app(database_url, tmp_dir):
    url = dbutil.fresh_url(database_url, "e2e", tmp_dir)
    app = make_app(url, tmp_dir / "e2e", RATELIMIT_ENABLED=True, CLOCK_TRAVEL=True)
    import_models()
    Base.metadata.create_all(app.extensions["lms_db"].engine)
    from lms import demo
    from lms.db import db

    with app.app_context():
        with db.job_session() as s:
            demo.seed(s)
    yield app
    app.extensions["lms_db"].engine.dispose()


@pytest.fixture(scope="session")
def live_server(e2e_app):
    server = make_server("127.0.0.1", 0, _buffered(e2e_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def clock(e2e_app):
    """Move the live server's clock (``lms.clock.travel``: an aware instant or a timedelta); back to the machine's
    clock when the test ends. The test's own ``today_local()`` moves with it (same process)."""
    try:
        yield lambda to: platform_clock.travel(e2e_app, to)
    finally:
        platform_clock.travel(e2e_app, None)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(E2E_TIMEOUT_MS)
    yield pg
    ctx.close()


@pytest.fixture
def phone_page(browser):
    """A phone: small viewport, touch, mobile user agent (the WeChat scanner opens pages like this)."""
    ctx = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 390, "height": 844}, is_mobile=True,
        has_touch=True, device_scale_factor=2,
        user_agent="Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36 MicroMessenger/8.0",
    )
    pg = ctx.new_page()
    pg.set_default_timeout(E2E_TIMEOUT_MS)
    yield pg
    ctx.close()


def e2e_login(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/home")


_OLD_DOCUMENT = "html[data-e2e-left]"


@contextmanager
def new_page_after(page, url=None):
    """Wait, after the ``with`` body, for the document that the body's action loads (a link, a form's submit, a
    script's reload), and for its load event; with ``url`` (a string, glob or re.compile), for that address too.

    Playwright's actions do not wait for the navigation they start, and ``count()``, ``is_visible()``,
    ``page.url``, ``content()`` and ``evaluate()`` read whatever document is there: the old page, or the new one
    half parsed. ``wait_for_url`` alone cannot tell a page from its reload (a form that posts back to its own
    address), so the old document is marked first, and only a new document lacks the mark."""
    page.evaluate("() => { document.documentElement.dataset.e2eLeft = '1'; }")
    yield
    page.wait_for_selector(_OLD_DOCUMENT, state="detached")  # waits across the navigation, at the page's timeout
    if url is not None:
        page.wait_for_url(url)
    page.wait_for_load_state()


def click_to(page, target, url=None) -> None:
    """Click ``target`` (a selector or a locator) that loads a page, and wait for that page (``new_page_after``)."""
    with new_page_after(page, url):
        (page.locator(target) if isinstance(target, str) else target).click()


def nav(page, link_id: str) -> None:
    """Click a navigation entry by its id (``nav-<endpoint with dashes>``), opening its menu group first
    when it sits in a dropdown."""
    link = page.locator(f"#{link_id}")
    if not link.is_visible():
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible():
            toggler.click()
            page.wait_for_selector("#navmain.collapse.show")  # opened, not still animating (.collapsing)
        group = link.get_attribute("data-group")
        page.click(f"#nav-group-{group}")
        page.wait_for_selector(f"#nav-group-{group}[aria-expanded='true']")
    target = urljoin(page.url, link.get_attribute("href"))
    # A click returns once the navigation has started, not once the new page is there: under load (CI runs two
    # suites on two cores) the next locator could still read the old page. Wait for the target page's load.
    click_to(page, link, target)
