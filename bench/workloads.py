"""The workloads of issue 9. Each returns a dict: the measured figures, the same client's figures against the
bare WSGI endpoint, and the post-run checks (one attempt each, nothing lost, graded once, one record each)."""
from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy import func, insert, select

from bench import client
from bench.client import Req

TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


# ------------------------------------------------------------------ logins without the login page
def forge_logins(app, user_ids: list[int]) -> dict[int, dict]:
    """A live server-side session and a signed cookie (with a CSRF token) per user, as the login page would
    leave them. Logging in is not a workload here, and Argon2 at its production cost would take most of the
    machine's time budget for 1,500 people."""
    from flask import session as flask_session
    from flask_wtf.csrf import generate_csrf

    from lms.auth.models import UserSession
    from lms.db import db, utcnow
    from lms.extensions import login_manager

    now = utcnow()
    out: dict[int, dict] = {}
    with app.app_context():
        sids = {uid: f"bench-{uid}-{random.Random(uid).getrandbits(64):016x}" for uid in user_ids}
        with db.job_session() as s:
            have = set(s.scalars(select(UserSession.id).where(UserSession.id.in_(list(sids.values())))))
            rows = [{"id": sid, "user_id": uid, "created_at": now, "last_seen_at": now, "user_agent": client.USER_AGENT}
                    for uid, sid in sids.items() if sid not in have]
            for i in range(0, len(rows), 1000):
                s.execute(insert(UserSession.__table__), rows[i:i + 1000])
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config.get("SESSION_COOKIE_NAME", "session")
    for uid, sid in sids.items():
        # A request context of its own each, outside any app context: Flask-WTF caches the token in ``g``.
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                          headers={"User-Agent": client.USER_AGENT}):
            flask_session["_user_id"] = sid
            flask_session["_fresh"] = True
            flask_session["_id"] = login_manager._session_identifier_generator()
            token = generate_csrf()
            cookie = serializer.dumps(dict(flask_session))
        out[uid] = {"Cookie": f"{cookie_name}={cookie}", "X-CSRFToken": token}
    return out


# ------------------------------------------------------------------ SQL statements per request (test mode)
def count_statements(app, paths: list[str]) -> dict:
    """Run each path through the test client with a statement counter on the engine."""
    from sqlalchemy import event

    from lms.db import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    me = threading.get_ident()

    def before(conn, cursor, statement, params, context, executemany):
        if threading.get_ident() == me:  # not the verification log's batch writer, which runs on its own thread
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    per_path = []
    try:
        c = app.test_client()
        c.get(paths[0])  # first request of the process: whatever is cached once
        for p in paths:
            seen.clear()
            r = c.get(p)
            stmts = [s for s in seen if not TRANSACTION_CONTROL.match(s)]
            per_path.append({"path": p.split("?")[0][:40], "status": r.status_code, "statements": len(stmts),
                             "with_transaction_control": len(seen), "sql": [s.split("\n")[0][:100] for s in stmts]})
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return {"max": max(x["statements"] for x in per_path), "max_with_transaction_control":
            max(x["with_transaction_control"] for x in per_path), "samples": per_path[:2]}


# ------------------------------------------------------------------ 1. verification by QR
def verification_paths(app, run_dir: Path, n: int = 5000, seed: int = 9) -> tuple[Path, Path]:
    from certificates.models import Certificate
    from lms.db import db

    with app.app_context():
        rows = list(db.session.execute(select(Certificate.cid, Certificate.signed_part).order_by(Certificate.id)))
    rng = random.Random(seed)
    sample = rng.sample(rows, min(n, len(rows)))
    page = run_dir / "verify_page.txt"
    api = run_dir / "verify_json.txt"
    page.write_text("".join(f"/v/{cid}\n" for cid, _ in sample))
    api.write_text("".join(f"/api/v1/verify/{cid}?sig={quote(sig, safe='')}\n" for cid, sig in sample))
    return page, api


def verification(app, bare_port: int, app_port: int, run_dir: Path, duration: int, connections: int = 64,
                 flask_port: int | None = None) -> dict:
    """Also measures the floor: ``/healthz`` (the platform's request handling around one ``SELECT 1``, no page)
    with the same client, which bounds what any page of this Flask app can reach against the bare endpoint; and,
    given ``flask_port``, the one-route Flask app returning the same JSON (issue 20's baseline, bench/bare.py)."""
    page, api = verification_paths(app, run_dir)
    health = run_dir / "healthz.txt"
    health.write_text("/healthz\n")
    bare = client.wrk(bare_port, page, connections, duration)
    bare_flask = client.wrk(flask_port, page, connections, duration) if flask_port else None
    floor = client.wrk(app_port, health, connections, duration)
    p = client.wrk(app_port, page, connections, duration)
    j = client.wrk(app_port, api, connections, duration)
    stmts = count_statements(app, page.read_text().split()[:20] + api.read_text().split()[:20])
    out = {"bare": bare, "floor": floor, "page": p, "json": j, "statements": stmts}
    if bare_flask is not None:
        out["bare_flask"] = bare_flask
    return out


# ------------------------------------------------------------------ 2-4. the exam: start, autosave, submit
def exam_start(app, gen, bare_port: int, app_port: int, n: int) -> dict:
    from exams.models import Attempt

    from lms.db import db

    uids = [gen.first_user_id + i for i in range(n)]
    logins = forge_logins(app, uids)
    # The generator publishes the exam an hour before the bell; in production the scheduler's
    # exams.prepare_papers job (every minute, 100 papers a run) has drawn the papers by then. Run it as it would
    # have run, until it has nothing left to prepare.
    from exams.jobs import prepare_papers
    from lms.db import utcnow

    t0, prepared = time.monotonic(), {"prepared": 0, "runs": 0}
    while True:
        with app.app_context(), db.job_session() as s:
            made = prepare_papers(s, utcnow())["prepared"]
        prepared["runs"] += 1
        prepared["prepared"] += made
        if not made:
            break
    prepared["seconds"] = round(time.monotonic() - t0, 1)
    reqs = [Req("POST", f"/exams/{gen.exam_id}/start", b"", {**logins[u], "Content-Length": "0"}, u) for u in uids]
    bare_resps, bare_elapsed = client.burst(bare_port, [Req(r.method, r.path, r.body, r.headers) for r in reqs])
    resps, elapsed = client.burst(app_port, reqs)
    ok = lambda r: r.status == 302 and "/exams/attempts/" in r.headers.get("Location", "")
    with app.app_context():
        per_user = dict(db.session.execute(select(Attempt.user_id, func.count(Attempt.id))
                                           .where(Attempt.exam_id == gen.exam_id).group_by(Attempt.user_id)).all())
        attempts = dict(db.session.execute(select(Attempt.user_id, Attempt.id).where(Attempt.exam_id == gen.exam_id)).all())
    return {"n": n, "bare": client.summary(bare_resps, bare_elapsed), "app": client.summary(resps, elapsed, ok),
            "all_started_within_s": round(max((r.latency for r in resps), default=0), 2),
            "users_with_one_attempt": sum(1 for u in uids if per_user.get(u) == 1),
            "users_with_more": sum(1 for u in uids if per_user.get(u, 0) > 1), "papers_prepared_before": prepared,
            "_attempts": attempts, "_logins": logins}


def autosave(app, gen, bare_port: int, app_port: int, attempts: dict[int, int], logins: dict, duration: float,
             bare_duration: float, concurrency: int = 64) -> dict:
    """Closed loop: each user answers questions of the attempts assigned to it (so that one sender owns each
    answer and its sequence numbers rise); afterwards every acknowledged answer is compared with the database."""
    from exams.models import Answer, AttemptQuestion

    from lms.db import db

    with app.app_context():
        qs = list(db.session.execute(select(AttemptQuestion.id, AttemptQuestion.attempt_id, AttemptQuestion.type,
                                            AttemptQuestion.options).where(AttemptQuestion.attempt_id.in_(list(attempts.values())))))
    by_attempt: dict[int, list] = {}
    for q in qs:
        by_attempt.setdefault(q.attempt_id, []).append(q)
    owner = {aid: uid for uid, aid in attempts.items()}
    aids = sorted(by_attempt)
    mine = [aids[u::concurrency] for u in range(concurrency)]
    seqs: dict[tuple, int] = {}
    acked: dict[tuple, tuple] = {}
    rngs = [random.Random(1000 + u) for u in range(concurrency)]

    def make(u, n, port_is_app=True):
        if not mine[u]:
            return None
        aid = mine[u][n % len(mine[u])]
        q = rngs[u].choice(by_attempt[aid])
        opts = [o["id"] for o in q.options]
        sel = sorted(rngs[u].sample(opts, 2)) if q.type.value == "multiple" else [rngs[u].choice(opts)]
        key = (aid, q.id)
        seqs[key] = seqs.get(key, 0) + 1
        body = json.dumps({"question": q.id, "selected": sel, "text": "", "seq": seqs[key]}).encode()
        return Req("POST", f"/exams/attempts/{aid}/answer", body,
                   {**logins[owner[aid]], "Content-Type": "application/json"}, (key, seqs[key], sel))

    bare_resps, bare_elapsed = client.closed_loop(bare_port, make, concurrency, bare_duration)
    seqs.clear()
    resps, elapsed = client.closed_loop(app_port, make, concurrency, duration)
    locked = 0
    for r in resps:
        if b"locked" in r.body.lower():
            locked += 1
        if r.status == 200:
            data = json.loads(r.body)
            key, seq, sel = r.req.tag
            if data.get("saved"):
                if acked.get(key, (0,))[0] < seq:
                    acked[key] = (seq, sel)
    with app.app_context():
        stored = {(a.attempt_id, a.attempt_question_id): (a.seq, list(a.selected or [])) for a in db.session.scalars(
            select(Answer).where(Answer.attempt_id.in_(aids)))}
    lost = sum(1 for k, (seq, sel) in acked.items() if stored.get(k, (0, None))[0] < seq
               or (stored[k][0] == seq and stored[k][1] != sel))
    return {"bare": client.summary(bare_resps, bare_elapsed), "app": client.summary(resps, elapsed, lambda r: r.status == 200),
            "locked_responses": locked, "answers_acknowledged": len(acked), "answers_lost": lost,
            "concurrency": concurrency}


def submissions(app, gen, bare_port: int, app_port: int, attempts: dict[int, int], logins: dict, seconds: float,
                n: int | None = None) -> dict:
    """Every open attempt handed in (or the first ``n``: a quick run keeps the rate, ``bench.schedule``), spread
    evenly over ``seconds`` (open loop), then: each graded exactly once."""
    from exams.models import Attempt, AttemptStatus, ExamResult

    from lms.db import db

    items = sorted(attempts.items())[:n]
    step = seconds / max(len(items), 1)
    sched = [(i * step, Req("POST", f"/exams/attempts/{aid}/submit", b"", {**logins[uid], "Content-Length": "0"}, aid))
             for i, (uid, aid) in enumerate(items)]
    bare_resps, bare_elapsed = client.paced(bare_port, [(t, Req(r.method, r.path, r.body, r.headers)) for t, r in sched])
    resps, elapsed = client.paced(app_port, sched)
    with app.app_context():
        aids = [a for _, a in items]
        closed = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.id.in_(aids),
                                                                        Attempt.status == AttemptStatus.submitted))
        results = dict(db.session.execute(select(ExamResult.attempt_id, func.count(ExamResult.id))
                                          .where(ExamResult.attempt_id.in_(aids)).group_by(ExamResult.attempt_id)).all())
    ok = lambda r: r.status == 302 and "/result" in r.headers.get("Location", "")
    return {"n": len(items), "seconds": seconds, "bare": client.summary(bare_resps, bare_elapsed),
            "app": client.summary(resps, elapsed, ok), "submitted": closed,
            "graded_once": sum(1 for a in aids if results.get(a) == 1), "graded_more": sum(1 for a in aids if results.get(a, 0) > 1)}


# ------------------------------------------------------------------ 5. attendance
def checkins(app, gen, bare_port: int, app_port: int, burst_n: int, burst_s: float, tail_n: int, tail_s: float) -> dict:
    """``burst_n`` check-ins spread over the first ``burst_s`` seconds, then ``tail_n`` over ``tail_s``."""
    from itsdangerous import URLSafeTimedSerializer

    from courses.models import AttendanceRecord
    from lms.db import db

    n = burst_n + tail_n
    uids = [gen.first_user_id + i for i in range(n)]
    logins = forge_logins(app, uids)
    ticket = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="courses.checkin-ticket").dumps({"s": gen.checkin_session_id})
    sched = []
    for i, u in enumerate(uids):
        t = i * burst_s / burst_n if i < burst_n else burst_s + (i - burst_n) * tail_s / max(tail_n, 1)
        body = urlencode({"ticket": ticket, "csrf_token": logins[u]["X-CSRFToken"]}).encode()
        sched.append((t, Req("POST", f"/courses/checkin/{gen.checkin_session_id}", body,
                             {"Cookie": logins[u]["Cookie"], "Content-Type": "application/x-www-form-urlencoded"}, u)))
    bare_resps, bare_elapsed = client.paced(bare_port, [(t, Req(r.method, r.path, r.body, r.headers)) for t, r in sched])
    resps, elapsed = client.paced(app_port, sched)
    with app.app_context():
        per = list(db.session.execute(select(AttendanceRecord.enrollment_id, func.count(AttendanceRecord.id))
                                      .where(AttendanceRecord.session_id == gen.checkin_session_id)
                                      .group_by(AttendanceRecord.enrollment_id)).all())
    first = [r for r in resps if r.req.tag in set(uids[:burst_n])]
    return {"n": n, "burst": f"{burst_n} in {burst_s:g} s", "tail": f"{tail_n} in {tail_s:g} s",
            "bare": client.summary(bare_resps, bare_elapsed), "app": client.summary(resps, elapsed, lambda r: r.status == 200),
            "burst_p95_ms": client.summary(first, burst_s, lambda r: r.status == 200)["p95_ms"],
            "records": sum(c for _, c in per), "trainees_with_one_record": sum(1 for _, c in per if c == 1),
            "trainees_with_more": sum(1 for _, c in per if c > 1)}


# ------------------------------------------------------------------ 6. issuing while verifying
def issuing(app, gen, app_port: int, run_dir: Path, env: dict, seconds: int, connections: int = 16,
            limit: int = 5000, idle_seconds: int | None = None, worker_start_s: float = 2.0) -> dict:
    """Issue the issuing class's certificates (the worker's own code, one transaction per certificate, then the
    PNG and the PDF with the QR code) in a separate process for ``seconds``, while wrk verifies; compare the
    verification p95 with the same wrk run (``idle_seconds``, default 10 at most) before issuing started."""
    page, _api = verification_paths(app, run_dir, seed=11)
    idle = client.wrk(app_port, page, connections, min(seconds, 10) if idle_seconds is None else idle_seconds)
    proc = subprocess.Popen([sys.executable, "-m", "bench.issue_worker", str(gen.issue_class_id), str(seconds), str(limit)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parent.parent))
    time.sleep(worker_start_s)  # the worker imports and starts its job
    busy = client.wrk(app_port, page, connections, max(5, seconds - 4))
    out, err = proc.communicate(timeout=seconds + 240)
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"issue worker failed: {err[-2000:]}")
    res = json.loads(line)
    return {"idle": idle, "during": busy, "issued": res, "connections": connections}
