"""In-process profile of the public verification GETs (issue 20): CPU µs a request of ``/api/v1/verify/<cid>``,
``/v/<cid>`` and ``/healthz`` against bench/bare.py's ``flask_app`` in the same process, and cProfile's top
functions, and the statements a request the engine's listeners hear (on PostgreSQL also the round trips, from libpq's
trace of the scans' read connection: ``lms.db.ThreadReader``). ``python -m bench.profile_verify [--top N]
[--n REQUESTS] [--cold] [--flask]`` (``PROF_SORT``: cProfile's sort, cumulative by default) on a throwaway SQLite
database with the demo data (``DATABASE_URL`` overrides it: a PostgreSQL database is dropped and re-created by
``prepare_database``)."""
from __future__ import annotations

import argparse
import itertools
import cProfile
import io
import os
import pstats
import secrets
import tempfile
import time
from urllib.parse import quote

from sqlalchemy import event
from werkzeug.test import EnvironBuilder


def _runner(wsgi_app, paths, headers: dict | None = None):
    """One request a call, on the next of ``paths`` (a path, or a list of them taken in turn)."""
    environs = [EnvironBuilder(path=p, headers=headers or {}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
                for p in ([paths] if isinstance(paths, str) else paths)]
    turn = itertools.cycle(environs)
    status = []

    def start_response(s, h, exc_info=None):
        status.append(s)

    def one():
        body = wsgi_app(dict(next(turn)), start_response)
        for _chunk in body:
            pass
        if hasattr(body, "close"):
            body.close()
        return status[-1]
    return one


def cpu_us(one, n: int) -> tuple[float, float]:
    """Median of five runs of ``n`` requests: process CPU µs a request, and wall µs (which also counts the waits on
    the database server: its round trips)."""
    for _ in range(20):
        one()
    runs, walls = [], []
    for _ in range(5):
        t, w = time.process_time(), time.perf_counter()
        for _ in range(n):
            one()
        runs.append((time.process_time() - t) / n * 1e6)
        walls.append((time.perf_counter() - w) / n * 1e6)
    return sorted(runs)[2], sorted(walls)[2]


def round_trips(engine, one, n: int) -> float | None:
    """PostgreSQL: the server's ReadyForQuery messages (one a round trip) a request on the thread's read connection,
    from libpq's trace; None elsewhere, or when the requests did not read on it (``--flask``: the pool's)."""
    reader = getattr(engine, "lms_reader", None)
    if engine.dialect.name != "postgresql" or reader is None:
        return None
    import psycopg
    connection = reader.cursor().connection
    with tempfile.TemporaryFile() as f:
        connection.pgconn.trace(f.fileno())
        connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
        try:
            for _ in range(n):
                one()
        finally:
            connection.pgconn.untrace()
        f.seek(0)
        trips = sum(1 for line in f.read().decode().splitlines() if line.startswith("B") and "ReadyForQuery" in line)
    return trips / n if trips else None


def statements(engine, one, n: int) -> float:
    """The statements a request the engine's cursor-execute listeners hear."""
    heard: list = []

    def listen(*_a):
        heard.append(1)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        for _ in range(n):
            one()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(heard) / n


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--lang", default="")
    ap.add_argument("--cold", action="store_true", help="keep no answers (CERT_VERIFY_BODY_CACHE=0) and no "
                    "signature results, and take every certificate in turn: every request a process's first scan of "
                    "a certificate, as ~70 %% of wrk's scans are (before the sixth round, --cold scanned one "
                    "certificate, its signature's result kept: ~730 calls where a first scan made ~1,000)")
    ap.add_argument("--flask", action="store_true", help="CERT_VERIFY_FAST_PATH=False: every request through "
                    "Flask's views (the fast path's before)")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="lms-prof-")
    from lms.pii import generate_key
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/p.sqlite3")
    os.environ.update({"SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": generate_key(),
                       "CERT_KEY_DIR": f"{tmp}/keys", "UPLOAD_DIR": f"{tmp}/uploads", "LMS_INSTANCE_PATH": tmp,
                       "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "WARNING"})
    from bench.app_wsgi import app
    from bench.bare import flask_app
    from bench.generate import prepare_database
    from sqlalchemy import text

    from certificates import public_answers
    from lms.db import db
    prepare_database(app)
    if args.cold:  # no answer, and no signature's result, kept (public_answers' process-wide LRU of them)
        app.config["CERT_VERIFY_BODY_CACHE"] = 0
        public_answers._signatures.size = 0  # noqa: SLF001
    if args.flask:
        app.config["CERT_VERIFY_FAST_PATH"] = False
    with app.app_context():
        rows = db.session.execute(text("SELECT cid, signed_part FROM certificates ORDER BY id")).all()
    # --cold: every certificate in turn, as wrk's random pick over 5,000 meets them (their standings, shapes and
    # signatures vary: the first one alone is in the talent pool); kept: the first one, always
    rows = rows if args.cold else rows[:1]
    headers = {"Cookie": f"lang={args.lang}"} if args.lang else {}
    targets = [("bare Flask", flask_app, "/"), ("/healthz", app, "/healthz"),
               ("JSON", app, [f"/api/v1/verify/{cid}?sig={quote(sig, safe='')}" for cid, sig in rows]),
               ("page", app, [f"/v/{cid}" for cid, _sig in rows])]
    bare = None
    for name, wsgi, path in targets:
        one = _runner(wsgi, path, headers)
        assert one().startswith(("200", "304")), (name, one())
        us, wall = cpu_us(one, args.n)
        bare = bare or us
        one = _runner(wsgi, path, headers)  # --cold: the same 50 certificates profiled whatever --n
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(50):
            one()
        prof.disable()
        st = pstats.Stats(prof)
        line = (f"{name:12s} {us:8.0f} µs CPU {wall:8.0f} µs wall  {bare / us:5.2f}× bare Flask  "
                f"{st.total_calls / 50:7.0f} calls")
        if wsgi is app:
            engine = app.extensions["lms_db"].engine
            line += f"  {statements(engine, one, 20):4.1f} statements"
            trips = round_trips(engine, one, 20)
            line += f"  {trips:4.1f} round trips on the read connection" if trips is not None else ""
        print(line)
        if args.top and wsgi is app and name != "/healthz":
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(os.environ.get("PROF_SORT", "cumulative")).print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
