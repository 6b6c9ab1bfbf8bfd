"""Issue 20, the verification's read on its own connection (``lms.db.ThreadReader``), counted, never timed: a scan
through the engine checks nothing out of the pool and costs one round trip on PostgreSQL (three before: psycopg's
BEGIN, the SELECT, the pool's reset ROLLBACK), on a read-only autocommit connection of the thread's own, which no
other thread or process uses, which is replaced after an error, and closed when its thread ends."""
from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import tempfile
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from certificates import services

UNKNOWN = "z" * 24  # a well-formed number no certificate has: the read runs, and finds nothing


def _engine(app):
    return app.extensions["lms_db"].engine


def _postgres(engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def heard(engine):
    """The (thread, DB-API connection) of each statement the engine's cursor-execute listeners hear."""
    seen: list = []

    def listen(conn, cursor, statement, *_a):
        seen.append((threading.get_ident(), cursor.connection))
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


@contextmanager
def pool_events(engine):
    """The pool's checkouts and checkins meanwhile, in order."""
    events: list = []
    listeners = [(name, lambda *_a, name=name: events.append(name)) for name in ("checkout", "checkin")]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield events
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


def _read(engine) -> None:
    assert services.read_public_record(engine, UNKNOWN) is None


def _own_connection(engine):
    """This thread's read connection (opened by a read if need be)."""
    with heard(engine) as seen:
        _read(engine)
    return seen[-1][1]


def _is_closed(connection) -> bool:
    if hasattr(connection, "closed"):  # psycopg
        return bool(connection.closed)
    try:  # sqlite3 has no flag: a closed connection refuses to make a cursor
        connection.cursor()
    except Exception:  # noqa: BLE001 (sqlite3.ProgrammingError)
        return True
    return False


def _round_trips(connection, fn) -> tuple[int, str]:
    """libpq's trace of ``fn()`` on ``connection``: the server's ReadyForQuery messages (one a round trip), and
    the trace."""
    import psycopg
    with tempfile.TemporaryFile() as f:
        connection.pgconn.trace(f.fileno())
        connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
        try:
            fn()
        finally:
            connection.pgconn.untrace()
        f.seek(0)
        trace = f.read().decode()
    return sum(1 for line in trace.splitlines() if line.startswith("B") and "ReadyForQuery" in line), trace


# A read of a number on the thread's connection, in Python calls: measured 20 on SQLite and 64 with psycopg; on a
# connection the pool lends, 81 and 177.
READ_CALLS = {"sqlite": 40, "postgresql": 100}


def test_perf_22_scan_checks_out_no_pooled_connection(app):
    """After a thread's first read, its scans lend nothing from the pool: the same connection each time, in
    autocommit (no transaction left open, nothing to roll back) and read-only; on PostgreSQL one round trip a scan
    (the libpq trace: no BEGIN, no ROLLBACK); under READ_CALLS Python calls a read (cProfile's count)."""
    engine = _engine(app)
    own = _own_connection(engine)
    with pool_events(engine) as lent, heard(engine) as seen:
        for _ in range(5):
            _read(engine)
    assert lent == [] and len(seen) == 5 and {c for _, c in seen} == {own}
    cursor = own.cursor()
    if _postgres(engine):
        assert own.autocommit and own.info.transaction_status == 0  # psycopg.pq.TransactionStatus.IDLE
        trips, trace = _round_trips(own, lambda: [_read(engine) for _ in range(3)])
        assert trips == 3 and "BEGIN" not in trace and "ROLLBACK" not in trace, trace
        cursor.execute("SHOW transaction_read_only")
        assert cursor.fetchone()[0] == "on"
    else:
        assert own.isolation_level is None and not own.in_transaction
        cursor.execute("PRAGMA query_only")
        assert cursor.fetchone()[0] == 1
    cursor.close()
    prof = cProfile.Profile()
    prof.runcall(_read, engine)
    assert pstats.Stats(prof).total_calls < READ_CALLS[engine.dialect.name]


def _kill(engine, connection) -> None:
    """The server ends the connection's session (PostgreSQL), or it is closed under the reader (SQLite)."""
    if not _postgres(engine):
        connection.close()
        return
    pid = connection.info.backend_pid
    with engine.connect() as admin:
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
        for _ in range(200):  # the backend ends asynchronously: wait until it is gone
            if not admin.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                break
            admin.rollback()
            time.sleep(0.01)


def test_perf_22_dead_connection_replaced(app):
    """A connection found dead fails that one read (the fast path hands its request to Flask) and is replaced:
    the next read runs on a new connection, opened once."""
    engine = _engine(app)
    reader = engine.lms_reader
    dead = _own_connection(engine)
    _kill(engine, dead)
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        _read(engine)
    opened = reader.opened
    fresh = _own_connection(engine)
    assert fresh is not dead and _is_closed(dead) and not _is_closed(fresh)
    assert reader.opened == opened + 1
    assert _own_connection(engine) is fresh and reader.opened == opened + 1


def test_perf_22_connection_replaced_after_the_pools_recycle_time(app, monkeypatch):
    """A connection older than the pool's recycle time (``pool_recycle``; ``DB_POOL_RECYCLE`` on PostgreSQL) is
    closed and replaced before a read, as the pool replaces its own."""
    engine = _engine(app)
    reader = engine.lms_reader
    reader.discard()
    monkeypatch.setattr(reader, "recycle", 0.0)  # every connection due as soon as it is opened
    old = _own_connection(engine)
    new = _own_connection(engine)
    assert new is not old and _is_closed(old) and not _is_closed(new)
    monkeypatch.undo()
    reader.discard()  # the next test's connection is opened with the engine's own recycle time
    assert _is_closed(new)


def test_perf_22_a_connection_per_thread(app):
    """Threads reading at once each read on their own connection, the same one for each of their reads, never the
    main thread's; a thread's connection is closed when the thread ends."""
    engine = _engine(app)
    main = _own_connection(engine)
    together = threading.Barrier(3)
    errors: list = []

    def scan():
        try:
            _read(engine)
            together.wait(timeout=10)  # all three hold their connection at once
            _read(engine)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
    with heard(engine) as seen:
        threads = [threading.Thread(target=scan) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    by_thread: dict = {}
    for ident, conn in seen:
        by_thread.setdefault(ident, set()).add(conn)
    assert len(by_thread) == 3 and all(len(conns) == 1 for conns in by_thread.values()), by_thread
    connections = [next(iter(conns)) for conns in by_thread.values()]
    assert len(set(map(id, connections))) == 3 and main not in connections
    gc.collect()
    assert all(_is_closed(c) for c in connections) and not _is_closed(main)


def test_perf_22_no_connection_across_a_fork(app):
    """A process forked after the parent's read (gunicorn's preloaded app; its post_fork disposes of the pool as
    here) reads on a connection of its own, and leaves the parent's alone: the parent reads on it afterwards."""
    engine = _engine(app)
    parent = _own_connection(engine)
    parent_backend = parent.info.backend_pid if _postgres(engine) else None
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its connection, never return into pytest
        code = 1
        try:
            os.close(readable)
            engine.dispose(close=False)  # gunicorn.conf.post_fork
            child = _own_connection(engine)
            report = {"same": child is parent, "backend": child.info.backend_pid if parent_backend else None}
            os.write(writable, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    with os.fdopen(readable) as f:
        report = json.loads(f.read() or "{}")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and report["same"] is False, report
    assert report["backend"] != parent_backend or parent_backend is None
    assert _own_connection(engine) is parent and not _is_closed(parent)  # the parent's session is intact
    if parent_backend is not None:
        assert parent.info.backend_pid == parent_backend


def test_perf_22_connection_of_another_process_is_let_go_unclosed(app, monkeypatch):
    """The reader notices a connection opened under another process id (what a fork inherits) and opens its own,
    without closing the inherited one (closing would end the parent's session on the shared socket)."""
    engine = _engine(app)
    inherited = _own_connection(engine)
    real = os.getpid()
    import lms.db
    monkeypatch.setattr(lms.db.os, "getpid", lambda: real + 1)  # as if this were the forked child
    ours = _own_connection(engine)
    assert ours is not inherited and not _is_closed(inherited) and inherited in lms.db._foreign  # noqa: SLF001
    monkeypatch.undo()
    lms.db._foreign.remove(inherited)  # noqa: SLF001 (ours to close: the test's "parent" is this process)
    inherited.close()
    again = _own_connection(engine)  # back in the real process id: ``ours`` was opened under another, replaced
    assert again is not ours and not _is_closed(again)
    ours.close()


def test_perf_22_in_memory_sqlite_keeps_the_pools_connection(app):
    """An engine whose pool shares one connection by design (in-memory SQLite: another connection would be another,
    empty database) has no reader: the read borrows the pool's connection, and gives it back."""
    from lms.db import Base, make_engine
    engine = make_engine("sqlite://")
    try:
        assert engine.lms_reader is None
        Base.metadata.create_all(engine)
        with pool_events(engine) as lent:
            _read(engine)
        assert lent == ["checkout", "checkin"]
    finally:
        engine.dispose()
