"""``python -m bench.profile_bureau [dashboard|pool|search|calls|parts|plans] ...``: issue 20's in-process profile of the
bureau's pages over a database the bench generated (``DATABASE_URL`` and the run's ``FIELD_ENCRYPTION_KEY``,
``SECRET_KEY``, ``CERT_KEY_DIR`` in the environment, as ``python -m bench`` sets them; nothing is regenerated).
One process, no server, the provincial bureau's forged login:

- ``dashboard``: runs the job ``reports-dashboard-figures`` once (the page reads what it keeps), then the
  dashboard ``PROFILE_RUNS`` times (default 5), each statement timed on the engine; the slowest statements are
  listed, and the view under cProfile (``PROFILE_TOP`` functions, default 25);
- ``pool``: the bureau workload's five pool-list paths, the same way;
- ``search``: the talent-search workload's 400 paths (``workloads_pool.search_paths``), each request's time and
  its statements' times, with percentiles;
- ``calls``: the talent-search workload's 400 paths under cProfile (issue 20, fourth round): Python calls and
  statements a page, and the functions with the most calls (``PROFILE_TOP``), to count what a page's Python costs;
- ``parts``: the same 400 paths, each page's Python calls counted inclusively under the page's parts (the view,
  the session user's load, the statements, the rows, the template and base.html's frame...; issue 20, fifth
  round), to see which part of a page a change cut;
- ``plans``: as ``search``, and each statement's plan (SQLite ``EXPLAIN QUERY PLAN``; PostgreSQL
  ``EXPLAIN (ANALYZE, BUFFERS)``) for the ``PROFILE_PLANS`` slowest requests (default 25) and the first page.

Not part of ``make bench``: a tool for the bureau and talent-search notes."""
from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time

from sqlalchemy import select, text

from bench import client
from bench.spy import StatementSpy

TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class Timer(StatementSpy):
    """Every statement on ``engine`` with its time, parameters and the request it belongs to."""

    def __init__(self, engine):
        super().__init__(engine)
        self.rows, self.label = [], ""

    def _before(self, conn, cursor, statement, params, context, executemany):
        conn.info["t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        if not statement.lstrip().upper().startswith(TRANSACTION):
            self.rows.append((self.label, (time.perf_counter() - conn.info["t0"]) * 1000, statement, params))


def _client(app):
    from lms.auth.models import User
    from lms.db import db
    from bench.workloads import forge_logins

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "jiangsu_admin"))
    cookie = forge_logins(app, [uid])[uid]["Cookie"]
    c = app.test_client()
    for part in cookie.split("; "):
        name, _eq, value = part.partition("=")
        c.set_cookie(name, value)
    return c


def _get(c, path):
    r = c.get(path, headers={"User-Agent": client.USER_AGENT})
    assert r.status_code == 200, (path, r.status_code, r.data[:300])
    return r


def _pct(values, p):
    return client.percentile(sorted(values), p) if values else 0.0


def _run_figures_job(app):
    from lms.jobs import services as jobs

    t0 = time.perf_counter()
    with app.app_context():
        run = jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="profile")
    print(f"job reports-dashboard-figures: {run.status} in {time.perf_counter() - t0:.1f} s: {run.result}")


def pages(app, paths: list[str], runs: int, top: int) -> None:
    """Each path ``runs`` times; per path the median time and the slowest statements; then cProfile."""
    from lms.db import db

    c = _client(app)
    with app.app_context():
        engine = db.engine
    for p in paths:
        _get(c, p)  # warm: templates, caches
    with Timer(engine) as timer:
        for p in paths:
            times = []
            for i in range(runs):
                timer.label = f"{p}#{i}"
                t0 = time.perf_counter()
                _get(c, p)
                times.append((time.perf_counter() - t0) * 1000)
            last = [r for r in timer.rows if r[0] == f"{p}#{runs - 1}"]
            print(f"=== {p}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms; "
                  f"{len(last)} statements, {sum(r[1] for r in last):.1f} ms of SQL (last run)")
            for _lbl, ms, sql, params in sorted(last, key=lambda r: -r[1])[:8]:
                print(f"  {ms:7.1f} ms  {' '.join(sql.split())[:240]}")
    prof = cProfile.Profile()
    prof.enable()
    for p in paths:
        _get(c, p)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    print("\n".join(ln for ln in buf.getvalue().splitlines() if ln.strip()))


def search(app, explain: int = 0) -> None:
    """The talent-search workload's paths in process: request and SQL percentiles, the slowest requests."""
    from lms.db import db
    from bench.workloads_pool import search_paths

    c = _client(app)
    paths = search_paths(app, None)
    with app.app_context():
        engine = db.engine
    _get(c, paths[0])
    per: list[tuple[float, float, str]] = []
    with Timer(engine) as timer:
        for p in paths:
            timer.label = p
            n0 = len(timer.rows)
            t0 = time.perf_counter()
            _get(c, p)
            per.append(((time.perf_counter() - t0) * 1000, sum(r[1] for r in timer.rows[n0:]), p))
    req, sql = [x[0] for x in per], [x[1] for x in per]
    print(f"{len(per)} requests: request p50 {_pct(req, 50):.1f} p95 {_pct(req, 95):.1f} max {max(req):.1f} ms; "
          f"SQL a request p50 {_pct(sql, 50):.1f} p95 {_pct(sql, 95):.1f} max {max(sql):.1f} ms")
    slow = sorted(per, key=lambda x: -x[1])[:max(explain, 12)]
    for ms, sql_ms, p in slow[:12]:
        print(f"  {ms:7.1f} ms ({sql_ms:6.1f} SQL)  {p}")
    if explain:
        by_path = {}
        for label, ms, stmt, params in timer.rows:
            by_path.setdefault(label, []).append((ms, stmt, params))
        with app.app_context():
            for ms, sql_ms, p in [per[0]] + slow[:explain]:
                print(f"\n=== {p} {ms:.0f} ms, {len(by_path[p])} statements")
                for sms, stmt, params in by_path[p]:
                    print(f"--- {sms:.1f} ms SQL: {' '.join(stmt.split())}\nparams: {params}")
                    for line in _plan(db.session, stmt, params):
                        print(line)
                db.session.rollback()


def calls(app, top: int) -> None:
    """The talent-search workload's paths under cProfile: Python calls and statements a page (counted, so
    comparable under any load), the CPU time a page (not: it depends on the load), the top functions by calls."""
    from lms.db import db
    from bench.workloads_pool import search_paths

    c = _client(app)
    paths = search_paths(app, None)
    with app.app_context():
        engine = db.engine
    for p in paths:
        _get(c, p)  # warm, as a server's process is: templates, kept menus and forms, every shape's compiled statements
    prof = cProfile.Profile()
    with Timer(engine) as timer:
        cpu0 = time.process_time()
        prof.enable()
        for p in paths:
            _get(c, p)
        prof.disable()
        cpu = (time.process_time() - cpu0) * 1000 / len(paths)
    st = pstats.Stats(prof)
    if os.environ.get("PROFILE_DUMP"):
        st.dump_stats(os.environ["PROFILE_DUMP"])
    print(f"{len(paths)} pages: {st.total_calls / len(paths):,.0f} Python calls a page, "
          f"{len(timer.rows) / len(paths):.2f} statements a page, {cpu:.1f} ms CPU a page under cProfile "
          f"(load average {os.getloadavg()[0]:.1f})")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("ncalls").print_stats(top)
    print("\n".join(ln for ln in buf.getvalue().splitlines() if ln.strip()))
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    print("\n".join(ln for ln in buf.getvalue().splitlines() if ln.strip()))


PARTS = {  # function name -> the end of its file's path: the parts of a pool page counted by ``parts``
    "full_dispatch_request": "flask/app.py", "_load_user": "flask_login/login_manager.py",
    "load_session_user": "lms/auth/services.py", "pool": "talent/views.py", "region_choices": "talent/queries.py",
    "pool_query": "talent/queries.py", "pool_page": "talent/queries.py", "run": "lms/rawsql.py",
    "filter_form": "talent/pool_page.py", "rows": "talent/pool_page.py", "framed": "talent/pool_page.py",
    "content": "talent/pool_page.py", "open_session": "lms/lean.py",
    "render_template": "flask/templating.py", "block_content": "talent/pool.html", "nav_menu": "lms/templating.py",
    "generate_csrf": "flask_wtf/csrf.py", "execute": "sqlalchemy/orm/session.py"}


def parts(app) -> None:
    """Python calls a page (Python and C functions, as cProfile counts them) under each of ``PARTS``, inclusive."""
    from collections import Counter

    from bench.workloads_pool import search_paths

    c = _client(app)
    paths = search_paths(app, None)
    for p in paths:
        _get(c, p)
    counts, active, stack, total = Counter(), Counter(), [], [0]

    def count_call():
        total[0] += 1
        for key, depth in active.items():
            if depth:
                counts[key] += 1

    def hook(frame, event, _arg):
        if event == "call":
            count_call()
            code = frame.f_code
            end = PARTS.get(code.co_name)
            key = f"{code.co_name} ({end})" if end and code.co_filename.endswith(end) else None
            if key:
                active[key] += 1
            stack.append(key)
        elif event == "return" and stack:
            key = stack.pop()
            if key:
                active[key] -= 1
        elif event == "c_call":
            count_call()

    sys.setprofile(hook)
    try:
        for p in paths:
            _get(c, p)
    finally:
        sys.setprofile(None)
    print(f"{len(paths)} pages: {total[0] / len(paths):,.0f} calls a page; under each part, a page:")
    for key, n in counts.most_common():
        print(f"  {n / len(paths):8,.0f}  {key}")


def _plan(session, stmt: str, params) -> list[str]:
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        return ["  " + " ".join(str(x) for x in r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)]
    return [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params)]


def main(argv: list[str]) -> int:
    from lms.app import create_app

    what = argv[1] if len(argv) > 1 else "dashboard"
    runs, top = int(os.environ.get("PROFILE_RUNS", "5")), int(os.environ.get("PROFILE_TOP", "25"))
    app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour"})
    if what == "dashboard":
        if os.environ.get("PROFILE_JOB", "1") == "1":
            _run_figures_job(app)
        pages(app, ["/reports/dashboard"] + argv[2:], runs, top)
    elif what == "pool":
        pages(app, ["/talent/pool", "/talent/pool?status=active", "/talent/pool?page=40", "/talent/pool?tier=advanced",
                    "/talent/pool?status=active&page=200"], runs, top)
    elif what == "calls":
        calls(app, top)
    elif what == "parts":
        parts(app)
    elif what in ("search", "plans"):
        search(app, int(os.environ.get("PROFILE_PLANS", "25")) if what == "plans" else 0)
    else:
        print(__doc__)
        return 2
    with app.app_context():
        from lms.db import db

        print("database:", db.session.scalar(text("SELECT 1")) and db.engine.url.render_as_string(hide_password=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
