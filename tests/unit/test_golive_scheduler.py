"""Going live (issue 19): the scheduler gives its lease back when stopped (SIGTERM from systemd, SIGINT from a
terminal), so a restarted or restored scheduler takes over and catches up at once, not 90 s later."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from lms.db import make_engine
from lms.jobs.models import SchedulerLease
from lms.scheduler import LEASE, LEASE_SECONDS
from tests import dbutil
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


def _holder(engine):
    with engine.connect() as conn:
        return conn.execute(select(SchedulerLease.holder).where(SchedulerLease.name == LEASE)).scalar()


def _wait(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_golive_scheduler_releases_its_lease_on_shutdown(database_url, tmp_dir):
    sig = signal.SIGTERM  # what systemd sends; SIGINT (a terminal's Ctrl-C) takes the same path
    url = dbutil.migrated_url(database_url, f"golive_lease_{int(sig)}", tmp_dir)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "s" * 32, "FIELD_ENCRYPTION_KEY": TEST_KEY,
           "LMS_INSTANCE_PATH": str(tmp_dir / "golive-lease-instance"), "FLASK_APP": "wsgi"}
    flask = str(Path(sys.executable).parent / "flask")
    engine = make_engine(url)
    procs = []
    try:
        first = subprocess.Popen([flask, "scheduler"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        procs.append(first)
        assert _wait(lambda: _holder(engine) is not None, 60), "the first scheduler never took the lease"
        held_by = _holder(engine)
        assert held_by.endswith(f":{first.pid}")
        first.send_signal(sig)
        out, _err = first.communicate(timeout=30)
        assert first.returncode == 0, out
        assert "lease released" in out
        assert _holder(engine) is None
        # a restart takes over at once, well before the old lease would have expired
        started = time.monotonic()
        second = subprocess.Popen([flask, "scheduler"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(second)
        assert _wait(lambda: (_holder(engine) or "").endswith(f":{second.pid}"), 60)
        assert time.monotonic() - started < LEASE_SECONDS
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        engine.dispose()
