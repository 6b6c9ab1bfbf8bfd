"""Issue 20: the pool search by index. A part of a name matches exactly the names containing it (PostgreSQL
finds candidates by the GIN index on the name's characters, then keeps those with the characters in order);
the filtered count and page read the filter's index (plans, not clocks: the machine running the tests is busy)."""
import re

from sqlalchemy import event, select, text

from lms.people.models import TraineeProfile
from talent import queries as talent_queries
from lms.orgs.models import region_subtree_ids
from talent.models import PoolStatus, TalentEntry
from tests.factories import make_trainee
from tests.unit.test_talent_lifecycle import certify

NAMES = ["王小明", "小明王", "李明", "王明小", "明明"]


def _people(db, world):
    users = [make_trainee(db, f"perfq{i}", world.ent_rg, real_name=name) for i, name in enumerate(NAMES)]
    for i, u in enumerate(users):
        certify(db, world, user=u, cert_id=830000 + i)
    db.flush()
    return users


def test_perf_pool_name_search_matches_exactly_the_names_containing_it(db, world):
    users = _people(db, world)
    ours = {u.id for u in users}
    for q in ("王", "明", "小明", "明小", "王小明", "明王", "李", "张", "%", "_"):
        found = set(db.scalars(talent_queries.named_like(db, q))) & ours
        assert found == {u.id for u, name in zip(users, NAMES) if q in name}, q
    page = talent_queries.pool_page(db, talent_queries.pool_filter(db, world.province_admin, q="小明"), 1)
    assert sorted(r.name for r in page.items) == ["小明王", "王小明"]


def _plans(db, action) -> list[str]:
    """The plans of the SELECTs ``action()`` runs on talent_entries, explained on the same connection."""
    engine, caught = db.get_bind().engine, []

    def spy(conn, cursor, statement, params, context, executemany):
        if "talent_entries" in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            caught.append((statement, params))

    event.listen(engine, "before_cursor_execute", spy)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    cursor = db.connection().connection.driver_connection.cursor()
    explain = "EXPLAIN " if db.get_bind().dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    out = []
    for statement, params in caught:
        cursor.execute(explain + statement, params)
        out.append("\n".join(str(r[-1] if len(r) > 1 else r[0]) for r in cursor.fetchall()))
    return out


def test_perf_pool_search_reads_the_filters_indexes(db, world):
    _people(db, world)
    pg = db.get_bind().dialect.name == "postgresql"
    if pg:
        # A test database is tiny: without this the planner rightly scans it whole. With it, the plans show which
        # indexes the statements CAN use, i.e. that the expressions match the indexes'.
        db.execute(text("SET LOCAL enable_seqscan = off"))
        # The planner's choice between two usable indexes follows the tables' statistics. Left to autovacuum, they are
        # whatever it last sampled while the suite ran (CI on 2026-12-05 read the status filter's count through
        # another index of talent_entries): sampled here, they describe this test's own rows (ANALYZE counts the
        # rows its own transaction inserted), so the plans are the same on every run.
        db.execute(text("ANALYZE talent_entries, regions, users, trainee_profiles, enterprises"))
    user = world.province_admin
    by_name = _plans(db, lambda: talent_queries.pool_page(db, talent_queries.pool_filter(db, user, q="王"), 1))
    by_status = _plans(db, lambda: talent_queries.pool_page(
        db, talent_queries.pool_filter(db, user, status=PoolStatus.warning.value), 1))
    # the capped count, the page; on SQLite the name's entries are read first, once; on PostgreSQL the name's
    # list, then the page (issue 20)
    assert len(by_status) == 2 and len(by_name) == (2 if pg else 3)
    if pg:
        # The name's entries read once in the list's order (the count is their number), then the page's rows by
        # their ids (issue 20). Which index finds the ids is the planner's choice from the tables' statistics, which
        # autovacuum changes while the suite runs: pk_talent_entries, or a list index whose columns include the id
        # (CI on 2026-12-04 planned a nested loop with estimates of one row). What must hold: the page selects its
        # rows by their ids (the page's id list in the plan), and no statement scans talent_entries (below).
        assert "ix_trainee_profiles_name_chars" in by_name[0], by_name[0]
        assert re.search(r"\bid = ANY \('\{[0-9,]+\}'", by_name[1]), by_name[1]
        assert all("ix_talent_entries_status_list" in p for p in by_status), by_status
        assert not any(re.search(r"Seq Scan on (talent_entries|trainee_profiles)", p) for p in by_name + by_status)
    else:
        assert all("ix_talent_entries_status_list" in p for p in by_status), by_status
        assert not any(re.search(r"SCAN (talent_entries|trainee_profiles)\b(?! USING)", p) for p in by_status)


def test_perf_20p_sqlite_pool_filters_read_indexes_and_primary_keys(db, world):
    """SQLite (issue 20): a name or an enterprise is resolved to its entries once, by index (the names' characters,
    the enterprise index), and the count and the page then find those entries by primary key; two of the
    status, tier and stars filters are read from one covering index. No statement scans talent_entries, and
    the names are scanned once a page, not twice."""
    if db.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: test_perf_pool_search_reads_the_filters_indexes (the GIN index, the filter indexes)
    _people(db, world)
    user = world.province_admin
    f = talent_queries.pool_filter
    scan = re.compile(r"SCAN (talent_entries|trainee_profiles|enterprises)\b(?! USING)")
    by_name = _plans(db, lambda: talent_queries.pool_page(db, f(db, user, q="王", status=PoolStatus.active.value), 1))
    assert len(by_name) == 3 and "SEARCH trainee_name_chars USING PRIMARY KEY (ch=?)" in by_name[0], by_name
    assert not any("ix_trainee_profiles_real_name" in p for p in by_name), by_name  # no scan of the names
    assert all("SCAN listed VIRTUAL TABLE" in p and "ix_trainee_profiles_real_name" not in p for p in by_name[1:]), by_name
    by_ent = _plans(db, lambda: talent_queries.pool_page(db, f(db, user, enterprise=world.ent_rg.name[:4]), 1))
    assert len(by_ent) == 3 and "ix_talent_entries_enterprise_id" in by_ent[0], by_ent
    two = _plans(db, lambda: talent_queries.pool_page(db, f(db, user, stars=3, status=PoolStatus.active.value), 1))
    assert len(two) == 2 and all("COVERING INDEX ix_talent_entries_" in p for p in two), two
    assert not any(scan.search(p) for p in by_name + by_ent + two), by_name + by_ent + two


def test_perf_20p_renamed_and_removed_names_are_found_as_they_now_are(db, world):
    """The names' characters follow the profiles (SQLite: triggers on insert, rename and delete): a renamed person
    is found by the new name only, a removed profile by none."""
    users = _people(db, world)
    ours = {u.id for u in users}
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == users[0].id))
    prof.real_name = "赵一鸣"
    db.flush()
    assert users[0].id in set(db.scalars(talent_queries.named_like(db, "一鸣"))) & ours
    assert users[0].id not in set(db.scalars(talent_queries.named_like(db, "小明")))
    gone = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == users[2].id))
    db.delete(gone)
    db.flush()
    assert users[2].id not in set(db.scalars(talent_queries.named_like(db, "李")))
    if db.get_bind().dialect.name == "sqlite":
        assert db.scalar(text("SELECT count(*) FROM trainee_name_chars WHERE user_id = :u"), {"u": users[2].id}) == 0
        assert set(db.scalars(text("SELECT ch FROM trainee_name_chars WHERE user_id = :u"), {"u": users[0].id})) == set("赵一鸣")


def test_perf_20p_migrated_sqlite_keeps_the_name_triggers(database_url, tmp_dir):
    """At the migrations' head a SQLite database has the three triggers (a later batch migration that recreated
    trainee_profiles would drop them silently: this fails then)."""
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL finds names by its GIN index (test_perf_pool_search_reads_the_filters_indexes)
    from lms.db import make_engine
    from tests import dbutil

    url = dbutil.migrated_url(database_url, "names20p", tmp_dir)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            triggers = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                             "AND tbl_name = 'trainee_profiles'")))
    finally:
        engine.dispose()
    assert triggers == {"trainee_name_chars_ins", "trainee_name_chars_upd", "trainee_name_chars_del"}


def test_perf_20d_scope_and_one_read_pages_equal_the_plain_queries(db, world):
    """Issue 20 (PostgreSQL's pool list): a regulator's scope is ``region_id = ANY(ARRAY(regions))`` there (an
    InitPlan the (region_id, id) index reads in the list's order, instead of a join sorted afterwards), and a
    name's list is read once for its count and pages. Same entries, totals and pages as the plain IN and the
    count-then-page reading, on either database."""
    users = _people(db, world)
    pg = db.get_bind().dialect.name == "postgresql"
    stmt = talent_queries.pool_filter(db, world.province_admin)
    sql = str(stmt.compile(dialect=db.get_bind().dialect))
    assert ("= ANY(ARRAY(SELECT regions.id" in sql) == pg and ("region_id IN (SELECT regions.id" in sql) != pg
    plain = select(TalentEntry.id).where(TalentEntry.region_id.in_(region_subtree_ids(world.province_admin)))
    assert set(db.scalars(stmt.with_only_columns(TalentEntry.id))) == set(db.scalars(plain)) >= {
        e for e in db.scalars(select(TalentEntry.id).where(TalentEntry.user_id.in_([u.id for u in users])))}
    for q in ("明", "小明", "王"):
        one = talent_queries.pool_filter(db, world.province_admin, q=q)
        assert one.get_execution_options().get("pool_one_read", False) == pg
        both = one.execution_options(pool_one_read=False)
        for n in (1, 2):
            a, b = (talent_queries.pool_page(db, s, n, per_page=2) for s in (one, both))
            assert (a.items, a.total, a.page) == (b.items, b.total, b.page), (q, n)
