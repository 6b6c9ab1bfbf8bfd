"""Issue 20, the pool list's statements (fifth round): the count, the page and the region choices are built and
compiled once per filter shape and scope and run with each request's values (``talent.queries.pool_page``,
``talent.kept_sql``). Counted, never timed: each check fails if the statements are built again per request, if
a kept statement carried one bureau's scope to another, or if the kept path's entries differ from the select's."""
import datetime as dt

import pytest
from sqlalchemy import literal_column, select
from sqlalchemy.exc import DBAPIError

from lms.domain import Role
from talent import kept_sql
from talent import queries as talent_queries
from talent.models import PoolStatus
from talent.services import entries
from tests.conftest import login
from tests.factories import make_staff, make_trainee
from tests.web.test_perf_20p_pool_page import profiled_get
from tests.web.test_talent_pool_search import _pool


def _rugao_entries(db, world, n=2):
    """``n`` entries in Rugao (``_pool``'s are in Qidong), named 李强 too."""
    for i in range(n):
        u = make_trainee(db, f"rgpool{i}", world.ent_rg, real_name="李强")
        entries.on_certificate_issued(db, user_id=u.id, certificate_id=821000 + i, number=f"JS-B-2026-{821000 + i}",
                                      tier="basic", issued_on=dt.date(2026, 3, 1), valid_until=dt.date(2029, 3, 1),
                                      region_id=world.rugao.id, enterprise_id=world.ent_rg.id)
    db.flush()


def _spy_builds(monkeypatch) -> dict:
    """Counts of the pool's selects built (``_pool_select``) and of statements compiled (``KeptSelect``)."""
    seen = {"built": 0, "compiled": 0}
    build, init = talent_queries._pool_select, kept_sql.KeptSelect.__init__

    def built(*a, **kw):
        seen["built"] += 1
        return build(*a, **kw)

    def compiled(self, *a, **kw):
        seen["compiled"] += 1
        return init(self, *a, **kw)

    monkeypatch.setattr(talent_queries, "_pool_select", built)
    monkeypatch.setattr(kept_sql.KeptSelect, "__init__", compiled)
    return seen


def test_perf_22_pool_statements_built_once_per_shape(app, client, db, world, monkeypatch):
    """A second page of a filter shape, with other values, builds and compiles nothing, and costs far fewer Python
    calls than the first (which compiles); the statements are the same few."""
    _pool(db, world)
    login(client, "js_admin")
    first = "/talent/pool?q=%E6%9D%8E&status=active&stars=3&region=" + str(world.qidong.id)
    client.get("/talent/pool")  # the process's first page: templates, menu
    seen = _spy_builds(monkeypatch)
    cold, cold_statements, _html = profiled_get(app, client, first)
    assert seen["built"] >= 1 and seen["compiled"] >= 2, seen
    seen.update(built=0, compiled=0)
    other = "/talent/pool?q=%E5%BC%BA&status=warning&stars=5&page=2&region=" + str(world.rugao.id)
    warm, warm_statements, html = profiled_get(app, client, other)
    assert seen == {"built": 0, "compiled": 0}, seen  # the same shape: nothing built, nothing compiled
    assert "没有符合条件的记录" in html
    assert len(warm_statements) == len(cold_statements) <= 6, warm_statements
    # The first page of a shape builds and compiles its statements (~17,000 calls in all here); a page of a kept
    # shape ~8,000, where the select built and run through the ORM was ~14,400 (main at 5776a38, same requests).
    assert cold - warm > 5_000, (cold, warm)
    assert warm < 10_000, warm
    seen.update(built=0, compiled=0)
    client.get("/talent/pool?status=active")  # another shape: its own statements, once
    assert seen["built"] >= 1 and seen["compiled"] >= 1, seen


def test_perf_22_kept_statements_keep_each_bureaus_scope(app, client, db, world):
    """Two county bureaus asking the same filter shape run statements kept per scope: each sees its own county's
    entries only, never the other's through a kept statement; the province sees both."""
    _pool(db, world)  # six in Qidong
    _rugao_entries(db, world)  # two in Rugao
    make_staff(db, "qd_admin_pool", Role.regulator_admin, region=world.qidong)
    db.flush()
    url = "/talent/pool?q=%E6%9D%8E&status=active"
    seen = {}
    for username in ("qd_admin_pool", "rg_admin", "qd_admin_pool", "js_admin", "rg_admin"):
        c = app.test_client()
        login(c, username)
        for path in (url, "/talent/pool", "/talent/pool?page=2"):
            html = c.get(path).get_data(as_text=True)
            table = html.split('id="pool-table"')[1].split("</table>")[0]
            seen.setdefault((username, path), set()).add((table.count("启东市"), table.count("如皋市"),
                                                          table.count('href="/talent/entries/')))
    expected = {"qd_admin_pool": {url: (5, 0, 5)}, "rg_admin": {url: (0, 2, 2)}, "js_admin": {url: (5, 2, 7)}}
    everyone = {"qd_admin_pool": (6, 0, 6), "rg_admin": (0, 2, 2), "js_admin": (6, 2, 8)}  # (Qidong, Rugao, rows)
    for (username, path), shown in seen.items():
        assert shown == {expected[username].get(path, everyone[username])}, (username, path, shown)
    # one kept count of the name's shape per scope (Qidong's, Rugao's, the province's)
    dialect = db.get_bind().dialect
    counts = [k for k in talent_queries._KEPT[dialect]
              if k[0] == ("listed",) or k[0] == ("count",)]
    assert len({k[1][1:] for k in counts}) >= 3


FILTERS = [{}, {"q": "李"}, {"q": "李强"}, {"q": "强李"}, {"q": "%"}, {"q": "李_"}, {"status": "active"},
           {"status": "warning"}, {"tier": "basic"}, {"stars": 3}, {"enterprise": "启东"}, {"enterprise": "%"},
           {"enterprise": "机_"}, {"region_id": 0}, {"q": "无此人"}, {"status": "nonsense", "tier": "x"}]


@pytest.mark.parametrize("id_list_max", [talent_queries.POOL_ID_LIST_MAX, 1])
def test_perf_22_kept_pages_equal_the_selects(app, db, world, monkeypatch, id_list_max):
    """The kept statements give the pages the ORM select of the same filters gives (the API's and the export's),
    for every filter, both bureaus, pages 1-3 of 2 rows; ``id_list_max`` 1: SQLite's name and enterprise matched
    in the statement (more entries than an id list holds) rather than as a list."""
    monkeypatch.setattr(talent_queries, "POOL_ID_LIST_MAX", id_list_max)
    _pool(db, world)
    _rugao_entries(db, world)
    for f in FILTERS + [{"region_id": world.rugao.id}, {"region_id": world.nantong.id, "status": "active", "q": "李"}]:
        for user in (world.province_admin, world.rugao_admin):
            query = talent_queries.pool_query(db, user, **f)
            for page in (1, 2, 3):
                kept = talent_queries.pool_page(db, query, page, per_page=2)
                plain = talent_queries.pool_page(db, talent_queries.pool_filter(db, user, **f), page, per_page=2)
                assert (kept.items, kept.total, kept.page, kept.capped) == \
                       (plain.items, plain.total, plain.page, plain.capped), (f, user.username, page)
    active = talent_queries.pool_page(db, talent_queries.pool_query(db, world.province_admin, status="active"), 1)
    assert active.total == 8 and {r.status for r in active.items} == {PoolStatus.active}


def test_perf_22_kept_statement_errors_are_sqlalchemys(app, db):
    """A driver's error is raised as SQLAlchemy's DBAPIError (the platform's retry and 503 handlers read it)."""
    broken = kept_sql.KeptSelect(select(literal_column("no_such_column")), db.get_bind().dialect)
    nested = db.begin_nested()
    with pytest.raises(DBAPIError):
        broken.run(db, {})
    nested.rollback()
