"""Issue 18 — database contention gives a retryable answer: past SQLite's lock timeout, or after a bounded number
of reruns of a request that PostgreSQL aborted with a serialization failure, the answer is 503 with Retry-After
(a Chinese page, JSON on the API) and nothing of the request is written; a conflict that clears is got past."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from lms.db import db as database
from tests import dbutil
from tests.conftest import make_app

PROBE = "security_contention_probe"


@pytest.fixture
def probe_app(app, database_url, tmp_dir):
    """An app of its own on the suite's database (real commits, a short lock timeout) with two probe routes:
    ``write`` inserts a row; ``conflict`` reads a counter in a REPEATABLE READ transaction and writes it back,
    while (as many times as ``interfere`` says) another connection updates it in between."""
    papp = make_app(database_url, tmp_dir, DB_LOCK_TIMEOUT=0.3, DB_CONFLICT_RETRIES=2, DB_RETRY_AFTER=7,
                    WTF_CSRF_ENABLED=False)
    state = {"calls": 0, "interfere": 0}
    engine = papp.extensions["lms_db"].engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        conn.execute(text(f"CREATE TABLE {PROBE} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text(f"INSERT INTO {PROBE} (id, n) VALUES (1, 0)"))

    def write():
        state["calls"] += 1
        database.session.execute(text(f"INSERT INTO {PROBE} (id, n) VALUES (:i, 1)"), {"i": 1000 + state["calls"]})
        database.session.commit()
        return "ok"

    def conflict():
        state["calls"] += 1
        opts = {"isolation_level": "REPEATABLE READ"} if dbutil.is_postgres(database_url) else {}
        database.session.connection(execution_options=opts)
        n = database.session.execute(text(f"SELECT n FROM {PROBE} WHERE id = 1")).scalar_one()
        if state["interfere"] > 0:
            state["interfere"] -= 1
            with engine.begin() as other:
                other.execute(text(f"UPDATE {PROBE} SET n = n + 100 WHERE id = 1"))
        database.session.execute(text(f"UPDATE {PROBE} SET n = :n WHERE id = 1"), {"n": n + 1})
        database.session.commit()
        return "ok"

    for prefix in ("", "/api"):
        papp.add_url_rule(f"{prefix}/_probe/write", f"probe_write{prefix}", write, methods=["POST"])
        papp.add_url_rule(f"{prefix}/_probe/conflict", f"probe_conflict{prefix}", conflict, methods=["POST"])
    papp.probe_state = state
    yield papp
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {PROBE}"))
    engine.dispose()


def _rows(papp) -> list[tuple[int, int]]:
    with papp.extensions["lms_db"].engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT id, n FROM {PROBE} ORDER BY id"))]


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):]


def _assert_busy(resp, *, json: bool) -> None:
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "7"
    if json:
        assert resp.is_json and resp.get_json()["status"] == 503
    else:
        body = resp.get_data(as_text=True)
        assert "系统繁忙" in body and "没有保存" in body


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_security_contention_busy_database_answers_503_nothing_written(probe_app, database_url, prefix):
    client = probe_app.test_client()
    if dbutil.is_postgres(database_url):
        # Every run of the request meets a concurrent update: rerun twice, then 503.
        probe_app.probe_state["interfere"] = 99
        started = time.monotonic()
        resp = client.post(f"{prefix}/_probe/conflict")
        _assert_busy(resp, json=bool(prefix))
        assert probe_app.probe_state["calls"] == 3  # the first run and DB_CONFLICT_RETRIES reruns
        assert _rows(probe_app) == [(1, 300)]  # only the other connection's updates
    else:
        holder = sqlite3.connect(_sqlite_path(database_url), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock past the lock timeout
            started = time.monotonic()
            resp = client.post(f"{prefix}/_probe/write")
            _assert_busy(resp, json=bool(prefix))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert _rows(probe_app) == [(1, 0)]
    assert time.monotonic() - started < 5


def test_security_contention_conflict_that_clears_is_got_past(probe_app, database_url):
    client = probe_app.test_client()
    if dbutil.is_postgres(database_url):
        probe_app.probe_state["interfere"] = 1  # the first run meets a concurrent update, the rerun does not
        resp = client.post("/_probe/conflict")
        assert resp.status_code == 200
        assert probe_app.probe_state["calls"] == 2
        assert _rows(probe_app) == [(1, 101)]  # the rerun read the other's update: no lost update
    else:
        # The lock is held for less than the lock timeout (0.3 s): the request waits its turn and succeeds.
        holder = sqlite3.connect(_sqlite_path(database_url), isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.1, lambda: holder.execute("ROLLBACK"))
        release.start()
        try:
            resp = client.post("/_probe/write")
        finally:
            release.join()
            holder.close()
        assert resp.status_code == 200
        assert _rows(probe_app) == [(1, 0), (1001, 1)]
