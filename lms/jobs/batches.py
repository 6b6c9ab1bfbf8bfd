"""Rows written in batches by a background flusher: the platform's one periodic writer thread.

Some rows are statistics, written on every public request (a certificate verification): written in the request's
own transaction, each would turn a read into a write (on SQLite every worker queues for the one write lock; on
PostgreSQL every request pays a commit). A ``BatchWriter`` keeps them in memory per process and a daemon thread
inserts them every ``interval`` seconds in one transaction (and at exit), so the request costs nothing more. A
crash loses at most the last interval's rows; use it only for rows that are not evidence of anything.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine

log = logging.getLogger("lms.jobs")


class BatchWriter:
    """Collect rows of ``table`` and insert them in one transaction every ``interval`` seconds."""

    def __init__(self, table: Table, interval: float = 0.5, max_pending: int = 100_000):
        self.table = table
        self.interval = interval
        self.max_pending = max_pending  # if the database is away for long, drop the oldest, not the memory
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        atexit.register(self.flush)

    def add(self, engine: Engine, row: dict) -> None:
        """Queue one row for ``engine``'s database; the first row in a (forked) process starts its flusher."""
        with self._lock:
            self._engine = engine
            self._rows.append(row)
            if len(self._rows) > self.max_pending:
                del self._rows[: len(self._rows) - self.max_pending]
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name=f"batch-{self.table.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()

    def flush(self) -> int:
        """Insert what is queued now; return how many rows were written (kept for the next round on failure)."""
        with self._lock:
            rows, self._rows = self._rows, []
            engine = self._engine
        if not rows or engine is None:
            return 0
        try:
            # One INSERT, its transaction's first statement: it takes SQLite's write lock as it starts (waiting up
            # to the busy timeout), never upgrading a read, so no write intent is needed.
            with engine.begin() as conn:
                conn.execute(insert(self.table), rows)
        except Exception:  # keep them for the next round; never let statistics take a page down
            log.exception("writing %d rows of %s failed; will retry", len(rows), self.table.name)
            with self._lock:
                self._rows[:0] = rows
            return 0
        return len(rows)
