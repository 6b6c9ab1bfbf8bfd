"""Issue 17: accessible to everyone, as government sites must be (GB/T 37668, WCAG 2.1 AA).

axe-core (vendored from npm in tests/assets/axe with its licence; never served by the app) runs in Chromium over
the pages of every demo role's navigation, the public pages and the verify page; a serious or critical violation
fails the test with the page, the rule and the elements. Beside it: a skip link that moves focus to the content,
a visible focus ring, the language switch marked with its language, and a favicon."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from certificates.models import Certificate
from lms.db import db
from tests.e2e.conftest import e2e_login

AXE = (Path(__file__).resolve().parents[1] / "assets" / "axe" / "axe.min.js").read_text(encoding="utf-8")
ROLES = ["admin", "nantong_admin", "qidong_admin", "nt_staff", "trainee"]
BLOCKING = ("serious", "critical")


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations of the page as loaded, one line per rule."""
    # Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not stop it.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations'],
                                           runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')), count: v.nodes.length}));
    }""")
    return [f"{v['impact']} {v['id']} ({v['count']}×: {v['help']}): {v['nodes']}"
            for v in result if v["impact"] in BLOCKING]


def _nav_urls(page) -> list[str]:
    return page.eval_on_selector_all("a[id^='nav-']", "els => els.map(e => e.href)")


def _check(page, url: str, problems: dict) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    if found := axe_violations(page):
        problems[url] = found


def _report(problems: dict) -> str:
    return "\n".join(f"{url}:\n  " + "\n  ".join(v) for url, v in problems.items())


@pytest.mark.parametrize("username", ROLES)
def test_journey_a11y_every_role_navigation_has_no_serious_violation(page, live_server, username):
    e2e_login(page, live_server, username)
    problems: dict = {}
    urls = [f"{live_server}/home", *dict.fromkeys(_nav_urls(page))]
    assert len(urls) > 3
    for url in urls:
        _check(page, url, problems)
    assert not problems, "axe-core serious/critical violations:\n" + _report(problems)


def test_journey_a11y_public_and_phone_pages(page, phone_page, live_server, e2e_app):
    with e2e_app.app_context():
        cert = db.session.scalars(select(Certificate).where(Certificate.status == "valid").order_by(Certificate.id)).first()
        verify = f"{live_server}/v/{cert.cid}#{cert.signed_part}"
    problems: dict = {}
    for url in (f"{live_server}/", f"{live_server}/auth/login", f"{live_server}/register", f"{live_server}/talent/public/notices"):
        _check(page, url, problems)
    _check(phone_page, verify, problems)
    phone_page.wait_for_selector("#sig-result[data-state]")
    if found := axe_violations(phone_page):
        problems[verify + " (verdict shown)"] = found
    assert not problems, "axe-core serious/critical violations:\n" + _report(problems)


def test_journey_a11y_skip_link_focus_language_and_favicon(page, live_server):
    e2e_login(page, live_server, "trainee")
    page.goto(f"{live_server}/home")
    # The first Tab reaches the skip link, which is then visible and moves focus into the main content.
    page.keyboard.press("Tab")
    skip = page.locator("#skip-link")
    assert page.evaluate("() => document.activeElement.id") == "skip-link"
    box = skip.bounding_box()
    assert box and box["width"] > 1 and box["height"] > 1 and box["y"] >= 0
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    shadow = page.evaluate("() => getComputedStyle(document.activeElement).boxShadow")
    assert outline != "none" or shadow != "none", "focus is invisible on the skip link"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    # Focus stays visible on ordinary links and buttons.
    page.keyboard.press("Tab")
    styles = page.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }")
    assert (styles[0] != "none" and styles[1] != "0px") or styles[2] != "none", styles
    assert page.locator("#lang-switch").get_attribute("lang") == "en"
    icon = page.locator("link[rel='icon']").get_attribute("href")
    resp = page.request.get(live_server + icon)
    assert resp.ok and resp.headers["content-type"].startswith("image/")
