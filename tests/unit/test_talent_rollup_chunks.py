"""The year-end roll-up writes in chunks (one transaction each in the scheduled job): any chunk size gives the
same standings, statuses, events and notifications as one chunk, and a second run changes nothing."""
import datetime as dt

from sqlalchemy import func, select

from credits import services as credits
from credits.models import YearStanding
from lms.notifications.models import Notification
from talent.models import Cause, PoolStatus, TalentEntry, TalentEvent
from talent.services import rollup, standing, status
from tests.ce_helpers import appoint, both_rule
from tests.factories import make_trainee
from tests.unit.test_talent_lifecycle import certify, give

REPORT = "本年度组织质量改进项目三项，完成质量管理体系内审。"


def _people(db, world):
    """Seven pool members in office since 2025, one of each case the roll-up distinguishes (in user-id order),
    under a province's rule of hours AND report (the case with the most outcomes)."""
    both_rule(db, world)
    users = [world.trainee] + [make_trainee(db, f"chunk{i}", world.ent_rg, real_name="李强") for i in range(6)]
    for i, u in enumerate(users):
        certify(db, world, user=u, cert_id=810000 + i, issued=dt.date(2025, 3, 1))
        appoint(db, world, user=u)
    ok, short_hours, no_report, lapsing, restored, short_prof, _exited = users
    for u in (ok, restored):
        give(db, u, 2026, 60, 30)
        credits.file_report(db, u, year=2026, summary=REPORT, today=dt.date(2026, 12, 1))
    give(db, short_hours, 2026, 50, 10)
    credits.file_report(db, short_hours, year=2026, summary=REPORT, today=dt.date(2026, 12, 1))
    give(db, no_report, 2026, 60, 30)
    give(db, short_prof, 2026, 30, 60)
    credits.file_report(db, short_prof, year=2026, summary=REPORT, today=dt.date(2026, 12, 1))
    db.add(YearStanding(user_id=lapsing.id, year=2025, hours_total=10, hours_professional=10, report_filed=False,
                        compliant=False))
    entries = {e.user_id: e for e in db.scalars(select(TalentEntry))}
    status.set_status(db, entries[restored.id], PoolStatus.warning, Cause.missed_credits, dt.date(2026, 1, 1))
    status.set_status(db, entries[_exited.id], PoolStatus.exited, Cause.manual, dt.date(2026, 6, 1), reason="退出")
    db.flush()
    return users


def _snapshot(db):
    entries = [(e.user_id, e.status, e.status_cause, e.status_since)
               for e in db.scalars(select(TalentEntry).order_by(TalentEntry.user_id))]
    standings = [(s.user_id, s.hours_total, s.hours_professional, s.report_filed, s.compliant)
                 for s in db.scalars(select(YearStanding).where(YearStanding.year == 2026).order_by(YearStanding.user_id))]
    events = sorted((e.entry_id, e.from_status, e.to_status, e.cause, e.year)
                    for e in db.scalars(select(TalentEvent).where(TalentEvent.year == 2026)))
    notes = sorted((n.user_id, n.title, n.body, n.dedupe_key)
                   for n in db.scalars(select(Notification).where(Notification.dedupe_key.like("rollup:%"))))
    return entries, standings, events, notes


def _run(db, chunk_size):
    commits = []
    sp = db.begin_nested()
    out = rollup.rollup_year(db, 2026, now=dt.datetime(2027, 1, 2, tzinfo=dt.timezone.utc), chunk_size=chunk_size,
                               after_chunk=lambda counts: commits.append(dict(counts)))
    db.flush()
    snap = _snapshot(db)
    again = rollup.rollup_year(db, 2026, chunk_size=chunk_size)
    assert _snapshot(db) == snap  # idempotent: nothing moves, no second event or notification
    assert again["warning"] == again["lapsed"] == again["active"] == 0
    sp.rollback()
    db.expire_all()
    return out, commits, snap


def test_chunks_of_two_give_the_same_outcome_as_one_chunk(db, world):
    users = _people(db, world)
    ok, short_hours, no_report, lapsing, restored, short_prof, exited = users
    one, one_commits, snap_one = _run(db, 1000)
    two, two_commits, snap_two = _run(db, 2)
    assert snap_two == snap_one
    assert {k: v for k, v in two.items() if k != "chunks"} == {k: v for k, v in one.items() if k != "chunks"}
    assert len(one_commits) == 1 and len(two_commits) == 3 == two["chunks"]  # 6 members (one exited)
    assert two_commits[-1]["entries"] == 6 and [c["entries"] for c in two_commits] == [2, 4, 6]

    entries, standings, events, notes = snap_two
    status = {uid: (st, cause) for uid, st, cause, _since in entries}
    assert status[ok.id] == (PoolStatus.active, Cause.certified)
    assert status[short_hours.id] == (PoolStatus.warning, Cause.missed_credits)
    assert status[no_report.id] == (PoolStatus.warning, Cause.missing_report)
    assert status[lapsing.id] == (PoolStatus.lapsed, Cause.missed_credits)
    assert status[restored.id] == (PoolStatus.active, Cause.restored)
    assert status[short_prof.id] == (PoolStatus.warning, Cause.missed_credits)
    assert status[exited.id] == (PoolStatus.exited, Cause.manual)
    assert {uid for uid, *_ in standings} == {u.id for u in users if u is not exited}
    assert [(uid, compliant) for uid, _t, _p, _r, compliant in standings if compliant] == sorted(
        [(ok.id, True), (restored.id, True)])
    assert len(events) == 5 and {n[0] for n in notes} == {short_hours.id, no_report.id, lapsing.id, short_prof.id}
    assert one == {"year": 2026, "entries": 6, "compliant": 2, "warning": 3, "lapsed": 1, "active": 1, "chunks": 1}


def test_standings_match_the_rollup(db, world):
    """The dashboard's standings (read) and the roll-up's written standings are one definition."""
    _people(db, world)
    read = {s.user_id: (s.hours_total, s.hours_professional, s.report_filed, s.compliant)
            for s in standing.standings(db, 2026)}
    rollup.rollup_year(db, 2026, chunk_size=3)
    written = {s.user_id: (s.hours_total, s.hours_professional, s.report_filed, s.compliant)
               for s in db.scalars(select(YearStanding).where(YearStanding.year == 2026))}
    assert read == written and sum(1 for v in read.values() if v[3]) == 2
    assert db.scalar(select(func.count()).select_from(YearStanding).where(YearStanding.year == 2026)) == 6


def test_the_scheduled_job_commits_chunk_by_chunk(db, world, app, monkeypatch):
    from lms.jobs import services as jobs
    from talent import jobs as _talent_jobs  # noqa: F401  (registers the job)

    users = _people(db, world)
    db.commit()
    monkeypatch.setattr(rollup, "ROLLUP_CHUNK", 2)
    commits = []
    real_rollup = rollup.rollup_year

    def spy(session, year, **kw):
        after = kw.pop("after_chunk")
        return real_rollup(session, year, after_chunk=lambda c: (commits.append(c["entries"]), after(c)), **kw)

    monkeypatch.setattr(rollup, "rollup_year", spy)
    run = jobs.run_job(app.extensions["lms_db"].sessionmaker, "talent-rollup", trigger="manual",
                       now=dt.datetime(2027, 1, 2, 1, 30, tzinfo=dt.timezone.utc))
    assert run.status == "ok", run.result
    assert run.result["entries"] == 6 and run.result["warning"] == 3 and run.result["lapsed"] == 1
    assert commits[0] == 2 and commits[-1] == 6  # one commit a chunk (the target time may grow later chunks)
    db.expire_all()
    assert db.scalar(select(TalentEntry.status).where(TalentEntry.user_id == users[3].id)) == PoolStatus.lapsed
