"""The verification log, written in batches.

Every public verification is logged (what was looked up, the answer; never who asked). Written in the request's
own transaction, that row turned each QR scan into a write: on SQLite the writers of all gunicorn workers queued
for the one write lock and failed with "database is locked" under load; on PostgreSQL every scan paid a commit.
Here each process keeps the rows in memory and a background thread inserts them every ``interval`` seconds in one
transaction (and at exit), so a scan costs one SELECT. A crash loses at most the last interval's rows — they are
statistics, not evidence: the certificate's state lives in ``certificate_events``.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from certificates.models import VerificationLog
from lms.db import utcnow

log = logging.getLogger("lms.certificates")
MAX_PENDING = 100_000  # if the database is unreachable for long, drop the oldest rather than eat the memory


class BatchWriter:
    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def add(self, engine: Engine, certificate_id: int | None, channel: str, result: str,
            signature_valid: bool | None) -> None:
        row = {"certificate_id": certificate_id, "channel": channel, "result": result,
               "signature_valid": signature_valid, "at": utcnow()}
        with self._lock:
            self._engine = engine
            self._rows.append(row)
            if len(self._rows) > MAX_PENDING:
                del self._rows[: len(self._rows) - MAX_PENDING]
            if self._thread is None or self._pid != os.getpid():  # first use in this (forked) process
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="verification-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
            engine = self._engine
        if not rows or engine is None:
            return 0
        try:
            # One INSERT, its transaction's first statement: it takes SQLite's write lock as it starts (waiting
            # up to the busy timeout), never upgrading a read, so no write intent is needed.
            with engine.begin() as conn:
                conn.execute(insert(VerificationLog.__table__), rows)
        except Exception:  # keep them for the next round; never let logging take the page down
            log.exception("writing %d verification log rows failed; will retry", len(rows))
            with self._lock:
                self._rows[:0] = rows
            return 0
        return len(rows)


writer = BatchWriter()
atexit.register(writer.flush)


def batched_log() -> bool:
    """Whether the current app batches the log: yes unless configured otherwise or testing (a test's database
    session must see the row it caused)."""
    configured = current_app.config["CERT_VERIFY_LOG_BATCHED"]
    return (not current_app.testing) if configured is None else bool(configured)
