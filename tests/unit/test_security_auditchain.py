"""Issue 18 — an audit trail that shows tampering: each event carries the hash of the one before it; a daily
anchor is logged, stored and exported; ``flask audit verify`` names the first broken link; two writers at once
never fork the chain."""
from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import delete, func, select, update

from lms import audit, auditchain
from lms.auth.models import AuditAnchor, AuditChainHead, AuditEvent
from lms.db import as_writer, retrying
from lms.pii import scrub
from lms.templating import today_local
from tests.conftest import make_app


def _record(db, n: int, action: str = "thing.done") -> list[AuditEvent]:
    events = [audit.record(db, None, action, object_type="Thing", object_id=i, step=i) for i in range(n)]
    db.flush()
    return events


def _base(db) -> int:
    return db.scalar(select(func.coalesce(func.max(AuditEvent.chain_seq), 0)))


def test_security_audit_events_are_chained_in_order(db):
    base = _base(db)
    events = _record(db, 4)
    assert [e.chain_seq for e in events] == [base + 1, base + 2, base + 3, base + 4]
    for before, after in zip(events, events[1:]):
        assert after.prev_hash == before.hash and len(after.hash) == 64
    assert db.get(AuditChainHead, 1).last_hash == events[-1].hash
    verdict = auditchain.verify(db)
    assert verdict.ok and verdict.checked == base + 4


@pytest.mark.parametrize("tamper, reason", [
    ("edit", "内容与其哈希不符"),
    ("delete", "缺少第"),
    ("reorder", "与前一事件的哈希不符"),
])
def test_security_audit_verify_names_first_broken_link(db, tamper, reason):
    events = _record(db, 5)
    target = events[2]
    if tamper == "edit":  # an operator changes what the event says
        db.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(action="thing.undone"))
    elif tamper == "delete":
        db.execute(delete(AuditEvent).where(AuditEvent.id == target.id))
    else:  # two events' contents swapped, hashes recomputed for their own fields but not their links
        db.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(prev_hash=events[0].hash))
    db.expire_all()
    verdict = auditchain.verify(db)
    assert not verdict.ok
    assert verdict.broken.seq == target.chain_seq
    assert reason in str(verdict.broken)


def test_security_audit_verify_sees_deleted_tail_and_rewrite_against_anchor(db):
    events = _record(db, 3)
    db.execute(delete(AuditEvent).where(AuditEvent.id == events[-1].id))
    db.expire_all()
    verdict = auditchain.verify(db)
    assert not verdict.ok and "末尾事件被删除" in str(verdict.broken)


def test_security_audit_rewritten_chain_is_caught_by_exported_anchor(db, caplog):
    events = _record(db, 3)
    day = today_local()
    with caplog.at_level(logging.INFO, logger="lms.audit"):
        anchor = auditchain.write_anchor(db, day)
    assert anchor.seq == events[-1].chain_seq and anchor.hash == events[-1].hash
    # The log passes the PII masker (lms.pii.scrub), which masks any run of exactly eleven digits that looks like a
    # mobile number, and a random hex hash holds one now and then: look for the line as the masker leaves it.
    assert scrub(f"seq={anchor.seq} hash={anchor.hash}") in caplog.text
    exported = auditchain.export_anchors(db)
    assert {"day": day.isoformat(), "seq": anchor.seq, "hash": anchor.hash, "events": anchor.events} in exported
    assert auditchain.write_anchor(db, day).id == anchor.id  # once a day
    # A careful operator rewrites event 2 and every hash after it, the head and the stored anchor too.
    first = events[1]
    db.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(action="thing.undone"))
    db.execute(delete(AuditAnchor))
    db.expire_all()
    prev = db.get(AuditEvent, events[0].id).hash
    for ev in db.scalars(select(AuditEvent).where(AuditEvent.chain_seq >= first.chain_seq)
                         .order_by(AuditEvent.chain_seq)):
        ev.prev_hash = prev
        ev.hash = prev = auditchain.hash_of(ev)
    db.flush()
    db.execute(update(AuditChainHead).values(last_hash=prev))
    db.expire_all()
    assert auditchain.verify(db).ok  # the database alone no longer shows it …
    verdict = auditchain.verify(db, exported)  # … the anchor kept outside does
    assert not verdict.ok and verdict.broken.seq == anchor.seq and "锚点" in str(verdict.broken)


def test_security_audit_verify_cli(app, db):
    events = _record(db, 3)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "审计链完好" in ok.output
    db.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(object_id="other"))
    db.expire_all()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert f"第 {events[1].chain_seq} 环" in bad.output and f"id={events[1].id}" in bad.output
    exported = runner.invoke(args=["audit", "anchor", "--day", "2026-11-21"])
    assert exported.exit_code == 0 and json.loads(exported.output)["day"] == "2026-11-21"
    lines = runner.invoke(args=["audit", "anchors"]).output.splitlines()
    assert any(json.loads(line)["day"] == "2026-11-21" for line in lines)


def test_security_audit_concurrent_writers_do_not_fork_the_chain(app, database_url, tmp_dir):
    """Two apps' worth of threads commit audit events at the same time, for real; the chain stays one line."""
    papp = make_app(database_url, tmp_dir)
    state = papp.extensions["lms_db"]
    with state.sessionmaker() as s:
        start = s.scalar(select(func.coalesce(func.max(AuditEvent.chain_seq), 0)))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(k: int) -> None:
        try:
            barrier.wait()
            for i in range(8):
                def one():
                    with as_writer(), state.sessionmaker() as s:
                        audit.record(s, None, "race.write", object_type="Writer", object_id=k, i=i)
                        s.commit()
                retrying(one)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        with state.sessionmaker() as s:
            rows = s.execute(select(AuditEvent.chain_seq, AuditEvent.prev_hash, AuditEvent.hash)
                             .where(AuditEvent.chain_seq > start).order_by(AuditEvent.chain_seq)).all()
            assert [r[0] for r in rows] == list(range(start + 1, start + 33))
            for before, after in zip(rows, rows[1:]):
                assert after[1] == before[2]  # each links to the one before: no fork
            assert len({r[1] for r in rows}) == len(rows)
            assert auditchain.verify(s).ok
    finally:
        with state.engine.begin() as conn:
            conn.execute(delete(AuditEvent).where(AuditEvent.chain_seq > start))
            if start:
                last = conn.execute(select(AuditEvent.hash).where(AuditEvent.chain_seq == start)).scalar_one()
                conn.execute(update(AuditChainHead).values(seq=start, last_hash=last))
            else:
                conn.execute(delete(AuditChainHead))
        state.engine.dispose()
