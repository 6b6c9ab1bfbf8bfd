"""The regulator's pool list: the same few SQL statements whatever the page size (no statement per row), the
filters and the bounded pages behave."""
import datetime as dt
import re

from sqlalchemy import event, select

from talent import queries as talent_queries
from talent.models import Cause, PoolStatus, TalentEntry
from talent.services import status as status_services
from tests.conftest import login
from tests.factories import make_trainee
from tests.unit.test_talent_lifecycle import certify
from tests.web.test_talent_web import _bearer

TRANSACTION = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def _pool(db, world, n=6):
    users = [world.trainee] + [make_trainee(db, f"pool{i}", world.ent_rg, real_name="李强") for i in range(n - 1)]
    for i, u in enumerate(users):
        certify(db, world, user=u, cert_id=820000 + i)
    db.flush()
    return users


def _statements(app, client, url):
    from lms.db import db as dbx

    seen = []

    def count(conn, cursor, statement, params, context, executemany):
        if not TRANSACTION.match(statement):
            seen.append(statement)

    with app.app_context():
        engine = dbx.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        resp = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert resp.status_code == 200
    return len(seen), resp.get_data(as_text=True)


def test_statements_do_not_grow_with_the_page_size(app, client, db, world, monkeypatch):
    _pool(db, world)
    login(client, "js_admin")
    url = "/talent/pool?q=李&status=active&tier=basic&region=%d&enterprise=启东机械" % world.jiangsu.id
    client.get(url)  # whatever is cached once per process
    monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", 1)
    small, html_small = _statements(app, client, url)
    monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", 20)
    large, html_large = _statements(app, client, url)
    assert html_small.count('href="/talent/entries/') == 1
    assert html_large.count('href="/talent/entries/') == 5  # the five 李强 (certified at 启东机械)
    assert small == large <= 10


def test_filters_and_bounded_pages(app, client, db, world, monkeypatch):
    users = _pool(db, world)
    login(client, "js_admin")
    html = client.get("/talent/pool").get_data(as_text=True)
    assert html.count('href="/talent/entries/') == len(users) and "王芳" in html and "李强" in html
    html = client.get("/talent/pool?q=王").get_data(as_text=True)
    assert html.count('href="/talent/entries/') == 1
    html = client.get("/talent/pool?status=lapsed").get_data(as_text=True)
    assert html.count('href="/talent/entries/') == 0
    monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", 2)
    monkeypatch.setattr(talent_queries, "POOL_MAX_ROWS", 4)  # pages go no further than 4 rows down the list
    html = client.get("/talent/pool?page=99").get_data(as_text=True)
    assert html.count('href="/talent/entries/') == 2 and "第 2 / 2 页，共 4 条" in html
    assert 'id="pool-capped"' in html  # 6 match: the count stops past the reachable rows and says so
    monkeypatch.setattr(talent_queries, "POOL_MAX_ROWS", 6)
    html = client.get("/talent/pool?page=99").get_data(as_text=True)
    assert "第 3 / 3 页，共 6 条" in html and 'id="pool-capped"' not in html


def test_parity_talent_list_page_and_api(app, client, db, world):
    """The pool page and ``/api/v1/talent/entries`` call the same query with the same filters: the same entries,
    in the same order, for every filter."""
    users = _pool(db, world)
    warned = db.scalar(select(TalentEntry).where(TalentEntry.user_id == users[2].id))
    status_services.set_status(db, warned, PoolStatus.warning, Cause.manual, dt.date(2026, 5, 1), reason="测试")
    db.flush()
    headers = _bearer(db, world.province_admin)
    login(client, "js_admin")
    for query in ["", "q=李强", "q=王芳", "status=warning", "status=active&q=李强", "tier=basic", "tier=senior",
                  f"region={world.qidong.id}", f"region={world.fuzhou.id}", "enterprise=启东", "enterprise=无此企业", "stars=5"]:
        page = client.get(f"/talent/pool?{query}").get_data(as_text=True)
        page_ids = [int(i) for i in re.findall(r'href="/talent/entries/(\d+)"', page)]
        api = client.get(f"/api/v1/talent/entries?per_page=20&{query}", headers=headers).get_json()
        assert [item["id"] for item in api["items"]] == page_ids, query
    assert len(page_ids) == 0 and api["total"] == 0  # the last filter matches nobody: both say so
