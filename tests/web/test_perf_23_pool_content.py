"""Issue 20, the pool list's Python (sixth round): pool.html's content block is kept per language and shape
(``talent.pool_page.content``: its fixed text once, the count, the pager's links and the rows filled into slots),
and a signed-in request's session cookie is verified once a process (``lms.lean.LeanSessionInterface``). Counted,
never timed: each check fails if the block is rendered again per request, if the filled block differs from the
whole template's in any shape, or if a kept cookie outlives the session's rules."""
import time
import weakref

from flask import render_template
from itsdangerous import BadSignature

from talent import pool_page
from talent import queries as talent_queries
from tests.conftest import login
from tests.web.test_perf_20p_pool_page import profiled_get
from tests.web.test_perf_22_pool_statements import _blank_csrf, _rugao_entries
from tests.web.test_talent_pool_search import _pool

# Every shape of the block with 6 Qidong and 2 Rugao entries, 2 a page: rows or none, one page or several, a
# previous and a next page, capped (``POOL_MAX_ROWS`` 6: the province's unfiltered list of 8).
URLS = ["/talent/pool", "/talent/pool?page=2", "/talent/pool?page=3", "/talent/pool?page=99",
        "/talent/pool?q=%E6%9D%8E&status=active&page=2", "/talent/pool?q=%E6%97%A0%E6%AD%A4%E4%BA%BA",
        "/talent/pool?region=0", "/talent/pool?enterprise=%3Cb%3E%22&x=%25", "/talent/pool?tier=basic&stars=3",
        "/talent/pool?status=warning"]


def _small_pages(monkeypatch):
    """Two entries a page, at most six listed: every shape with a few entries (statements kept afresh)."""
    monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", 2)
    monkeypatch.setattr(talent_queries, "POOL_MAX_ROWS", 6)
    monkeypatch.setattr(talent_queries, "_KEPT", weakref.WeakKeyDictionary())


def _kept_contents(app) -> dict:
    return {k: v for k, v in app.extensions.get("talent_pool_page", {}).items() if k[0] == "content"}


def test_perf_23_kept_content_equals_the_whole_template(app, db, world, monkeypatch):
    """The page with the kept block is the page the whole template renders: both languages, a province's and a
    county's bureau, every shape (first, middle, last and capped pages, a page past the end, an empty result),
    filters chosen and escaped, a flashed message; each shape's block is kept (not rendered whole)."""
    _pool(db, world)
    _rugao_entries(db, world)
    _small_pages(monkeypatch)
    monkeypatch.setitem(app.extensions, "talent_pool_page", {})  # this test's kept parts only, dropped after it
    pages = {}
    for kept in (True, False):
        with monkeypatch.context() as m:
            if not kept:
                m.setattr(pool_page, "framed", lambda name, context: render_template(name, **context))
            for username in ("js_admin", "rg_admin"):
                c = app.test_client()
                login(c, username)
                for lang in ("zh", "en"):
                    c.set_cookie("lang", lang)
                    for url in URLS:
                        for _twice in (1, 2):  # a shape's first page (checked against the whole) and its next
                            html = _blank_csrf(c.get(url).get_data(as_text=True))
                            pages.setdefault((username, lang, url, _twice), []).append(html)
                    with c.session_transaction() as s:
                        s["_flashes"] = [("message", "已保存")]
                    pages.setdefault((username, lang, "flash"), []).append(_blank_csrf(c.get(URLS[1]).get_data(as_text=True)))
    for key, (kept_html, whole_html) in pages.items():
        assert kept_html == whole_html, key
    contents = _kept_contents(app)
    shapes = {k[-1] for k in contents}
    # (rows, several pages, previous, next, capped): first, middle, last (capped), one page, none
    assert {(True, True, False, True, True), (True, True, True, True, True), (True, True, True, False, True),
            (True, False, False, False, False), (False, False, False, False, False)} <= shapes, shapes
    assert all(isinstance(v, pool_page.Kept) for v in contents.values()), contents  # none fell back to whole
    zh = pages[("js_admin", "zh", "/talent/pool?page=2", 1)][0]
    assert '<a class="page-link" href="/talent/pool?page=1">上一页</a>' in zh
    assert '<span class="page-link">第 2 / 3 页，共 6 条</span>' in zh and 'id="pool-capped"' in zh
    assert '<a class="page-link" href="/talent/pool?page=3">下一页</a>' in zh
    en = pages[("rg_admin", "en", "/talent/pool?q=%E6%97%A0%E6%AD%A4%E4%BA%BA", 1)][0]
    assert '<tr><td colspan="6" class="text-muted">' in en and "没有符合条件的记录" not in en
    assert 'href="/talent/pool/export?enterprise=%3Cb%3E%22&amp;x=%25"' in pages[("js_admin", "zh", URLS[7], 1)][0]


def test_perf_23_content_built_once_per_shape_and_cheaper(app, client, db, world, monkeypatch):
    """A second page of a shape renders no block (its numbers, links and rows filled into the kept text) and
    costs far fewer Python calls than the block rendered whole (~1,400 a page with the pager macro); the
    statements are the same."""
    _pool(db, world)
    _small_pages(monkeypatch)
    login(client, "js_admin")
    url = "/talent/pool?status=active&page=2"
    client.get(url)  # the shape (a middle page) and the filter's statements kept, checked against the whole
    built, whole = [], []
    build, render = pool_page._content, pool_page._whole_content
    monkeypatch.setattr(pool_page, "_content", lambda *a: built.append(1) or build(*a))
    monkeypatch.setattr(pool_page, "_whole_content", lambda *a: whole.append(1) or render(*a))
    kept_calls, kept_statements, html = profiled_get(app, client, url)
    assert built == [] and whole == [], (built, whole)
    assert '<span class="page-link">第 2 / 3 页，共 6 条</span>' in html
    monkeypatch.setattr(pool_page, "content", lambda template, context: render(template, context))
    whole_calls, whole_statements, whole_html = profiled_get(app, client, url)
    assert _blank_csrf(html) == _blank_csrf(whole_html)
    assert kept_statements == whole_statements
    # Measured: ~700 fewer calls with 2 rows a page in the tests (~1,200 a page over the bench's data).
    assert whole_calls - kept_calls > 400, (whole_calls, kept_calls)


def test_perf_23_shape_that_differs_is_always_rendered_whole(app, client, db, world, monkeypatch):
    """A shape whose first fill differs from the block rendered whole is never kept: that page and the next of
    its shape are the whole template's."""
    _pool(db, world)
    login(client, "js_admin")
    monkeypatch.setitem(app.extensions, "talent_pool_page", {})  # this test's kept parts only, dropped after it
    monkeypatch.setattr(pool_page, "_NUMBERS", {"p": 1, "n": 9_137_000_002, "t": 9_137_000_003})  # "1" is everywhere
    first = client.get("/talent/pool").get_data(as_text=True)
    assert set(_kept_contents(app).values()) == {False}
    whole = []
    render = pool_page._whole_content
    monkeypatch.setattr(pool_page, "_whole_content", lambda *a: whole.append(1) or render(*a))
    again = client.get("/talent/pool").get_data(as_text=True)
    assert whole == [1] and _blank_csrf(first) == _blank_csrf(again)
    monkeypatch.setattr(pool_page, "framed", lambda name, context: render_template(name, **context))
    assert _blank_csrf(client.get("/talent/pool").get_data(as_text=True)) == _blank_csrf(again)


# --- the session cookie (lms.lean.LeanSessionInterface) ------------------------------------------------------------
def _loads_spy(app, monkeypatch) -> list:
    serializer = app.session_interface.get_signing_serializer(app)
    seen, loads = [], serializer.loads
    monkeypatch.setattr(serializer, "loads", lambda *a, **kw: seen.append(1) or loads(*a, **kw))
    return seen


def test_perf_23_session_cookie_verified_once(app, client, db, world, monkeypatch):
    """A signed-in page's cookie is verified and decoded once a process: the next page opens it from the kept
    copy (~220 fewer Python calls), the same user, CSRF token and page."""
    _pool(db, world)
    login(client, "js_admin")
    client.get("/talent/pool")  # the login's cookie verified; this page's session changed (a new cookie)
    client.get("/talent/pool")  # the new cookie verified, kept
    seen = _loads_spy(app, monkeypatch)
    kept_calls, _s, html = profiled_get(app, client, "/talent/pool")
    assert seen == [] and "首席质量官人才库" in html
    app.session_interface._verified.clear()
    verified_calls, _s, again = profiled_get(app, client, "/talent/pool")
    assert seen == [1] and _blank_csrf(again) == _blank_csrf(html)
    assert verified_calls - kept_calls > 120, (verified_calls, kept_calls)


def test_perf_23_kept_cookie_keeps_the_session_rules(app, client, db, world, monkeypatch):
    """The kept cookie expires with the session's lifetime (then Flask's own check answers: signed out), a
    tampered cookie is refused, a session holding a list (flashed messages) is not kept, and a new secret key
    forgets every kept cookie."""
    _pool(db, world)
    login(client, "js_admin")
    assert client.get("/talent/pool").status_code == 200
    assert client.get("/talent/pool").status_code == 200  # the cookie as it stays
    iface = app.session_interface
    cookie = client.get_cookie("session").value
    assert cookie in iface._verified
    signed_at = iface._verified[cookie][0]
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    monkeypatch.setattr(time, "time", lambda: signed_at + lifetime + 1)  # itsdangerous and the kept copy: expired
    assert client.get("/talent/pool").status_code in (302, 401)
    monkeypatch.undo()
    assert client.get("/talent/pool").status_code == 200  # the same cookie, within its lifetime again
    good = client.get_cookie("session").value
    client.set_cookie("session", good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    assert client.get("/talent/pool").status_code in (302, 401)
    client.set_cookie("session", good)
    with client.session_transaction() as s:
        s["_flashes"] = [("message", "已保存")]
    flashed = client.get_cookie("session").value
    assert "已保存" in client.get("/talent/pool").get_data(as_text=True)
    assert flashed not in iface._verified
    assert iface._verified
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-key-" + "x" * 32)
    try:
        iface.get_signing_serializer(app).loads(flashed)
        raise AssertionError("the old cookie verified under the new key")
    except BadSignature:
        pass
    assert iface._verified == {}
