"""Issue 20 (the pool search's Python): the menu is built once per role, organisation and language a process,
not on every page; the pool list's page does a bounded number of Python calls and statements whatever its
size, and the same menu as before. Counted, never timed (the machine running the tests is busy)."""
import cProfile
import pstats

from sqlalchemy import event, select

from lms import templating
from talent import queries as talent_queries
from tests.conftest import login
from tests.web.test_talent_pool_search import TRANSACTION, _pool

URL = "/talent/pool?status=active"


def _menu_builds(monkeypatch) -> list:
    """Every call of a menu provider (``add_nav``'s functions)."""
    calls = []
    wrapped = []
    for fn in templating._nav_providers:
        def spy(user, _fn=fn):
            calls.append(_fn.__module__)
            return _fn(user)
        spy.__module__ = fn.__module__  # the menu groups entries by the provider's package
        wrapped.append(spy)
    monkeypatch.setattr(templating, "_nav_providers", wrapped)
    return calls


def test_perf_20p_menu_built_once_per_role_and_language(app, client, db, world, monkeypatch):
    _pool(db, world)
    app.extensions.pop("lms_nav_menus", None)
    calls = _menu_builds(monkeypatch)
    login(client, "js_admin")
    first = client.get(URL).get_data(as_text=True)
    built = len(calls)
    assert built == len(templating._nav_providers)  # each provider asked once for the first page
    second = client.get("/talent/pool?page=1").get_data(as_text=True)
    client.get("/talent/pool?tier=basic")
    assert len(calls) == built  # not again for the next pages
    for html in (first, second):  # the menu as the providers give it: the pool's group, the bureau's rules
        assert 'id="nav-talent-pool"' in html and 'href="/talent/pool"' in html
        assert 'id="nav-certificates-settings"' in html and 'id="nav-group-talent"' in html


def test_perf_20p_menu_follows_language_and_role(app, client, db, world, monkeypatch):
    """Another language or another role is another menu (its own key), never a stale one."""
    from lms.auth.models import User
    from lms.domain import Role

    app.extensions.pop("lms_nav_menus", None)
    login(client, "js_admin")
    zh = client.get("/talent/pool").get_data(as_text=True)
    assert 'id="nav-talent-pool" data-group="talent">人才库</a>' in zh
    client.set_cookie("lang", "en")
    en = client.get("/talent/pool").get_data(as_text=True)
    client.delete_cookie("lang")
    assert '<html lang="en">' in en and 'id="nav-talent-pool" data-group="talent">Talent pool</a>' in en
    assert len(app.extensions["lms_nav_menus"]) == 2  # one menu per language
    admin = db.scalar(select(User).where(User.username == "js_admin"))
    admin.role = Role.system_admin  # a role change: the next page shows the new role's menu at once
    db.flush()
    html = client.get("/home").get_data(as_text=True)
    assert 'id="nav-jobs-index"' in html  # the system admin's entries
    admin.role = Role.regulator_admin
    db.flush()
    html = client.get("/talent/pool").get_data(as_text=True)
    assert 'id="nav-jobs-index"' not in html and 'id="nav-talent-pool"' in html


def profiled_get(app, client, url):
    """(Python calls, statements other than BEGIN/COMMIT with their whitespace folded, html) of one GET."""
    from lms.db import db as dbx

    statements = []

    def spy(conn, cursor, statement, params, context, executemany):
        if not TRANSACTION.match(statement):
            statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = dbx.engine
    event.listen(engine, "before_cursor_execute", spy)
    prof = cProfile.Profile()
    try:
        prof.enable()
        resp = client.get(url)
        prof.disable()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert resp.status_code == 200
    return pstats.Stats(prof).total_calls, statements, resp.get_data(as_text=True)


def _count(app, client, url):
    calls, statements, html = profiled_get(app, client, url)
    return calls, len(statements), html


def test_perf_20p_pool_page_calls_and_statements_are_bounded(app, client, db, world, monkeypatch):
    _pool(db, world)
    login(client, "js_admin")
    client.get(URL)  # once per process: templates, the menu, compiled statements
    monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", 1)
    calls_small, stmts_small, html_small = _count(app, client, URL)
    monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", 20)
    calls_large, stmts_large, html_large = _count(app, client, URL)
    rows = html_large.count('href="/talent/entries/')
    assert html_small.count('href="/talent/entries/') == 1 and rows == 6
    assert stmts_small == stmts_large <= 8
    # A page's calls grow by the rows only (a few dozen each), and the menu is not rebuilt: a page whose menu
    # must be built (the cache emptied) costs well over a thousand calls more.
    assert calls_large - calls_small < 120 * (rows - 1), (calls_small, calls_large)
    app.extensions["lms_nav_menus"].clear()
    calls_cold, _stmts, html_cold = _count(app, client, URL)
    assert calls_cold - calls_large > 1_000, (calls_cold, calls_large)
    assert _menu(html_cold) == _menu(html_large) and 'id="nav-talent-pool"' in _menu(html_large)


def _menu(html: str) -> str:
    return html[html.index('<ul class="navbar-nav me-auto">'):html.index('<ul class="navbar-nav">')]
