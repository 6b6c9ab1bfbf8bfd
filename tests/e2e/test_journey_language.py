"""Issue 17: no English in the Chinese interface, no untranslated Chinese in the English one.

Each demo role signs in and visits every page reachable from its navigation and from the demo's records (links
followed breadth-first, at most a few pages of each URL shape). In Chinese a Latin-letter word outside the allowed
list (codes, units, file types, the field's own abbreviations) fails the test with the page and the words; in
English a Chinese run that the application's own source holds (a message id or a label left untranslated, never a
name or a title someone typed) fails it likewise.

Text inside ``code``/``kbd``/``pre``/``samp``/``textarea``, inside an element marked with another ``lang`` or
``translate="no"`` (a name someone typed, shown where it could pass for a label), and
tokens containing digits or code punctuation (``_ @ . / :``) are codes, not words. The crawl uses the app's
test client over the e2e database (the demo's records); the pages are the same HTML Chromium renders."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from sqlalchemy import select

from lms.auth.models import User
from lms.db import db
from lms.features import FEATURES
from tests.e2e.conftest import PASSWORD
from tests.unit.test_i18n import KEYWORDS, METHODS

ROOT = Path(__file__).resolve().parents[2]
ROLES = ["admin", "jiangsu_admin", "nantong_admin", "qidong_admin", "nt_staff", "js_staff", "trainee"]
PER_SHAPE = 2  # pages of one URL shape (digits replaced) visited per role
MAX_PAGES = 160
SKIP = ("/auth/logout", "/lang/", "/static/", ".pdf", ".png", ".jwt", ".zip", ".xlsx", ".csv", ".json", "/letter",
        "/download", "/export", "/file", "/media", "/api/")

# Words a Chinese page may show: file types and units, product and key names, standards' names, and the
# quality field's English terms that the demo's question bank explains (PDCA's and DMAIC's steps, SWOT).
ALLOWED = {
    "PDF", "PNG", "ZIP", "CSV", "XLSX", "XLS", "JSON", "JWT", "MP", "WebM", "MB", "KB", "GB", "UTF", "GBK",
    "Excel", "Word", "WPS", "LibreOffice", "Markdown", "Ctrl", "Open", "Badges", "WeChat", "Cp", "Cpk",
    "Plan", "Do", "Check", "Act", "Define", "Measure", "Analyze", "Improve", "Control",
    "Strengths", "Weaknesses", "Opportunities", "Threats",
}
ACRONYM = re.compile(r"^[A-Z]{2,6}$")  # CQO, ISO, GB, NQI, answer keys (ABCD)
TOKEN = re.compile(r"[A-Za-z0-9_@./:+#%&=?{}-]+")  # {year}: a placeholder of a pattern
HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
HIDDEN = {"script", "style", "code", "kbd", "pre", "samp", "textarea", "template"}
VOID = {"br", "img", "input", "meta", "link", "hr", "source", "area", "col", "wbr", "embed", "track", "param", "base"}


class _Page(HTMLParser):
    """The words a person reads (text, titles, placeholders, labels for assistive technology) and the links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang, self.links, self.words, self._stack, self._hidden = "zh", [], [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = (a.get("lang") or "zh")[:2]
        if tag not in VOID:
            hide = tag in HIDDEN or (a.get("lang") or self.lang)[:2] != self.lang or a.get("translate") == "no"
            self._stack.append(hide)
            self._hidden += hide
        if self._hidden:
            return
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for key in ("title", "placeholder", "aria-label", "alt"):
            if a.get(key):
                self.words.append(a[key])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.words.append(a["value"])

    def handle_endtag(self, tag):
        if tag not in VOID and self._stack:
            self._hidden -= self._stack.pop()

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.words.append(data.strip())


def _source_han_runs() -> set[str]:
    """Chinese runs of the interface's own words: every message id in the code and templates (as the English
    catalogue's test extracts them) and Chinese written straight into a template outside a message."""
    runs: set[str] = set()
    for sub in ("lms", *FEATURES):
        for _fn, _ln, msg, _c, _ctx in extract_from_dir(str(ROOT / sub), METHODS, keywords=KEYWORDS):
            runs.update(HAN.findall(msg if isinstance(msg, str) else msg[0]))
        for path in (ROOT / sub).rglob("templates/**/*.html"):
            raw = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", path.read_text(encoding="utf-8"), flags=re.S)
            runs.update(HAN.findall(raw))
    return runs


def _login(client, username: str) -> None:
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    resp = client.post("/auth/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, (username, resp.status_code)


def crawl(app, username: str, lang: str, judge) -> dict[str, list[str]]:
    """Visit the pages a role reaches from its home page; ``judge(words) -> offending`` per page."""
    client = app.test_client()
    client.set_cookie("lang", lang)
    _login(client, username)
    queue, seen, shapes, found = ["/home"], set(), {}, {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        shape = re.sub(r"\d+", "N", url)
        if url in seen or shapes.get(shape, 0) >= PER_SHAPE:
            continue
        seen.add(url)
        shapes[shape] = shapes.get(shape, 0) + 1
        resp = client.get(url)
        if resp.status_code != 200 or "text/html" not in resp.content_type:
            continue
        page = _Page()
        page.feed(resp.get_data(as_text=True))
        if bad := judge(page.words):
            found[url] = sorted(bad)
        for href in page.links:
            parts = urlsplit(urljoin(url, href))
            if parts.netloc not in ("", "localhost"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if not any(s in target for s in SKIP) and target not in seen:
                queue.append(target)
    assert len(seen) > 5, (username, "the crawl reached almost nothing", seen)
    return found


def _latin_words(usernames: set[str]):
    def judge(texts: list[str]) -> set[str]:
        bad = set()
        for text in texts:
            for token in TOKEN.findall(text):
                if not token.isalpha() or len(token) < 2:
                    continue  # a code: a number, an account, a path, an address, a single letter
                if token in ALLOWED or ACRONYM.match(token) or token in usernames:
                    continue
                bad.add(token)
        return bad
    return judge


def _untranslated(runs: set[str]):
    def judge(texts: list[str]) -> set[str]:
        # A whole text (a label, a cell, a button) that is one of the interface's own Chinese phrases; a
        # sentence someone wrote that merely contains such a phrase is data.
        return {text for text in texts if text in runs}
    return judge


@pytest.fixture(scope="module")
def usernames(e2e_app):
    with e2e_app.app_context():
        return set(db.session.scalars(select(User.username)))


@pytest.mark.parametrize("username", ROLES)
def test_journey_language_chinese_pages_have_no_english(e2e_app, usernames, username):
    found = crawl(e2e_app, username, "zh", _latin_words(usernames))
    assert not found, "English words on Chinese pages:\n" + "\n".join(f"{u}: {w}" for u, w in found.items())


@pytest.mark.parametrize("username", ROLES)
def test_journey_language_english_pages_have_no_untranslated_chinese(e2e_app, username):
    found = crawl(e2e_app, username, "en", _untranslated(_source_han_runs()))
    assert not found, "Untranslated Chinese on English pages:\n" + "\n".join(f"{u}: {w}" for u, w in found.items())
