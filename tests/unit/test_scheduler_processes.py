"""Several web workers and a second scheduler started by mistake: every job still runs exactly once."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from lms.db import make_engine
from lms.jobs.models import JobRun
from tests import dbutil, schedutil
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_four_gunicorn_workers_and_two_schedulers_run_each_job_once(database_url, tmp_dir):
    url = dbutil.migrated_url(database_url, "sched", tmp_dir)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "s" * 32, "FIELD_ENCRYPTION_KEY": TEST_KEY,
           "LMS_INSTANCE_PATH": str(tmp_dir / "sched-instance"), "FLASK_APP": "wsgi"}
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    started = schedutil.now()
    procs = [subprocess.Popen([str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([str(bin_dir / "flask"), "scheduler"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    engine = make_engine(url)
    try:
        from lms.jobs import services
        from lms.scheduler import load_jobs

        load_jobs()
        expected = set(services.REGISTRY)
        deadline = time.monotonic() + 60
        ok = False
        while time.monotonic() < deadline:
            try:
                ok = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                ok = False
            with engine.connect() as conn:
                done = {r[0] for r in conn.execute(select(JobRun.job_id).where(JobRun.status != "running"))}
            if ok and done >= expected:
                break
            time.sleep(0.5)
        time.sleep(3)  # give a second run, if any could happen, the time to show up
        with engine.connect() as conn:
            runs = dict(conn.execute(select(JobRun.job_id, func.count()).group_by(JobRun.job_id)).all())
        assert ok, "gunicorn did not answer"
        # Each job once (the start's catch-up), and once more only for a fire time of its own inside the test's
        # window: never once per scheduler or per worker.
        allowed = schedutil.allowed_runs(services.REGISTRY, started, schedutil.now())
        assert set(runs) == expected, runs
        assert all(1 <= runs[job_id] <= allowed[job_id] for job_id in expected), (runs, allowed)
        for p in procs:
            assert p.poll() is None, "a process died"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()  # reaped: a Popen dropped while its process runs is a ResourceWarning
        engine.dispose()
