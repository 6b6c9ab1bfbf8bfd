"""Issue 20, the public records a server process keeps between scans (``certificates.services.KeptRecords``) and the
change feed that says when they may be used (``lms.changes``: PostgreSQL's notifications from statement triggers on
the tables a record is read from).

Each test serves a database of its own (migrated, with the demo), through an app whose sessions are bound to its
engine as in production (the suite's other tests bind a rolled-back transaction, on which nothing is kept). Reads are
counted (``KeptRecords.reads``), never timed. On SQLite there is no feed: every scan reads, which each test checks
there instead; on PostgreSQL a scan reads again after any committed change to a certificate, a pool entry or a
sanction, after a change that lands during its read, while the feed is not listening, and past the age bound.
"""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select, text

import certificates.fastpath
from certificates.models import Certificate
from certificates.services import verification
from lms import changes, db as lms_db, demo
from lms.features import import_models
from talent.models import TalentEntry
from tests import dbutil
from tests.conftest import TODAY, make_app


@pytest.fixture(scope="module")
def served(database_url, tmp_dir):
    """(app, engine, a certificate's cid, its holder's pool entry id or None) on a migrated database with the demo."""
    url = dbutil.migrated_url(database_url, "kept_records", tmp_dir)
    work = tmp_dir / "kept_records"
    work.mkdir(exist_ok=True)
    app = make_app(url, tmp_dir, CERT_KEY_DIR=str(work / "keys"), UPLOAD_DIR=str(work / "uploads"),
                   CERT_VERIFY_RATE_LIMIT="100000 per hour")
    import_models()
    with app.app_context():
        with lms_db.db.job_session() as s:
            demo.seed(s, TODAY)
    engine = app.extensions["lms_db"].engine
    with engine.connect() as conn:
        cid, holder = conn.execute(select(Certificate.cid, Certificate.holder_user_id)
                                   .order_by(Certificate.id).limit(1)).one()
        entry = conn.scalar(select(TalentEntry.id).where(TalentEntry.user_id == holder))
    yield app, engine, cid, entry
    if engine.lms_changes is not None:
        engine.lms_changes.stop()


@pytest.fixture
def kept(served):
    """The app's kept records, emptied, with the feed listening (PostgreSQL)."""
    app, engine, _cid, _entry = served
    records = certificates.fastpath.kept_records_of(app)
    records._kept.clear()  # noqa: SLF001 (each test starts with nothing kept)
    feed = engine.lms_changes
    if feed is not None:
        assert wait_for(lambda: feed.generation() is not None), "the change feed did not start listening"
    return records


def wait_for(condition, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def scan(app, cid: str) -> dict:
    resp = app.test_client().get(f"/api/v1/verify/{cid}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def committed(engine, sql: str, **params) -> None:
    """``sql`` committed on a connection of its own (another request, another host), then heard by the feed."""
    feed = engine.lms_changes
    before = feed.heard if feed is not None else 0
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    if feed is not None:
        assert wait_for(lambda: feed.heard > before), "the change was not heard"


def is_postgres(engine) -> bool:
    return engine.dialect.name == "postgresql"


def test_perf_25_a_record_is_read_once_while_nothing_changes(served, kept):
    """PostgreSQL: a process's second and later scans of a certificate make no statement; SQLite: every scan reads
    (no feed). The answers are the same either way."""
    app, engine, cid, _entry = served
    first = scan(app, cid)
    reads = kept.reads
    answers = [scan(app, cid) for _ in range(3)]
    assert answers == [first] * 3
    assert kept.reads == reads + (0 if is_postgres(engine) else 3)
    assert (engine.lms_changes is None) == (not is_postgres(engine))


@pytest.mark.parametrize("change", ["certificate", "entry", "sanction"])
def test_perf_25_a_committed_change_is_read_at_the_next_scan(served, kept, change):
    """A change committed by anyone (a revocation, the holder's pool standing, a sanction) is read at the next scan
    once the feed has heard it, and the answer shows it."""
    app, engine, cid, entry = served
    before = scan(app, cid)
    scan(app, cid)
    reads = kept.reads
    with engine.connect() as conn:
        was = conn.execute(text("SELECT status, status_cause FROM talent_entries WHERE id = :id"), {"id": entry}).one()
    try:
        if change == "certificate":
            committed(engine, "UPDATE certificates SET status = 'revoked' WHERE cid = :cid", cid=cid)
        elif change == "entry":
            assert entry is not None, "the demo's first certificate holder is in the pool"
            committed(engine, "UPDATE talent_entries SET status = 'warning', status_cause = 'missing_report' "
                      "WHERE id = :id", id=entry)
        else:
            committed(engine, "UPDATE talent_sanctions SET basis = basis WHERE entry_id = :id", id=entry)
        after = scan(app, cid)
        assert kept.reads == reads + 1
        if change == "certificate":
            assert before["status"] == "valid" and after["status"] == "revoked"
        elif change == "entry":
            assert after["pool"]["status"] == "warning" and before["pool"]["status"] != "warning"
        scan(app, cid)
        assert kept.reads == reads + (1 if is_postgres(engine) else 2)  # kept again after its read
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE certificates SET status = 'valid' WHERE cid = :cid"), {"cid": cid})
            conn.execute(text("UPDATE talent_entries SET status = :s, status_cause = :c WHERE id = :id"),
                         {"s": was[0], "c": was[1], "id": entry})


def test_perf_25_a_change_during_the_read_is_not_kept(served, kept, monkeypatch):
    """A change committed and heard while a scan's read is under way (the read may have missed it), and another
    scan (another thread) meanwhile reading the new state: what the first read saw is never used afterwards, though
    it is stored after the other's. The next scans answer the change."""
    app, engine, cid, _entry = served
    original = verification.read_public_record
    raced: list = []

    def read_then_revoke(bind, number):
        rec = original(bind, number)
        if not raced:
            raced.append(1)
            committed(engine, "UPDATE certificates SET status = 'revoked' WHERE cid = :cid", cid=cid)
            raced.append(scan(app, cid)["status"])  # another thread's scan, between this read and its keeping
        return rec
    monkeypatch.setattr(verification, "read_public_record", read_then_revoke)
    try:
        assert scan(app, cid)["status"] == "valid"  # what the first read saw
        assert raced[1] == "revoked"
        assert [scan(app, cid)["status"] for _ in range(3)] == ["revoked"] * 3
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE certificates SET status = 'valid' WHERE cid = :cid"), {"cid": cid})


def test_perf_25_nothing_is_used_while_the_feed_is_not_listening(served, kept):
    """PostgreSQL: the feed's connection ended by the server and its next one not listening: every scan reads; once
    it listens again, what was kept before is not used (it may have missed a change meanwhile). SQLite: no feed."""
    app, engine, cid, _entry = served
    feed = engine.lms_changes
    if feed is None:
        reads = kept.reads
        scan(app, cid)
        scan(app, cid)
        assert kept.reads == reads + 2
        return
    scan(app, cid)
    scan(app, cid)  # kept
    connected = feed.connected
    feed.listen_sql = "SELECT 1"  # its next connection hears nothing, so the feed stays untrusted while we look
    try:
        end_listener(engine)
        assert wait_for(lambda: feed.connected > connected)
        assert feed.generation() is None
        reads = kept.reads
        scan(app, cid)
        scan(app, cid)
        assert kept.reads == reads + 2
    finally:
        feed.listen_sql = f"LISTEN {changes.CHANNEL}"
    end_listener(engine)  # the deaf connection; the next one listens
    assert wait_for(lambda: feed.generation() is not None)
    reads = kept.reads
    scan(app, cid)  # kept before the feed went down: read again
    scan(app, cid)
    assert kept.reads == reads + 1


def end_listener(engine) -> None:
    """The server ends the feed's listening connection (pg_stat_activity names it)."""
    with engine.begin() as conn:
        assert conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = 'lms_changes' AND datname = current_database()")) >= 1


def test_perf_25_a_silent_feed_is_not_trusted(served):
    """A feed none of whose heartbeats came back for three intervals (a connection silently cut) is not trusted:
    generation() is None and every read goes to the database; while they come back, a record is read once. The
    feed's state is set here as its listener would leave it (no thread is started), on both databases."""
    _app, engine, cid, _entry = served
    feed = changes.ChangeFeed(engine)
    feed._pid = os.getpid()  # noqa: SLF001 (as if its listener ran in this process)
    records = verification.KeptRecords(feed, 10, 300.0)
    feed._live_until = time.monotonic() + 60  # noqa: SLF001 (a heartbeat heard lately)
    assert feed.generation() is not None
    records.read(engine, cid)
    records.read(engine, cid)
    assert records.reads == 1
    feed._live_until = time.monotonic() - 0.001  # noqa: SLF001 (the last one three intervals ago)
    assert feed.generation() is None
    records.read(engine, cid)
    records.read(engine, cid)
    assert records.reads == 3


def test_perf_25_age_and_size_bound_what_is_kept(served, kept, monkeypatch):
    """A record older than CERT_VERIFY_RECORD_SECONDS is read again; CERT_VERIFY_RECORD_CACHE 0 keeps none."""
    app, _engine, cid, _entry = served
    scan(app, cid)
    monkeypatch.setattr(kept, "max_age", 0.0)
    reads = kept.reads
    scan(app, cid)
    scan(app, cid)
    assert kept.reads == reads + 2
    monkeypatch.setattr(kept, "max_age", 300.0)
    monkeypatch.setattr(kept, "size", 0)
    reads = kept.reads
    scan(app, cid)
    scan(app, cid)
    assert kept.reads == reads + 2


def test_perf_25_triggers_notify_once_a_statement(served, app):
    """PostgreSQL: the migration and create_all both put the statement trigger on each watched table; an UPDATE of
    every pool entry (the roll-up's kind of statement) is one notification, not one a row. SQLite: no trigger."""
    _app, engine, _cid, _entry = served
    names = {changes.trigger_name(t) for t in ("certificates", "talent_entries", "talent_sanctions")}
    assert set(changes.WATCHED) == {"certificates", "talent_entries", "talent_sanctions"}
    if not is_postgres(engine):
        return
    listed = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'lms\\_changes\\_%'"
    with engine.connect() as conn:
        assert {r[0] for r in conn.execute(text(listed))} == names  # the migration's
        n = conn.scalar(text("SELECT count(*) FROM talent_entries"))
    with app.extensions["lms_db"].engine.connect() as conn:  # the suite's database, made by create_all
        assert {r[0] for r in conn.execute(text(listed))} == names
    feed = engine.lms_changes
    assert n > 1
    before = feed.heard
    with engine.begin() as conn:
        conn.execute(text("UPDATE talent_entries SET status_since = status_since"))
    assert wait_for(lambda: feed.heard > before)
    time.sleep(0.3)
    assert feed.heard == before + 1


def test_perf_25_a_feed_that_hears_nothing_is_never_trusted(served):
    """PostgreSQL: a feed whose notifications do not reach its session (behind a pooler that does not keep a
    session's LISTEN, such as PgBouncer's transaction pooling; here LISTEN is not sent at all) never hears its own
    heartbeat, so it never counts as listening: nothing would be kept. The same feed with LISTEN is trusted at its
    first heartbeat. SQLite: there is no feed."""
    _app, engine, _cid, _entry = served
    if not is_postgres(engine):
        assert changes.ChangeFeed.of(engine) is None
        return
    deaf, heard = changes.ChangeFeed(engine, heartbeat=0.1), changes.ChangeFeed(engine, heartbeat=0.1)
    deaf.listen_sql = "SELECT 1"
    try:
        assert deaf.generation() is None and heard.generation() is None  # each starts its listener
        assert wait_for(lambda: heard.generation() is not None)
        assert wait_for(lambda: deaf.connected >= 1)
        time.sleep(0.5)  # five heartbeats
        assert deaf.generation() is None
    finally:
        deaf.stop()
        heard.stop()
