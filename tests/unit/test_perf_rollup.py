"""Issue 20: the year-end roll-up writes no dead rows and caps its chunks by rows. A second roll-up over unchanged
data writes no row at all (counted twice: the driver's rowcount of every INSERT, UPDATE and DELETE, and the
database's own count — SQLite's total_changes(), PostgreSQL's pg_stat_xact_user_tables); a changed figure
rewrites that one standing; every chunk holds at most the cap's members, whether the time target grows or
shrinks it."""
import datetime as dt
import re

import pytest
from sqlalchemy import event, select, text

from credits.models import YearStanding
from talent.services import rollup
from tests.unit.test_talent_lifecycle import give
from tests.unit.test_talent_rollup_chunks import _people

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.I)
NOW = dt.datetime(2027, 1, 2, tzinfo=dt.timezone.utc)


def _database_changes(db) -> int:
    """Rows inserted, updated or deleted so far, as the database counts them (this connection / transaction)."""
    if db.get_bind().dialect.name == "sqlite":
        return db.execute(text("SELECT total_changes()")).scalar()
    db.execute(text("SELECT pg_stat_clear_snapshot()"))
    return db.execute(text("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                           "FROM pg_stat_xact_user_tables")).scalar()


def rows_written(db, action) -> tuple[int, int, list]:
    """(rows by the driver's rowcounts, rows by the database's count, the write statements) of ``action()``."""
    engine, seen = db.get_bind().engine, []

    def after(conn, cursor, statement, params, context, executemany):
        if WRITE.match(statement):
            seen.append((statement.split("\n")[0][:90], cursor.rowcount))

    db.flush()
    before = _database_changes(db)
    event.listen(engine, "after_cursor_execute", after)
    try:
        action()
        db.flush()
    finally:
        event.remove(engine, "after_cursor_execute", after)
    return sum(max(n, 0) for _s, n in seen), _database_changes(db) - before, seen


def test_perf_rollup_second_run_writes_no_row(db, world):
    users = _people(db, world)
    by_driver, by_db, seen = rows_written(db, lambda: rollup.rollup_year(db, 2026, now=NOW, chunk_size=2))
    assert by_driver >= 6 and by_db >= 6, seen  # the first run wrote the 6 standings (and the moves)
    assert all(n >= 0 for _s, n in seen), seen  # every write reported its rows: the counts below mean something
    by_driver, by_db, seen = rows_written(db, lambda: rollup.rollup_year(db, 2026, now=NOW, chunk_size=2))
    assert (by_driver, by_db) == (0, 0), seen
    # One figure changes (more hours for the compliant member, still compliant): that one standing is rewritten.
    ok = users[0]
    give(db, ok, 2026, 5, 0, tag="more")
    by_driver, by_db, seen = rows_written(db, lambda: rollup.rollup_year(db, 2026, now=NOW, chunk_size=2))
    assert (by_driver, by_db) == (1, 1), seen
    assert db.scalar(select(YearStanding.hours_total).where(YearStanding.user_id == ok.id,
                                                           YearStanding.year == 2026)) == 95


@pytest.mark.parametrize("target", [1e6, 1e-9])  # every chunk fast (sizes grow) / every chunk slow (sizes shrink)
def test_perf_rollup_chunks_respect_the_row_cap(db, world, target):
    _people(db, world)  # 6 members in the roll-up (one of the seven exited)
    for cap in (1, 2, 4):
        sizes, done = [], [0]

        def after(counts):
            sizes.append(counts["entries"] - done[0])
            done[0] = counts["entries"]

        sp = db.begin_nested()
        out = rollup.rollup_year(db, 2026, now=NOW, chunk_size=1000, target_seconds=target, max_chunk=cap,
                                 after_chunk=after)
        sp.rollback()
        assert sum(sizes) == out["entries"] == 6
        assert max(sizes) <= cap and len(sizes) == -(-6 // cap), (cap, sizes)


def test_perf_rollup_default_cap_bounds_the_adaptive_size():
    assert rollup.ROLLUP_CHUNK <= rollup.ROLLUP_MAX_CHUNK <= 10_000


def test_perf_rollup_chunk_reads_appointments_by_status_and_user(db):
    """A chunk's time in office is read from the (status, user_id, dates) index: the chunk's range of people
    among the accepted appointments, never every accepted appointment of the province (SQLite's choice of the
    single-column status index, without statistics: 179 s for the full-scale roll-up). The plan is SQLite's
    EXPLAIN QUERY PLAN or PostgreSQL's EXPLAIN; PostgreSQL, on an empty table, may prefer a sequential scan, so
    only SQLite's choice is asserted beyond the statement compiling and planning."""
    from talent.services.standing import _standings_select

    stmt = _standings_select(db, 2025, users=(1000, 1200))
    bind = db.get_bind()
    sql = str(stmt.compile(bind, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name != "sqlite":
        assert db.execute(text("EXPLAIN " + sql)).all()
        return
    plan = [row[3] for row in db.execute(text("EXPLAIN QUERY PLAN " + sql))]
    reads = [p for p in plan if " appointments " in f" {p} "]
    assert reads and all("ix_appointments_status_user (status=? AND user_id>? AND user_id<?)" in p
                         for p in reads), plan


def test_perf_rollup_mails_the_moved_people_together_as_notify_would(db, world, app, monkeypatch):
    """With mail configured, the roll-up writes its notifications set-based and queues their mails together
    (lms.notifications.services.queue_emails: addresses in one read), as ``notify`` would one by one: the same
    rows (title, body, dedupe key), ``emailed`` set for those with an address, each mail sent once on commit to the
    person's address; a second run mails nobody."""
    from lms.notifications import services as notifications
    from lms.notifications.models import Notification
    from tests.unit.test_talent_notifications import FakeSMTP

    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(FakeSMTP, "sent", [])  # restored after: the class is shared with other tests
    users = _people(db, world)
    for i, u in enumerate(users):
        u.trainee_profile[0].email = f"p{i}@example.com"
    db.commit()
    app.config.update(SMTP_HOST="smtp.example.com", MAIL_BACKEND="smtp")
    try:
        with app.app_context():
            rollup.rollup_year(db, 2026, now=NOW, chunk_size=2)
            db.commit()
            rollup.rollup_year(db, 2026, now=NOW, chunk_size=2)
            db.commit()
    finally:
        app.config.update(SMTP_HOST="", MAIL_BACKEND="none")
    notes = db.scalars(select(Notification).where(Notification.dedupe_key.like("rollup:2026:%"))).all()
    by_user = {u.id: f"p{i}@example.com" for i, u in enumerate(users)}
    assert notes and all(n.emailed for n in notes)
    assert sorted(to for _host, to, _subject in FakeSMTP.sent) == sorted(by_user[n.user_id] for n in notes)
    assert {subject for _h, _to, subject in FakeSMTP.sent} == {n.title for n in notes}


BIG = ("talent_entries", "year_standings", "credit_records", "appointments", "talent_events", "talent_sanctions",
       "notifications", "annual_reports")


def test_perf_rollup_every_chunk_statement_reads_the_chunk_only(db, world, monkeypatch):
    """Every statement a chunk runs reads the chunk's range of people (or its own events), never a whole table nor
    every standing of the year: on SQLite each statement's EXPLAIN QUERY PLAN, taken as the roll-up runs it (with
    its parameters, on the same connection), has no SCAN of a pool table and no search of the standings by year
    alone. The lapse sanction's INSERT joined the standings on the year only and SQLite drove it from every
    standing of the year: 180 of the full-scale SQLite roll-up's 249 s (issue 20). On PostgreSQL (whose plans on
    a few rows say nothing of 200,000) every statement is EXPLAINed, i.e. compiles and plans."""
    users = _people(db, world)
    sqlite = db.get_bind().dialect.name == "sqlite"
    in_chunk, chunk = [False], rollup._rollup_chunk

    def one_chunk(*a, **k):  # the run's closing count (once a run, over every member) is not a chunk's
        in_chunk[0] = True
        try:
            return chunk(*a, **k)
        finally:
            in_chunk[0] = False

    monkeypatch.setattr(rollup, "_rollup_chunk", one_chunk)

    out, plans = _rollup_explained(db, lambda statement, executemany: in_chunk[0] and not executemany and re.match(
        r"\s*(INSERT|UPDATE|DELETE|SELECT)\b", statement, re.I))
    assert out["lapsed"] == 1 and out["warning"] >= 1, out  # the lapse and the notifications' statements ran
    statements = " ".join(s for s, _p in plans)
    assert "INSERT INTO talent_sanctions" in statements and "INSERT INTO notifications" in statements
    assert users and all(p for _s, p in plans)
    if not sqlite:
        return
    bad = [(s.split("\n")[0][:60], line) for s, plan in plans for line in plan
           if re.match(r"SCAN (%s)\b" % "|".join((*BIG, "ys", "prev", "ev")), line)
           or ("ix_year_standings_year_user_id (year=?)" in line)]
    assert not bad, bad


def test_perf_rollup_job_checkpoints_between_chunks_not_in_them(db, world, app, monkeypatch):
    """The scheduled job copies SQLite's log into the database after each chunk's commit, outside any transaction
    (lms.db.wal_checkpoint), so that no chunk's COMMIT runs SQLite's automatic checkpoint (0.5 s on the loaded
    machine, the full-scale roll-up's longest write). A checkpoint never runs inside a transaction."""
    from lms import db as platform_db
    from lms.jobs import services as jobs
    from talent import jobs as talent_jobs

    _people(db, world)
    db.commit()
    monkeypatch.setattr(rollup, "ROLLUP_CHUNK", 2)
    seen = []

    def spy(session):
        seen.append(session.in_transaction())
        platform_db.wal_checkpoint(session)

    monkeypatch.setattr(talent_jobs, "wal_checkpoint", spy)
    run = jobs.run_job(app.extensions["lms_db"].sessionmaker, "talent-rollup", trigger="manual",
                       now=dt.datetime(2027, 1, 2, 1, 30, tzinfo=dt.timezone.utc))
    assert run.status == "ok", run.result
    assert len(seen) == run.result["chunks"] >= 2 and not any(seen)


def test_perf_rollup_wal_checkpoint_copies_the_log_outside_transactions(tmp_path):
    """On a SQLite file the checkpoint copies the committed log into the database file; inside a transaction it
    does nothing (PRAGMA wal_checkpoint cannot run there)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from lms.db import wal_checkpoint

    path = tmp_path / "wal.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as c:
            c.exec_driver_sql("PRAGMA journal_mode=WAL")
            c.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # this connection: only explicit checkpoints
            c.exec_driver_sql("CREATE TABLE t (x BLOB)")
            c.exec_driver_sql("INSERT INTO t VALUES (zeroblob(200000))")
            c.commit()
            assert path.stat().st_size < 200000  # the blob is in the log only
            with Session(bind=engine) as s:
                s.execute(text("SELECT 1"))
                wal_checkpoint(s)  # in a transaction: nothing copied
                assert path.stat().st_size < 200000
                s.rollback()
                wal_checkpoint(s)
            assert path.stat().st_size >= 200000
    finally:
        engine.dispose()


def _notification_inserts(db, action) -> list[tuple[str, list[str]]]:
    """The roll-up's INSERTs into notifications as run (text and plan: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's
    EXPLAIN, with the statement's own parameters on its own connection)."""
    engine, sqlite, seen = db.get_bind().engine, db.get_bind().dialect.name == "sqlite", []

    def before(conn, cursor, statement, params, context, executemany):
        if executemany or not statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            return
        cur = cursor.connection.cursor()
        try:
            cur.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, params)
            seen.append((statement, [str(r[3] if sqlite else r[0]) for r in cur.fetchall()]))
        finally:
            cur.close()

    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def test_perf_rollup_notifications_skip_duplicates_by_the_unique_key(db, world):
    """The moved people's notifications are one INSERT … SELECT … ON CONFLICT (user_id, dedupe_key) DO NOTHING
    per (status, cause), on both databases: the unique constraint skips whoever already has the message, one
    probe of its index a row. Issue 20: the NOT EXISTS this replaces was the full-scale PostgreSQL record's
    slowest statement (260-300 ms, 27 over 100 ms). PostgreSQL's plan names the constraint as the arbiter and reads
    no notification; SQLite's reads none either (the conflict is the index's own check)."""
    _people(db, world)
    seen = _notification_inserts(db, lambda: rollup.rollup_year(db, 2026, now=NOW, chunk_size=3))
    assert seen, "the roll-up moved people to warning and lapsed: it must have notified them"
    for statement, plan in seen:
        flat = " ".join(statement.split())
        assert "ON CONFLICT (user_id, dedupe_key) DO NOTHING" in flat, flat
        assert "EXISTS" not in flat.upper() and "notifications" not in flat.split("SELECT", 1)[1], flat
        if db.get_bind().dialect.name == "postgresql":
            text_plan = "\n".join(plan)
            assert "Conflict Resolution: NOTHING" in text_plan, text_plan
            assert "Conflict Arbiter Indexes: uq_notifications_user_id_dedupe_key" in text_plan, text_plan
            assert "Anti Join" not in text_plan and not re.search(r"Scan .*\bon notifications\b", text_plan), text_plan
        else:
            assert not [line for line in plan if "notifications" in line], plan


def test_perf_rollup_notification_already_there_is_not_written_again(db, world):
    """A person who already has the year's message for the status (here written by ``notify`` itself, with the
    same dedupe key) gets no second one, and the roll-up goes on: ON CONFLICT DO NOTHING, not an error."""
    from lms.notifications.models import Notification
    from lms.notifications.services import notify

    users = _people(db, world)
    no_report = users[2]  # hours met, no report: a warning (the province requires both)
    notify(db, no_report.id, kind="pool_status", title="已有", body="已有", dedupe_key="rollup:2026:warning")
    db.flush()
    out = rollup.rollup_year(db, 2026, now=NOW, chunk_size=2)
    assert out["warning"] >= 2, out  # someone else was warned too: their row is written
    mine = db.scalars(select(Notification).where(Notification.user_id == no_report.id,
                                                 Notification.dedupe_key == "rollup:2026:warning")).all()
    assert [n.title for n in mine] == ["已有"]
    others = db.scalars(select(Notification.user_id).where(Notification.dedupe_key == "rollup:2026:warning")).all()
    assert len(others) == out["warning"] and len(set(others)) == len(others)


def test_perf_rollup_entries_and_notifications_read_the_chunks_people_only(db, world):
    """The chunk's UPDATE of the moved entries and its notifications' INSERT name the chunk's range of people
    (talent_entries.user_id > lo AND <= hi) besides its events: without it PostgreSQL, planning with the year's
    events not yet analysed (and psycopg's prepared statements on generic plans after five executions), merge-joined
    the events with talent_entries read by primary key from its first row, a read that grew with each chunk
    (issue 20: in process at scale 0.3, 54-60 s → 15-26 s for the roll-up)."""
    _people(db, world)
    engine, seen = db.get_bind().engine, []

    def before(conn, cursor, statement, params, context, executemany):
        flat = " ".join(statement.split())
        if flat.startswith(("UPDATE talent_entries SET status", "INSERT INTO notifications")):
            seen.append(flat)

    event.listen(engine, "before_cursor_execute", before)
    try:
        rollup.rollup_year(db, 2026, now=NOW, chunk_size=3)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    kinds = {s.split(" ")[0] for s in seen}
    assert kinds == {"UPDATE", "INSERT"}, seen
    for flat in seen:
        assert re.search(r"\btalent_entries\.user_id > ", flat) and re.search(r"\btalent_entries\.user_id <= ", flat), flat


def test_perf_rollup_entries_update_joins_each_entry_to_its_event_once(db, world):
    """The chunk's entries are updated FROM their events (one join), not by an IN and two correlated subqueries
    that probed the events three times an entry (issue 20: 2.2 of 11.3 s of the full-scale PostgreSQL roll-up).
    The plan of each entries' UPDATE the roll-up runs, as the database makes it with the chunk's parameters, has
    no correlated subquery (SQLite) / no SubPlan (PostgreSQL)."""
    _people(db, world)
    out, plans = _rollup_explained(db, lambda statement, _many: statement.lstrip().startswith("UPDATE talent_entries"))
    assert out["warning"] + out["lapsed"] >= 2 and plans, (out, plans)
    assert not [line for _s, plan in plans for line in plan if "SUBQUERY" in line or "SubPlan" in line], plans


def _rollup_explained(db, wanted) -> tuple[dict, list[tuple[str, list[str]]]]:
    """Run the 2026 roll-up in chunks of 3 and explain each statement ``wanted(statement, executemany)`` picks, on
    its own connection with its parameters, as the database plans it: the run's counts, and (statement, plan lines)."""
    engine, plans = db.get_bind().engine, []
    sqlite = engine.dialect.name == "sqlite"

    def before(conn, cursor, statement, params, context, executemany):
        if not wanted(statement, executemany):
            return
        cur = cursor.connection.cursor()
        try:
            cur.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, params)
            plans.append((statement, [str(r[3] if sqlite else r[0]) for r in cur.fetchall()]))
        finally:
            cur.close()

    event.listen(engine, "before_cursor_execute", before)
    try:
        out = rollup.rollup_year(db, 2026, now=NOW, chunk_size=3)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return out, plans


def test_perf_rollup_analyses_the_tables_it_fills_a_few_times_a_run(db, world, monkeypatch):
    """PostgreSQL: a committed run ANALYZEs the events and sanctions it writes each time its rows reach what the
    table held when last analysed (doubling), on a connection of its own outside the chunk's transaction; the
    cached generic plans made on a nearly empty table's statistics otherwise scanned every event for each chunk
    until autovacuum came (issue 20: 7,101 scans, 57.8 s instead of 11-19 s at full scale). Not on SQLite, and not
    when the caller keeps everything in its own transaction (no ``after_chunk``: nothing committed to sample)."""
    _people(db, world)
    engine, seen = db.get_bind().engine, []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    monkeypatch.setattr(rollup, "ANALYZE_MIN_ROWS", 1)
    event.listen(engine, "before_cursor_execute", before)
    try:
        sp = db.begin_nested()
        out = rollup.rollup_year(db, 2026, now=NOW, chunk_size=1)
        sp.rollback()
        assert not [s for s in seen if s.startswith("ANALYZE")]  # no after_chunk: nothing committed
        sp = db.begin_nested()
        out = rollup.rollup_year(db, 2026, now=NOW, chunk_size=1, after_chunk=lambda _c: None)
        sp.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    analysed = [s for s in seen if s.startswith("ANALYZE")]
    if db.get_bind().dialect.name == "sqlite":
        assert analysed == []
        return
    moved = out["warning"] + out["lapsed"] + out["active"]
    assert out["chunks"] == 6 and moved >= 4, out
    assert analysed and all(set(s[len("ANALYZE "):].split(", ")) <= set(rollup.GROWING) for s in analysed), analysed
    # Doubling: at most about log2 of the rows added per table, never once a chunk.
    assert len([s for s in analysed if "talent_events" in s]) <= moved.bit_length() + 1 < out["chunks"], analysed
