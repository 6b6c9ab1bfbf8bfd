"""In-process profile of the exam's two hot requests (issue 20): the start at the bell (``POST /exams/<id>/start``)
and the autosave (``POST /exams/attempts/<id>/answer``), each as the bench sends it (a forged login: the session
row, the signed cookie, the CSRF header). Prints, a request: process CPU µs, Python calls, SQL statements (with
their share of the time, per statement) and, with ``--top N``, cProfile's top functions; for the saves, how many
went through Flask's view rather than the WSGI-level path (``exams.fastpath``).

``python -m bench.profile_exam [--starts N] [--saves N] [--top N] [--sql]`` on a throwaway SQLite database with
the bench's data at the smallest scale; ``DATABASE_URL`` names a PostgreSQL database instead (dropped and
re-created by ``prepare_database``: use your own bench database, e.g. ``lms_bench_<you>``)."""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import tempfile
import threading
import time
from collections import defaultdict

from werkzeug.test import EnvironBuilder

from bench.spy import StatementSpy


def _call(wsgi_app, method: str, path: str, headers: dict, body: bytes = b""):
    environ = EnvironBuilder(method=method, path=path, headers=headers, data=body,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
    status: list = []
    chunks = wsgi_app(environ, lambda s, h, exc_info=None: status.append((s, h)))
    out = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return status[-1][0], dict(status[-1][1]), out


class Statements(StatementSpy):
    """Statements (and their time in the driver) on the engine, from this thread only."""

    def __init__(self, engine):
        super().__init__(engine)
        self.me = threading.get_ident()
        self.count, self.time, self.started = defaultdict(int), defaultdict(float), {}

    def _before(self, conn, cursor, statement, params, context, executemany):
        if threading.get_ident() == self.me:
            self.started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        t0 = self.started.pop(id(cursor), None)
        if t0 is not None:
            key = " ".join(statement.split())[:90]
            self.count[key] += 1
            self.time[key] += time.perf_counter() - t0

    def report(self, n: int, label: str, show: bool) -> None:
        total = sum(self.count.values())
        print(f"  {label}: {total / n:.1f} statements a request (BEGIN/COMMIT included), "
              f"{sum(self.time.values()) / n * 1e3:.2f} ms in the driver")
        if show:
            for key, c in sorted(self.count.items(), key=lambda kv: -self.time[kv[0]]):
                print(f"    {c / n:5.2f}× {self.time[key] / n * 1e3:6.3f} ms  {key}")


def _measure(label: str, calls, engine, top: int, sql: bool) -> None:
    """CPU per request (process time), then the same kind of request again under cProfile and the counter."""
    half = len(calls) // 2
    t = time.process_time()
    for one in calls[:half]:
        one()
    cpu = (time.process_time() - t) / half * 1e6
    prof = cProfile.Profile()
    with Statements(engine) as st:
        prof.enable()
        for one in calls[half:]:
            one()
        prof.disable()
    n = len(calls) - half
    stats = pstats.Stats(prof)
    print(f"{label}: {cpu:8.0f} µs CPU a request ({half} requests), {stats.total_calls / n:6.0f} Python calls")
    st.report(n, label, sql)
    if top:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(os.environ.get("PROF_SORT", "cumulative")).print_stats(top)
        print(out.getvalue())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--saves", type=int, default=600)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--sql", action="store_true", help="each statement's count and time a request")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="lms-prof-")
    from lms.pii import generate_key
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/p.sqlite3")
    os.environ.update({"SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": generate_key(),
                       "CERT_KEY_DIR": f"{tmp}/keys", "UPLOAD_DIR": f"{tmp}/uploads", "LMS_INSTANCE_PATH": tmp,
                       "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "WARNING"})
    from sqlalchemy import select

    from bench import client
    from bench.app_wsgi import app
    from bench.generate import EXAM_TRAINEES, generate, prepare_database
    from bench.workloads import forge_logins
    from exams.jobs import prepare_papers
    from exams.models import AttemptQuestion
    from lms.db import db, utcnow

    prepare_database(app)
    gen = generate(app, scale=0.0, quiet=True)
    warm = 20
    n_starts = min(args.starts, EXAM_TRAINEES - warm)
    uids = [gen.first_user_id + i for i in range(warm + n_starts)]
    logins = forge_logins(app, uids)
    with app.app_context():
        engine = db.engine
        while True:
            with db.job_session() as s:
                if not prepare_papers(s, utcnow())["prepared"]:
                    break
    base = {"User-Agent": client.USER_AGENT}
    attempts: dict[int, int] = {}

    def start(uid):
        def one():
            status, headers, _body = _call(app, "POST", f"/exams/{gen.exam_id}/start", {**base, **logins[uid]})
            assert status.startswith("302") and "/exams/attempts/" in headers["Location"], (status, headers)
            attempts[uid] = int(headers["Location"].rstrip("/").split("/")[-1])
        return one

    for uid in uids[:warm]:
        start(uid)()
    print(f"database: {engine.dialect.name}; a start and a save as the bench sends them")
    _measure("start", [start(uid) for uid in uids[warm:]], engine, args.top, args.sql)

    with app.app_context():
        qs = db.session.execute(select(AttemptQuestion.attempt_id, AttemptQuestion.id, AttemptQuestion.options)
                                .where(AttemptQuestion.attempt_id.in_(list(attempts.values())))).all()
    by_attempt: dict[int, list] = defaultdict(list)
    for q in qs:
        by_attempt[q.attempt_id].append(q)
    owner = {aid: uid for uid, aid in attempts.items()}
    seq: dict = defaultdict(int)

    def save(aid, i):
        q = by_attempt[aid][i % len(by_attempt[aid])]

        def one():
            seq[q.id] += 1
            body = json.dumps({"question": q.id, "selected": [q.options[seq[q.id] % len(q.options)]["id"]],
                               "text": "", "seq": seq[q.id]}).encode()
            status, _h, out = _call(app, "POST", f"/exams/attempts/{aid}/answer",
                                    {**base, **logins[owner[aid]], "Content-Type": "application/json"}, body)
            assert status.startswith("200") and json.loads(out)["saved"], (status, out)
        return one

    aids = sorted(by_attempt)
    saves = [save(aids[i % len(aids)], i) for i in range(warm + args.saves)]
    for one in saves[:warm]:
        one()
    with _view_calls(app, "exams.save_answer") as through_flask:
        _measure("save", saves[warm:], engine, args.top, args.sql)
    print(f"  save: {len(through_flask)} of {args.saves} through Flask's view (the rest: exams.fastpath)")


class _view_calls:  # noqa: N801 (a context manager read as a phrase)
    """The calls of one Flask view during a block (a save the WSGI-level path answers never reaches it)."""

    def __init__(self, app, endpoint: str):
        self.app, self.endpoint, self.calls = app, endpoint, []

    def __enter__(self) -> list:
        view = self.view = self.app.view_functions[self.endpoint]

        def counted(*args, **kwargs):
            self.calls.append(1)
            return view(*args, **kwargs)

        counted.__dict__.update(view.__dict__)  # the declared body cap
        self.app.view_functions[self.endpoint] = counted
        return self.calls

    def __exit__(self, *exc):
        self.app.view_functions[self.endpoint] = self.view


if __name__ == "__main__":
    main()
