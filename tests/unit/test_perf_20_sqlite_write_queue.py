"""Issue 20 — SQLite's writers queue (lms.db.WriteQueue): a write transaction waits its turn in the queue, not in
SQLite's busy handler (whose sleeps of up to 100 ms made the autosave's p99). Each test turns SQLite's own busy
timeout off (PRAGMA busy_timeout=0) on the waiting side, so that a write reaching BEGIN IMMEDIATE while another holds
the lock fails at once with "database is locked": they pass only if the queue serialised the writers. No test looks
at a clock; waits for the other thread are bounded by events."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

from lms import db as lmsdb
from lms.db import WRITE_QUEUE_SUFFIX, as_writer, make_engine, reads_first, write_phase

BOUND = 20.0  # seconds an event may take to arrive before the test gives up (a hang, not a timing)


def _engine(path, lock_timeout=30.0):
    engine = make_engine(f"sqlite:///{path}", lock_timeout=lock_timeout)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection, _record):  # runs after the engine's own pragmas
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    return engine


@pytest.fixture
def dbfile(tmp_path):
    path = tmp_path / "queue.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
    engine.dispose()
    return path


def _wait_for_waiter(queue, before):
    for _ in range(int(BOUND / 0.005)):
        if queue.waits > before:
            return
        threading.Event().wait(0.005)
    raise AssertionError("the second writer never queued")


def _hold_then_let_go(engine, second, queue_of_second):
    """Hold a write transaction until the second writer (a callable run in a thread) is seen waiting in its queue,
    then commit; returns the second's error, if any."""
    errors = []

    def run_second():
        try:
            second()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    with as_writer(), engine.connect() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('first')"))  # BEGIN IMMEDIATE: holds the write lock
        before = queue_of_second.waits
        thread = threading.Thread(target=run_second)
        thread.start()
        try:
            _wait_for_waiter(queue_of_second, before)
        finally:
            conn.commit()
    thread.join(BOUND)
    assert not thread.is_alive()
    return errors


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT who FROM t ORDER BY id")).scalars().all()


def test_perf_20_two_threads_writes_queue_without_busy_sleep(dbfile):
    engine = _engine(dbfile)
    queue = engine.lms_write_queue

    def second():
        with as_writer(), engine.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('second')"))

    assert _hold_then_let_go(engine, second, queue) == []
    assert _rows(engine) == ["first", "second"]
    assert queue.holder is None
    engine.dispose()


def test_perf_20_two_processes_writes_queue_on_the_lock_file(dbfile):
    """Two engines on one file have a lock file description each, as two gunicorn workers do: the flock orders
    them."""
    first, other = _engine(dbfile), _engine(dbfile)

    def second():
        with as_writer(), other.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('second')"))

    assert _hold_then_let_go(first, second, other.lms_write_queue) == []
    assert os.path.exists(str(dbfile) + WRITE_QUEUE_SUFFIX)
    assert _rows(first) == ["first", "second"]
    first.dispose()
    other.dispose()


def test_perf_20_write_phase_honours_the_queue(dbfile):
    engine = _engine(dbfile)
    queue = engine.lms_write_queue
    session = sessionmaker(engine, expire_on_commit=False)()

    def second():
        with reads_first(session):
            session.execute(text("SELECT count(*) FROM t")).scalar_one()  # the read phase: not queued
        write_phase(session, lambda: session.execute(text("INSERT INTO t (who) VALUES ('second')")))

    assert _hold_then_let_go(engine, second, queue) == []
    assert _rows(engine) == ["first", "second"]
    session.close()
    engine.dispose()


def test_perf_20_queue_is_let_go_on_rollback_and_error(dbfile):
    engine = _engine(dbfile)
    queue = engine.lms_write_queue
    session = sessionmaker(engine)()

    def fails():
        session.execute(text("INSERT INTO t (who) VALUES ('never')"))
        assert queue.holder is not None  # held while the write transaction runs
        raise ValueError("boom")

    with pytest.raises(ValueError):
        write_phase(session, fails)
    assert queue.holder is None

    with pytest.raises(RuntimeError):
        with as_writer(), engine.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('never')"))
            raise RuntimeError("boom")
    assert queue.holder is None

    # A connection returned to the pool mid-transaction (a request torn down) lets go too.
    with as_writer():
        conn = engine.connect()
        conn.execute(text("INSERT INTO t (who) VALUES ('never')"))
        assert queue.holder is not None
        conn.close()
    assert queue.holder is None

    # And another "process" can take it at once: nothing was left locked.
    other = _engine(dbfile)
    with as_writer(), other.begin() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('after')"))
    assert other.lms_write_queue.waits == 0
    assert _rows(engine) == ["after"]
    session.close()
    engine.dispose()
    other.dispose()


def test_perf_20_reads_never_queue(dbfile):
    engine = _engine(dbfile)
    queue = engine.lms_write_queue
    with as_writer(), engine.connect() as writer:
        writer.execute(text("INSERT INTO t (who) VALUES ('first')"))
        holder = queue.holder
        assert holder is not None
        token = lmsdb.set_write_intent(False)
        try:
            with engine.connect() as reader:  # no write intent: BEGIN, no queue, no wait
                assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        finally:
            lmsdb.reset_write_intent(token)
        assert queue.holder is holder and queue.waits == 0
        writer.commit()
    engine.dispose()


def test_perf_20_memory_databases_have_no_queue():
    assert make_engine("sqlite://").lms_write_queue is None
    assert lmsdb._sqlite_file("sqlite:///:memory:") is None


def test_perf_20_forked_worker_queues_on_its_own_lock_file(dbfile):
    """gunicorn forks its workers from a master that built the app and may have written: a worker must open the
    lock file anew (a flock belongs to the open file, which a fork shares: master and workers sharing one would
    all get the lock at once)."""
    engine = _engine(dbfile)
    queue = engine.lms_write_queue
    with as_writer(), engine.begin() as conn:  # the "master" writes once: its queue has opened the lock file
        conn.execute(text("INSERT INTO t (who) VALUES ('master')"))
    held_r, held_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "worker" takes its turn and holds it until the master has tried
        code = 1
        try:
            code = 0 if queue.acquire(object()) else 2
            os.write(held_w, b"1")
            os.read(go_r, 1)
        finally:
            os._exit(code)
    try:
        assert os.read(held_r, 1) == b"1"
        queue.timeout = 0.2  # a bound on the wait, not a measurement
        me = object()
        got = queue.acquire(me)
        if got:
            queue.release(me)
    finally:
        os.write(go_w, b"1")
        _pid, status = os.waitpid(pid, 0)
        for fd in (held_r, held_w, go_r, go_w):
            os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got is False  # the worker held the queue: the master's turn had not come
    engine.dispose()
