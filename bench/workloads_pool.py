"""The talent pool's workloads of issue 9: the year-end credit roll-up (the scheduled job, timed against a plain
SUM scan of the same table in the same run, with every write transaction timed) and the regulator's filtered,
paginated talent-pool search (16 users, gunicorn against the bare WSGI endpoint, same client, same run)."""
from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from urllib.parse import urlencode

from sqlalchemy import case, event, func, select, text

from bench import client
from bench.client import Req
from bench.workloads import TRANSACTION_CONTROL, forge_logins

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


# ------------------------------------------------------------------ transactions, timed on the engine
class TransactionTimer:
    """Times every transaction on ``engine`` from its BEGIN (on SQLite after BEGIN IMMEDIATE got the write lock)
    to the end of its COMMIT or ROLLBACK, and notes whether it wrote (INSERT, UPDATE or DELETE)."""

    def __init__(self, engine, sessionmaker):
        self.engine, self.sessionmaker = engine, sessionmaker
        self.local = threading.local()
        self.done: list[tuple[float, bool]] = []  # (seconds, wrote)
        self.statements: list[tuple[float, str]] = []  # (seconds, the statement's head): the slowest are reported

    def _begin(self, conn):
        self.local.t0, self.local.wrote = time.perf_counter(), False

    def _exec(self, conn, cursor, statement, params, context, executemany):
        if WRITE.match(statement):
            self.local.wrote = True
        self.local.s0 = time.perf_counter()

    def _executed(self, conn, cursor, statement, params, context, executemany):
        s0 = getattr(self.local, "s0", None)
        if s0 is not None:
            self.statements.append((time.perf_counter() - s0, " ".join(statement.split())[:70]))

    def _end(self, *_a):
        t0 = getattr(self.local, "t0", None)
        if t0 is not None:
            self.local.t0 = None
            self.done.append((time.perf_counter() - t0, self.local.wrote))

    def _commit_started(self, conn):
        self.local.pending = True

    def __enter__(self):
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._exec)
        event.listen(self.engine, "after_cursor_execute", self._executed)
        event.listen(self.engine, "rollback", self._end)
        # The end of a commit: the Session's after_commit runs once the database has committed; a Core
        # connection's commit (no Session) is closed by the engine's "commit" event (just before the DBAPI call).
        event.listen(self.sessionmaker, "after_commit", self._end)
        event.listen(self.engine, "commit", self._commit_started)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._exec)
        event.remove(self.engine, "after_cursor_execute", self._executed)
        event.remove(self.engine, "rollback", self._end)
        event.remove(self.sessionmaker, "after_commit", self._end)
        event.remove(self.engine, "commit", self._commit_started)

    def summary(self) -> dict:
        writes = sorted(s for s, w in self.done if w)
        return {"transactions": len(self.done), "write_transactions": len(writes),
                "max_write_ms": round(max(writes, default=0) * 1000, 1),
                "p95_write_ms": round(client.percentile(writes, 95) * 1000, 1) if writes else 0.0,
                "writes_over_200ms": sum(1 for s in writes if s > 0.2),
                # Issue 20: which statements the slow writes spent their time in (the five slowest, and per kind).
                "slowest_statements": [(round(t * 1000, 1), head) for t, head in sorted(self.statements)[-5:]],
                "statements_over_100ms": _by_kind(t for t in self.statements if t[0] > 0.1)}


def _by_kind(slow) -> dict:
    out: dict = {}
    for _t, head in slow:
        out[head[:40]] = out.get(head[:40], 0) + 1
    return out


def _timed(conn, sql: str, params: dict | None = None, repeat: int = 2) -> tuple[float, list]:
    """The best of ``repeat`` runs (the first also warms the cache), fetching every row."""
    best, rows = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        rows = conn.execute(text(sql), params or {}).all()
        dt_ = time.perf_counter() - t
        best = dt_ if best is None else min(best, dt_)
    return best, rows


# ------------------------------------------------------------------ 7. the year-end credit roll-up
def rollup(app, gen) -> dict:
    """The scheduled job ``talent-rollup`` as the scheduler runs it (``lms.jobs.services.run_job``) on the 2nd of
    January after the generated year, then once more (idempotent: nothing may change). Baselines, same run, same
    table: ``SELECT SUM(hours)`` and ``SELECT user_id, SUM(hours) … GROUP BY user_id`` over all credit records."""
    from credits.models import CreditRecord, YearStanding
    from lms.db import db
    from lms.jobs import services as jobs
    from talent import jobs as _talent_jobs  # noqa: F401  (registers the job)
    from talent.models import TalentEntry, TalentEvent
    from talent.services import rollup as rollup_services
    from lms.templating import SHANGHAI

    year = gen.rollup_year
    with app.app_context():
        engine, maker = db.engine, app.extensions["lms_db"].sessionmaker
        with engine.connect() as c:
            n_records = c.execute(select(func.count()).select_from(CreditRecord.__table__)).scalar()
            plain_s, _ = _timed(c, "SELECT SUM(hours) FROM credit_records")
            grouped_s, grouped = _timed(c, "SELECT user_id, SUM(hours) FROM credit_records GROUP BY user_id")
            c.rollback()
        now = dt.datetime(year + 1, 1, 2, 1, 30, tzinfo=SHANGHAI)
        with TransactionTimer(engine, maker) as timer:
            t = time.perf_counter()
            run = jobs.run_job(maker, "talent-rollup", trigger="bench", now=now)
            seconds = time.perf_counter() - t
        first = dict(run.result or {})
        with maker() as s:
            events = s.scalar(select(func.count()).select_from(TalentEvent))
            statuses = dict(s.execute(select(TalentEntry.status, func.count()).group_by(TalentEntry.status)).all())
            standing_n, standing_ok = s.execute(select(func.count(), func.sum(case((YearStanding.compliant, 1), else_=0)))
                                                .where(YearStanding.year == year)).one()
            expect_ok = plain_compliant(s, year)
        # Issue 20: the second run over unchanged data must write no row (no dead-row rewrites): the driver's
        # rowcount of every INSERT, UPDATE and DELETE it runs (the job's own run record excepted).
        rewritten = [0]

        def count_rows(conn, cursor, statement, params, context, executemany):
            if WRITE.match(statement) and "job_runs" not in statement.split("(", 1)[0]:
                rewritten[0] += max(cursor.rowcount or 0, 0)

        event.listen(engine, "after_cursor_execute", count_rows)
        t = time.perf_counter()
        try:
            again = jobs.run_job(maker, "talent-rollup", trigger="bench", now=now)
        finally:
            event.remove(engine, "after_cursor_execute", count_rows)
        again_s = time.perf_counter() - t
        with maker() as s:
            events2 = s.scalar(select(func.count()).select_from(TalentEvent))
            statuses2 = dict(s.execute(select(TalentEntry.status, func.count()).group_by(TalentEntry.status)).all())
    return {"year": year, "credit_records": n_records, "people_in_records": len(grouped),
            "plain_sum_s": round(plain_s, 3), "grouped_sum_s": round(grouped_s, 3),
            "seconds": round(seconds, 2), "status": run.status, "result": first,
            "ratio_plain": round(seconds / plain_s, 2) if plain_s else None,
            "ratio_grouped": round(seconds / grouped_s, 2) if grouped_s else None,
            "transactions": timer.summary(),
            "standings": standing_n, "standings_compliant": int(standing_ok or 0), "expected_compliant": expect_ok,
            "statuses": {getattr(k, "value", k): v for k, v in statuses.items()},
            "second_run_s": round(again_s, 2), "second_run_status": again.status,
            "second_run_new_events": events2 - events, "second_run_status_changes": statuses2 != statuses,
            "second_run_rows_written": rewritten[0], "chunk_cap": rollup_services.ROLLUP_MAX_CHUNK}


def plain_compliant(session, year: int) -> int:
    """The roll-up's compliant count for ``year`` in one plain query, written from the seed, not from the service:
    seed 002 (三) 「首席质量官在任期内应按规定递交年度质量管理绩效报告或继续教育证明」 — a CQO in office files the
    year's performance report OR the continuing-education hours of the time in office (the generated province
    keeps the defaults: 90 hours a year, 60 of them professional, prorated by the days in office; the year of the
    certificate or of the appointment exempt). Counted over
    the members the roll-up judges (not exited, entered by the year end): compliant unless in office that year
    (an accepted appointment in force on some day of it), past their first year, with neither the report nor
    the hours. (Before issue 20 this query demanded the hours AND the report of everyone, in office or not,
    and the generator made no appointments, so that the roll-up held no one: 190,114 vs 34,799.)"""
    from credits.models import AnnualReport, CreditRecord, SubjectCategory
    from talent.models import Appointment, PoolStatus, RegistrationStatus, TalentEntry

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    cr, ap = CreditRecord, Appointment
    tot = (select(cr.user_id.label("uid"), func.sum(cr.hours).label("t"),
                  func.sum(case((cr.subject_category == SubjectCategory.professional, cr.hours), else_=0)).label("p"))
           .where(cr.year == year).group_by(cr.user_id).subquery())
    after = end + dt.timedelta(days=1)
    office = (select(ap.user_id.label("uid"), func.min(ap.appointed_on).label("since"),
                     func.max(func.coalesce(ap.ended_on, after)).label("until"))
              .where(ap.status == RegistrationStatus.accepted, ap.appointed_on <= end,
                     (ap.ended_on.is_(None)) | (ap.ended_on > start))
              .group_by(ap.user_id).subquery())
    te = TalentEntry
    held = office.c.uid.is_not(None) & (te.entered_on < start) & (office.c.since < start)
    # The hours of the time in office (held: in office since before 1 January): 90 × days / days of the year.
    until = case((office.c.until < after, office.c.until), else_=after)
    days = (func.julianday(until) - func.julianday(start) if session.get_bind().dialect.name == "sqlite"
            else until - start)
    year_days = (after - start).days
    met = AnnualReport.id.is_not(None) | ((func.coalesce(tot.c.t, 0) * year_days >= 90 * days)
                                          & (func.coalesce(tot.c.p, 0) * year_days >= 60 * days))
    return session.scalar(
        select(func.count()).select_from(te)
        .outerjoin(tot, tot.c.uid == te.user_id).outerjoin(office, office.c.uid == te.user_id)
        .outerjoin(AnnualReport, (AnnualReport.user_id == te.user_id) & (AnnualReport.year == year))
        .where(te.status != PoolStatus.exited, te.entered_on <= end, ~held | met))


# ------------------------------------------------------------------ 8. talent-pool search
def search_paths(app, gen, n: int = 400, seed: int = 8) -> list[str]:
    """The regulator's pool list with filters as people use them: a status, a tier, a county, stars, a surname,
    part of an enterprise name, alone or combined, mostly on the first pages, sometimes far down the list."""
    from lms.db import db
    from lms.orgs.models import Region
    from talent.models import PoolStatus
    from lms.domain import Tier

    with app.app_context():
        nantong = db.session.scalar(select(Region).where(Region.code == "320600"))
        regions = [nantong.id] + list(db.session.scalars(select(Region.id).where(Region.parent_id == nantong.id)))
    rng = random.Random(seed)
    surnames = "王李张刘陈杨黄赵吴周"
    out = []
    for _ in range(n):
        args: dict = {}
        k = rng.random()
        if k < 0.5:
            args["status"] = rng.choice([s.value for s in PoolStatus])
        if rng.random() < 0.3:
            args["tier"] = rng.choice([t.value for t in Tier])
        if rng.random() < 0.4:
            args["region"] = rng.choice(regions)
        if rng.random() < 0.15:
            args["stars"] = rng.randint(1, 5)
        if rng.random() < 0.2:
            args["q"] = rng.choice(surnames)
        if rng.random() < 0.1:
            args["enterprise"] = f"基准{rng.randrange(20):02d}"
        r = rng.random()
        args["page"] = 1 if r < 0.6 else rng.randint(2, 10) if r < 0.9 else rng.randint(11, 2000)
        out.append("/talent/pool?" + urlencode(args))
    return out


def count_statements(app, paths: list[str], headers: dict) -> dict:
    """Like ``bench.workloads.count_statements``, logged in (the forged cookie)."""
    from lms.db import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    per_path = []
    try:
        c = app.test_client()
        for part in headers.get("Cookie", "").split("; "):
            name, _eq, value = part.partition("=")
            c.set_cookie(name, value)  # the test client ignores a Cookie header
        ua = {"User-Agent": client.USER_AGENT}
        c.get(paths[0], headers=ua)
        for p in paths:
            seen.clear()
            r = c.get(p, headers=ua)
            stmts = [s for s in seen if not TRANSACTION_CONTROL.match(s)]
            per_path.append({"path": p[:80], "status": r.status_code, "statements": len(stmts),
                             "with_transaction_control": len(seen), "sql": [s.split("\n")[0][:100] for s in stmts]})
    finally:
        event.remove(engine, "before_cursor_execute", before)
    worst = max(per_path, key=lambda x: x["statements"])
    return {"max": worst["statements"], "max_with_transaction_control": max(x["with_transaction_control"] for x in per_path),
            "statuses": sorted({x["status"] for x in per_path}), "worst": worst, "samples": per_path[:1]}


def talent_search(app, gen, bare_port: int, app_port: int, duration: float, bare_duration: float,
                  users: int = 16) -> dict:
    """``users`` regulators (one provincial account, a session each) in a closed loop over ``search_paths``."""
    from lms.auth.models import User
    from lms.db import db

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "jiangsu_admin"))
    login = forge_logins(app, [uid])[uid]
    paths = search_paths(app, gen)
    headers = {"Cookie": login["Cookie"]}

    def make(u, n):
        return Req("GET", paths[(u * 37 + n) % len(paths)], b"", headers, u)

    bare_resps, bare_elapsed = client.closed_loop(bare_port, make, users, bare_duration)
    resps, elapsed = client.closed_loop(app_port, make, users, duration)
    ok = lambda r: r.status == 200 and b'id="pool-table"' in r.body  # noqa: E731
    stmts = count_statements(app, paths[:30], headers)
    return {"users": users, "bare": client.summary(bare_resps, bare_elapsed), "app": client.summary(resps, elapsed, ok),
            "statements": stmts}
