"""``python -m bench.profile_rollup``: the year-end roll-up (job ``talent-rollup``) on a database generated once,
run again and again with every statement timed (issue 20: the full-scale data take ~3-4 min to generate, the
roll-up ~1 min; measuring a change must not cost the generation each time).

    python -m bench.profile_rollup prepare [SCALE]   # (re)create the database, generate, keep the pre-roll-up state
    python -m bench.profile_rollup run [--twice]     # undo the last roll-up, run the job, print where its time went

The database is ``BENCH_PG_DB`` (PostgreSQL, role lms/lms on 127.0.0.1:5432) or ``PROFILE_SQLITE`` (a file), its
settings (keys, instance folder) kept in ``/tmp/profile_rollup-<db>/env.json``. ``prepare`` copies what the
roll-up changes (the entries' status columns, the sanctions) into ``profile_rollup_*`` tables and notes the
highest ids of the tables it appends to; ``run`` restores that state (and ANALYZEs, as the generator does), so
every run starts from the generated data. The printed JSON: the job's seconds, chunks, the write transactions
(``workloads_pool.TransactionTimer``), the time, count and worst of each statement kind, the GROUP BY baseline
and the compliant count against the plain SQL check (``workloads_pool.plain_compliant``)."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from bench.spy import StatementSpy

# The tables a roll-up appends to, restored by deleting the rows above the ids noted after generating.
APPENDED = ("talent_events", "notifications", "job_runs")
KIND = re.compile(r"^\s*(\w+)\s+(?:INTO\s+)?(\w+)", re.I)


def _workdir() -> Path:
    name = os.environ.get("PROFILE_SQLITE") or os.environ.get("BENCH_PG_DB", "lms_bench")
    return Path("/tmp") / f"profile_rollup-{Path(name).stem}"


def _env(fresh: bool) -> dict:
    """The settings of the profiled database: made once by ``prepare``, read back by ``run``."""
    from lms.pii import generate_key

    work, path = _workdir(), _workdir() / "env.json"
    if not fresh:
        return json.loads(path.read_text())
    work.mkdir(parents=True, exist_ok=True)
    if os.environ.get("PROFILE_SQLITE"):
        Path(os.environ["PROFILE_SQLITE"]).unlink(missing_ok=True)
        url = f"sqlite:///{os.environ['PROFILE_SQLITE']}"
    else:
        from bench.__main__ import pg_url

        url = pg_url()  # drops and re-creates BENCH_PG_DB
    env = {"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": generate_key(),
           "CERT_KEY_DIR": str(work / "keys"), "UPLOAD_DIR": str(work / "uploads"), "LMS_INSTANCE_PATH": str(work),
           "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "WARNING"}
    path.write_text(json.dumps(env))
    return env


def _app(env: dict):
    os.environ.update(env)
    from lms.app import create_app

    return create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour"})


def prepare(scale: float) -> dict:
    from bench.generate import generate, prepare_database
    from lms.db import db

    env = _env(fresh=True)
    app = _app(env)
    prepare_database(app)
    gen = generate(app, scale)
    with app.app_context():
        s = db.session
        s.execute(text("CREATE TABLE profile_rollup_entries AS SELECT id, status, status_cause, status_since, "
                       "updated_at FROM talent_entries"))
        s.execute(text("CREATE TABLE profile_rollup_sanctions AS SELECT * FROM talent_sanctions"))
        marks = {t: s.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}")) for t in APPENDED}  # noqa: S608
        s.commit()
    state = {"year": gen.rollup_year, "marks": marks, "scale": scale}
    (_workdir() / "state.json").write_text(json.dumps(state))
    return state


def restore(session, state: dict) -> None:
    """Undo every roll-up since ``prepare``: the year's standings, the appended rows, the entries' statuses."""
    year, dialect = state["year"], session.get_bind().dialect.name
    session.execute(text("DELETE FROM year_standings WHERE year = :y"), {"y": year})
    for table in APPENDED:
        session.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": state["marks"][table]})  # noqa: S608
    session.execute(text("DELETE FROM talent_sanctions"))
    session.execute(text("INSERT INTO talent_sanctions SELECT * FROM profile_rollup_sanctions"))
    session.execute(text("UPDATE talent_entries SET status = p.status, status_cause = p.status_cause, "
                         "status_since = p.status_since, updated_at = p.updated_at FROM profile_rollup_entries p "
                         "WHERE p.id = talent_entries.id AND (p.status <> talent_entries.status "
                         "OR p.status_cause <> talent_entries.status_cause)"))
    session.commit()
    if dialect == "postgresql":  # the generator ends with ANALYZE (bench.generate): as a fresh database would be
        with session.get_bind().engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("year_standings", "talent_events", "notifications", "talent_sanctions", "talent_entries"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        session.execute(text("ANALYZE"))
        session.commit()


class StatementTimes(StatementSpy):
    """Every statement on ``engine`` timed and summed by kind (verb and table, e.g. ``INSERT year_standings``)."""

    def __init__(self, engine):
        super().__init__(engine)
        self.kinds, self.t0 = {}, None

    def _before(self, conn, cursor, statement, params, context, executemany):
        self.t0 = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        took = time.perf_counter() - self.t0
        m = KIND.match(statement)
        kind = " ".join(m.groups()) if m else statement.split()[0]
        n, total, worst = self.kinds.get(kind, (0, 0.0, 0.0))
        self.kinds[kind] = (n + 1, total + took, max(worst, took))

    def summary(self) -> dict:
        return {k: {"n": n, "ms": round(t * 1000), "worst_ms": round(w * 1000, 1)}
                for k, (n, t, w) in sorted(self.kinds.items(), key=lambda kv: -kv[1][1])}


def run(twice: bool) -> dict:
    from bench.workloads_pool import TransactionTimer, _timed, plain_compliant
    from credits.models import YearStanding
    from lms.db import db
    from lms.jobs import services as jobs
    from lms.templating import SHANGHAI
    from talent import jobs as _talent_jobs  # noqa: F401  (registers the job)
    from talent.models import TalentEvent

    state = json.loads((_workdir() / "state.json").read_text())
    app, year = _app(_env(fresh=False)), state["year"]
    out: dict = {"load_before": Path("/proc/loadavg").read_text().split()[:3]}
    with app.app_context():
        engine, maker = db.engine, app.extensions["lms_db"].sessionmaker
        with maker() as s:
            restore(s, state)
        with engine.connect() as c:
            out["grouped_sum_s"] = round(_timed(c, "SELECT user_id, SUM(hours) FROM credit_records GROUP BY user_id")[0], 3)
            c.rollback()
        now = dt.datetime(year + 1, 1, 2, 1, 30, tzinfo=SHANGHAI)
        with TransactionTimer(engine, maker) as timer, StatementTimes(engine) as times:
            t = time.perf_counter()
            first = jobs.run_job(maker, "talent-rollup", trigger="bench", now=now)
            out["seconds"] = round(time.perf_counter() - t, 2)
        out["ratio_grouped"] = round(out["seconds"] / out["grouped_sum_s"], 1)
        out["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
        out["status"], out["result"] = first.status, first.result
        tx = timer.summary()
        out["transactions"] = {k: tx[k] for k in ("write_transactions", "max_write_ms", "p95_write_ms",
                                                  "writes_over_200ms", "slowest_statements")}
        out["statements"] = times.summary()
        if engine.dialect.name == "postgresql":  # how the prepared chunk statements were planned (the pooled connection)
            with engine.connect() as c:
                out["prepared"] = [(left, g, cu) for left, g, cu in c.execute(text(
                    "SELECT left(regexp_replace(statement, '\\s+', ' ', 'g'), 60), generic_plans, custom_plans "
                    "FROM pg_prepared_statements ORDER BY custom_plans DESC"))]
        with maker() as s:
            out["events"] = s.scalar(select(func.count()).select_from(TalentEvent).where(TalentEvent.year == year))
            out["standings_compliant"] = s.scalar(select(func.count()).where(YearStanding.year == year,
                                                                             YearStanding.compliant.is_(True)))
            out["expected_compliant"] = plain_compliant(s, year)
            out["fingerprint"] = fingerprint(s, year)
        if twice:
            with StatementTimes(engine) as again:
                t = time.perf_counter()
                jobs.run_job(maker, "talent-rollup", trigger="bench", now=now)
                out["second_run_s"] = round(time.perf_counter() - t, 2)
            with maker() as s:
                out["second_run_fingerprint_same"] = fingerprint(s, year) == out["fingerprint"]
            out["second_run_statements"] = again.summary()
    return out


def fingerprint(session, year: int) -> dict:
    """What the roll-up wrote, as counts and sums that differ if any row does: standings, events, entries'
    statuses, sanctions, notifications (ids and clocks left out: they differ between runs)."""
    q = {
        "standings": "SELECT count(*), sum(hours_total), sum(hours_professional), sum(CASE WHEN compliant THEN user_id "
                     "ELSE 0 END), sum(CASE WHEN held THEN user_id ELSE 0 END), sum(CASE WHEN hours_ok THEN user_id "
                     "ELSE 0 END), sum(CASE WHEN report_filed THEN user_id ELSE 0 END) FROM year_standings WHERE year = :y",
        "events": "SELECT count(*), sum(entry_id), count(DISTINCT entry_id), count(DISTINCT from_status || to_status "
                  "|| cause || reason) FROM talent_events WHERE year = :y",
        "entries": "SELECT status, status_cause, count(*), sum(id) FROM talent_entries GROUP BY status, status_cause "
                   "ORDER BY status, status_cause",
        "sanctions": "SELECT kind, count(*), sum(entry_id), count(ended_on), max(evidence) FROM talent_sanctions "
                     "GROUP BY kind ORDER BY kind",
        "notifications": "SELECT dedupe_key, count(*), sum(user_id), max(title), max(body) FROM notifications "
                         "WHERE kind = 'pool_status' GROUP BY dedupe_key ORDER BY dedupe_key",
    }
    return {k: [list(map(str, r)) for r in session.execute(text(sql), {"y": year}).all()] for k, sql in q.items()}


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "prepare":
        out = prepare(float(argv[2]) if len(argv) > 2 else 1.0)
    elif len(argv) > 1 and argv[1] == "run":
        out = run("--twice" in argv)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out, ensure_ascii=False, default=str, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
