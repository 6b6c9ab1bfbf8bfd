"""Issue 21: two app hosts behind one nginx upstream, sharing the database and Redis (bench/cluster.py): each host
is a gunicorn with the project's gunicorn.conf.py and an instance folder of its own (its own uploads folder and
its own copy of the signing keys, as two machines would have), APP_HOSTS=2, FILE_STORAGE=database and the rate
limits in Redis. A sign-in on one host continues on the other, evidence uploaded on one downloads from the other,
a rate limit is spent across both, the scheduler runs on both and each job runs once, and an exam whose saves
alternate between the hosts loses nothing.

On the PostgreSQL pass the hosts share a PostgreSQL database (the deployment this models); on the SQLite pass they
share one SQLite file, which two processes on one machine can. In CI (CI=true) a missing nginx or redis-server
fails the test: .ci/run installs both. Elsewhere it is skipped with the reason.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, func, select

from bench.cluster import NGINX, REDIS, REPO, Cluster
from lms import demo
from lms.db import db
from lms.features import import_models
from tests import dbutil, schedutil
from tests.conftest import TEST_KEY, make_app

PASSWORD = "Demo2026!cqo"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PDF = b"%PDF-1.4\n% evidence of a quality forum\n" + os.urandom(300_000) + b"\n%%EOF\n"


class Visitor:
    """A browser's worth of HTTP through nginx: cookies, and an optional choice of host (X-LMS-Host)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
                host: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if host:
            h["X-LMS-Host"] = host
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        for c in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = c.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return resp, data

    def csrf(self, path: str, host: str | None = None) -> str:
        _resp, html = self.request("GET", path, host=host)
        return CSRF_RE.search(html.decode()).group(1)

    def post_form(self, path: str, fields: dict, host: str | None = None, token_from: str | None = None):
        token = self.csrf(token_from or path, host=host)
        return self.request("POST", path, urlencode({"csrf_token": token, **fields}),
                            {"Content-Type": "application/x-www-form-urlencoded"}, host=host)

    def login(self, username: str, host: str):
        return self.post_form("/auth/login", {"username": username, "password": PASSWORD}, host=host)


def served_by(resp, cluster) -> str:
    port = int(resp.headers["X-Upstream"].rsplit(":", 1)[1])
    return next(name for name, p in cluster.hosts.items() if p == port)


@pytest.fixture(scope="module")
def two_hosts(database_url, tmp_dir):
    missing = [n for n, p in (("nginx", NGINX), ("redis-server", REDIS)) if p is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} not installed: .ci/run must apt-get install them")
        pytest.skip(f"{', '.join(missing)} not installed (scripts/system-deps.sh); CI installs them")
    work = tmp_dir / "multihost"
    work.mkdir(exist_ok=True)
    url = dbutil.migrated_url(database_url, "multihost", tmp_dir)
    keys = work / "seed-keys"
    app = make_app(url, tmp_dir, CERT_KEY_DIR=str(keys), UPLOAD_DIR=str(work / "seed-uploads"), FILE_STORAGE="database")
    import_models()
    with app.app_context():
        with db.job_session() as s:
            demo.seed(s, dt.date(2026, 11, 22))
    app.extensions["lms_db"].engine.dispose()
    env = {"DATABASE_URL": url, "SECRET_KEY": "multihost-" + "k" * 40, "FIELD_ENCRYPTION_KEY": TEST_KEY,
           "PUBLIC_BASE_URL": "http://127.0.0.1:8080", "LOG_LEVEL": "INFO"}
    cluster = Cluster(work, env, keys=keys, workers=2)
    engine = create_engine(url)
    with cluster:
        yield cluster, engine
    engine.dispose()


def test_multihost_sign_in_on_one_host_continues_on_the_other(two_hosts):
    cluster, _engine = two_hosts
    v = Visitor(cluster.port)
    resp, _ = v.login("trainee", host="a")
    assert resp.status == 302 and served_by(resp, cluster) == "a"
    home, html = v.request("GET", "/home", host="b")
    assert home.status == 200 and served_by(home, cluster) == "b", html[:300]
    assert b'action="/auth/logout"' in html or b"/auth/logout" in html
    # a form rendered on b is accepted on a (the CSRF token and the session are the site's, not a host's)
    token = v.csrf("/exams/my", host="b")
    out, _ = v.request("POST", "/auth/logout", urlencode({"csrf_token": token}),
                       {"Content-Type": "application/x-www-form-urlencoded"}, host="a")
    assert out.status == 302
    after, _ = v.request("GET", "/home", host="b")
    assert after.status == 302 and "/auth/login" in after.headers["Location"]


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for k, val in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{val}\r\n'.encode())
    for k, (name, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_multihost_evidence_uploaded_on_one_host_downloads_from_the_other(two_hosts):
    from credits.models import CreditClaim
    from lms.storage import StoredObject

    cluster, engine = two_hosts
    v = Visitor(cluster.port)
    assert v.login("trainee", host="a")[0].status == 302
    token = v.csrf("/credits/claims/new", host="a")
    title = f"质量论坛 {uuid.uuid4().hex[:6]}"
    body, ctype = _multipart({"csrf_token": token, "title": title, "organiser": "省质量协会", "institution_id": "0",
                              "activity_date": (dt.date.today() - dt.timedelta(days=3)).isoformat(), "hours": "2",
                              "subject_category": "professional"}, {"evidence": ("证明.pdf", PDF)})
    resp, html = v.request("POST", "/credits/claims/new", body, {"Content-Type": ctype}, host="a")
    assert resp.status == 302 and served_by(resp, cluster) == "a", html.decode()[:2000]
    with engine.connect() as conn:
        claim_id, key = conn.execute(select(CreditClaim.id, CreditClaim.evidence_path).where(CreditClaim.title == title)).one()
        assert conn.scalar(select(StoredObject.backend).where(StoredObject.key == key)) == "database"
    assert not (cluster.work / "host-a" / "instance" / "uploads" / key).exists()  # nothing on a's disk either
    down, data = v.request("GET", f"/credits/claims/{claim_id}/evidence", host="b")
    assert down.status == 200 and served_by(down, cluster) == "b"
    assert data == PDF


def test_multihost_a_rate_limit_is_spent_across_both_hosts(two_hosts):
    from certificates.models import Certificate

    cluster, engine = two_hosts
    with engine.connect() as conn:
        cid = conn.scalar(select(Certificate.cid).order_by(Certificate.id).limit(1))
    v = Visitor(cluster.port)
    statuses, hosts = [], set()
    for i in range(6):  # CERT_HOLDER_CHECK_RATE_LIMIT: 5 an hour per address; the hosts take turns
        # the holder check carries no CSRF token: the verification page carries no session (issue 20)
        resp, _ = v.request("POST", f"/v/{cid}", urlencode({"id_number": "110101199003077777"}),
                            {"Content-Type": "application/x-www-form-urlencoded"}, host="ab"[i % 2])
        statuses.append(resp.status)
        hosts.add(served_by(resp, cluster))
    assert hosts == {"a", "b"}
    # per-process counters (2 hosts × 2 workers) would have let all six through
    assert statuses[:5] == [200] * 5 and statuses[5] == 429, statuses


def test_multihost_the_scheduler_runs_on_both_hosts_and_each_job_once(two_hosts):
    from lms.jobs.models import JobRun
    from lms.jobs.services import REGISTRY
    from lms.scheduler import load_jobs

    cluster, engine = two_hosts
    load_jobs()
    started = schedutil.now()
    schedulers = []
    for name in ("a", "b"):
        log = open(cluster.work / f"scheduler-{name}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=REPO,
                                env=cluster.host_env(name), stdout=log, stderr=subprocess.STDOUT)
        schedulers.append((proc, log))
    try:
        deadline = time.monotonic() + 240
        while True:
            with engine.connect() as conn:
                done = dict(conn.execute(select(JobRun.job_id, func.count()).where(JobRun.status != "running")
                                         .group_by(JobRun.job_id)).all())
            if set(done) >= set(REGISTRY) or time.monotonic() > deadline:
                break
            assert all(p.poll() is None for p, _l in schedulers), (cluster.work / "scheduler-a.log").read_text()[-2000:]
            time.sleep(1)
        time.sleep(3)  # the other scheduler's catch-up has long been skipped; nothing more may run
    finally:
        for proc, log in schedulers:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            log.close()
    with engine.connect() as conn:
        runs = conn.execute(select(JobRun.job_id, JobRun.holder, JobRun.status)).all()
    counts = {job: sum(1 for r in runs if r.job_id == job) for job in REGISTRY}
    # Each job once, and again only for a fire time of its own inside the test's window (tests.schedutil).
    allowed = schedutil.allowed_runs(REGISTRY, started, schedutil.now())
    assert all(1 <= counts[job] <= allowed[job] for job in REGISTRY), (counts, allowed)
    assert len({r.holder for r in runs}) == 1  # one scheduler held the lease and ran them all
    logs = [(cluster.work / f"scheduler-{n}.log").read_text() for n in ("a", "b")]
    assert all("stopped, lease released" in text for text in logs), logs
    assert sum("catch-up skipped: another scheduler holds the lease" in text for text in logs) == 1, logs


def test_multihost_an_exam_saved_on_alternating_hosts_loses_nothing(two_hosts):
    from exams.models import Answer, Attempt, AttemptQuestion

    cluster, engine = two_hosts
    v = Visitor(cluster.port)
    assert v.login("trainee", host="b")[0].status == 302
    _resp, html = v.request("GET", "/exams/my", host="a")
    exam_id = re.search(r'id="start-(\d+)"', html.decode()).group(1)
    started, _ = v.post_form(f"/exams/{exam_id}/start", {}, host="b", token_from="/exams/my")
    assert started.status == 302, started.headers
    attempt_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    token = v.csrf("/exams/my", host="a")
    with engine.connect() as conn:
        questions = conn.execute(select(AttemptQuestion.id, AttemptQuestion.options)
                                 .where(AttemptQuestion.attempt_id == attempt_id).order_by(AttemptQuestion.id)).all()
    assert len(questions) >= 10
    expected, hosts = {}, []
    for i, (qid, options) in enumerate(questions):
        for seq, opt in enumerate(options[:2], start=1):  # answer, then change it on the other host
            host = "ab"[(i + seq) % 2]
            resp, body = v.request("POST", f"/exams/attempts/{attempt_id}/answer",
                                   json.dumps({"question": qid, "selected": [opt["id"]], "text": "", "seq": seq}),
                                   {"Content-Type": "application/json", "X-CSRFToken": token}, host=host)
            assert resp.status == 200, body[:500]
            assert json.loads(body)["saved"] is True
            hosts.append(served_by(resp, cluster))
            expected[qid] = [opt["id"]]
    assert hosts.count("a") == hosts.count("b")
    done, _ = v.request("POST", f"/exams/attempts/{attempt_id}/submit", urlencode({"csrf_token": token}),
                        {"Content-Type": "application/x-www-form-urlencoded"}, host="b")
    assert done.status == 302 and done.headers["Location"].endswith("/result")
    with engine.connect() as conn:
        stored = {r.attempt_question_id: list(r.selected or []) for r in conn.execute(
            select(Answer.attempt_question_id, Answer.selected).where(Answer.attempt_id == attempt_id))}
        status = conn.scalar(select(Attempt.status).where(Attempt.id == attempt_id))
    assert stored == expected
    assert str(status).endswith("submitted") or str(status).endswith("graded"), status
