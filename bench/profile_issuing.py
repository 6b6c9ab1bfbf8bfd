"""``python -m bench.profile_issuing [sqlite|postgresql]``: issue 20's in-process profile of issuing, one process,
no server, no wrk. On a fresh database at the generator's smallest scale (SQLite in a temporary directory; on
PostgreSQL the database ``BENCH_PG_DB``, dropped and re-created, as ``python -m bench`` does) it

1. renders one certificate cold (a new process's first: fonts, template, caches) and then warm, under cProfile;
2. issues one job's batches (``certificates.worker.process_job``) of ``BATCH`` certificates under cProfile,
   counting the SQL statements a certificate;
3. prepares the renderer's arguments for those certificates as ``bench.issue_worker`` does (``render_args``).

Prints the top functions by cumulative time of each and one JSON line of timings. ``PROFILE_TOP`` sets how many
functions are listed (default 25). Not part of ``make bench``: a tool for the issuing row's note."""
from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select

BATCH = 50


_calls: list[int] = []  # each profile's count of Python calls


def _profile(label: str, fn, top: int):
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    out = fn()
    prof.disable()
    wall = time.perf_counter() - t0
    dump = os.environ.get("PROFILE_DUMP")  # a directory: each profile's stats, for pstats
    if dump:
        prof.dump_stats(str(Path(dump) / (label.split(" (")[0].replace(" ", "_") + ".prof")))
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    _calls.append(stats.total_calls)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"==== {label}: {wall * 1000:.1f} ms (under cProfile)")
    print("\n".join(ln for ln in buf.getvalue().splitlines() if ln.strip())[:12000])
    return out, wall


def main(argv: list[str]) -> int:
    backend = argv[1] if len(argv) > 1 else "sqlite"
    top = int(os.environ.get("PROFILE_TOP", "25"))
    tmp = Path(tempfile.mkdtemp(prefix="lms-profile-issuing-"))
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'p.sqlite3'}"
    else:
        from bench.__main__ import pg_url

        url = pg_url()
    from lms.pii import generate_key

    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
                       "FIELD_ENCRYPTION_KEY": generate_key(), "CERT_KEY_DIR": str(tmp / "keys"),
                       "UPLOAD_DIR": str(tmp / "uploads"), "LMS_INSTANCE_PATH": str(tmp),
                       "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "WARNING"})
    from bench.generate import generate, prepare_database
    from lms.app import create_app

    app = create_app({})
    prepare_database(app)
    gen = generate(app, 0.0, quiet=True)

    from bench.issue_worker import render_args
    from certificates import rendering, services, worker
    from certificates.models import Certificate
    from courses.models import Enrollment, TrainingClass
    from lms.auth.models import User
    from lms.db import db, reset_write_intent, set_write_intent
    from lms.domain import Role
    from lms.templating import today_local

    timings: dict = {"backend": backend}
    with app.app_context():
        cfg = services.CertConfig.from_app(app)
        today = today_local()
        maker = db._state().sessionmaker
        with maker() as s:
            cls = s.get(TrainingClass, gen.issue_class_id)
            actor_id = s.scalar(select(User.id).where(User.role == Role.institution_staff,
                                                      User.institution_id == cls.institution_id).order_by(User.id))
            ids = list(s.scalars(select(Enrollment.id).where(Enrollment.class_id == cls.id).order_by(Enrollment.id)))

        def job(chunk):
            token = set_write_intent(True)
            try:
                with maker() as s:
                    j = worker.start_job(s, s.get(User, actor_id), s.get(TrainingClass, gen.issue_class_id), chunk)
                    s.commit()
                    return j.id
            finally:
                reset_write_intent(token)

        # Warm: the first job pays imports, compiled statements and the key's loading.
        worker.process_job(maker, job(ids[:5]), cfg, today)
        seen: list[str] = []

        trace = os.environ.get("PROFILE_SQL_TRACE")  # a table name: where its first statements come from

        def count(conn, cursor, statement, params, context, executemany):
            seen.append(statement)
            if trace and trace in statement and sum(1 for st in seen if trace in st) in (2, 12):
                import traceback  # a debugging aid, printed only when asked

                print("---- " + statement.split("\n")[0][:100])
                print("".join(ln for ln in traceback.format_stack(limit=40) if "/wt-20" in ln and ".venv" not in ln))

        job_id = job(ids[5:5 + BATCH])
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            res, wall = _profile(f"issuing {BATCH} certificates (process_job)",
                                 lambda: worker.process_job(maker, job_id, cfg, today), top)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        if os.environ.get("PROFILE_SQL"):  # the statements of the profiled job, by kind and table
            kinds: dict[str, int] = {}
            for st in seen:
                words = st.split()
                key = " ".join(words[:3] if words[0] in ("INSERT", "DELETE") else words[:2] if words[0] == "UPDATE"
                               else [words[0], words[words.index("FROM") + 1] if "FROM" in words else ""])
                kinds[key] = kinds.get(key, 0) + 1
            for key, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
                print(f"{n:6d}  {key}")
        timings["issue_ms_per_certificate_profiled"] = round(wall * 1000 / max(res["issued"], 1), 1)
        timings["statements_per_certificate"] = round(len(seen) / max(res["issued"], 1), 1)
        timings["issued"] = res["issued"]
        timings["python_calls_per_certificate"] = round(_calls[-1] / max(res["issued"], 1))
        job_id = job(ids[5 + BATCH:5 + 2 * BATCH])
        t0, cpu0 = time.perf_counter(), time.process_time()
        res = worker.process_job(maker, job_id, cfg, today)
        timings["issue_ms_per_certificate"] = round((time.perf_counter() - t0) * 1000 / max(res["issued"], 1), 1)
        timings["issue_cpu_ms_per_certificate"] = round((time.process_time() - cpu0) * 1000 / max(res["issued"], 1), 1)

        chunk = ids[5 + BATCH:5 + 2 * BATCH]
        args, wall = _profile(f"renderer arguments for {len(chunk)} certificates (render_args)",
                              lambda: render_args(maker, chunk, cfg), top)
        timings["render_args_ms_per_certificate"] = round(wall * 1000 / max(len(args), 1), 2)

    one = args[0]
    _out, wall = _profile("rendering one certificate cold (PNG + PDF)", lambda: rendering.render_files(**one), top)
    timings["render_cold_ms"] = round(wall * 1000, 1)
    _out, wall = _profile("rendering one certificate warm (PNG + PDF)", lambda: rendering.render_files(**args[1]), top)
    timings["render_warm_ms_profiled"] = round(wall * 1000, 1)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for a in args[2:]:
        rendering.render_files(**a)
    timings["render_warm_ms"] = round((time.perf_counter() - t0) * 1000 / max(len(args) - 2, 1), 1)
    # The renderer's own CPU a certificate (a loaded machine stretches the wall time, not this).
    timings["render_warm_cpu_ms"] = round((time.process_time() - cpu0) * 1000 / max(len(args) - 2, 1), 1)
    timings["load_average"] = os.getloadavg()[0]
    print(json.dumps(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
