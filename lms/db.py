"""Database plumbing: the declarative Base, a stable naming convention, the engine and one session per
request or job. Imports nothing from the feature packages."""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import random
import threading
import time
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlalchemy.types import TypeDecorator

from lms import clock
from lms.changes import ChangeFeed
from lms.lean import platform_hook

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Now, aware, in UTC: what every timestamp column stores (the platform's clock, ``lms.clock``)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, hands back aware UTC, on every backend alike (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


# How long a SQLite connection waits for another's write lock before "database is locked" (seconds; the app's
# DB_LOCK_TIMEOUT). Past it the request answers 503 with Retry-After (lms.web), nothing written.
DEFAULT_LOCK_TIMEOUT = 15.0


def _sqlite_pragmas_for(lock_timeout: float):
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cur.close()
    return _sqlite_pragmas


# Does the current request (or job) mean to write? On SQLite its transactions then start with BEGIN IMMEDIATE:
# the write lock is taken up front and waits its turn (busy_timeout). A deferred transaction that reads first and
# writes later fails at once with "database is locked" when another process committed in between (WAL
# snapshot), whatever the timeout; that is what the benchmark's bursts (exam start, check-in, submit) hit.
# Safe methods stay deferred so that reads never queue behind writers. PostgreSQL ignores it.
_write_intent: ContextVar[bool] = ContextVar("lms_write_intent", default=False)


def set_write_intent(value: bool):
    """Mark what follows in this context as writing (or not); returns a token for ``reset_write_intent``."""
    return _write_intent.set(value)


def reset_write_intent(token) -> None:
    _write_intent.reset(token)


@contextmanager
def as_writer() -> Iterator[None]:
    """Within: this context's transactions write (SQLite: they begin with BEGIN IMMEDIATE and wait their turn for
    the lock). Jobs and background work run so (``lms.jobs``)."""
    token = set_write_intent(True)
    try:
        yield
    finally:
        reset_write_intent(token)


log = logging.getLogger("lms.db")
T = TypeVar("T")

# ---------------------------------------------------------------- the one transaction helper
# Hot paths (the check-in, the exam's start/save/submit) and background work read first and write briefly:
#   with reads_first(session): ...reads...; result = write_phase(session, lambda: ...writes...)
# ``reads_first`` keeps the reads in deferred transactions (no SQLite write lock, no autoflush); ``write_phase``
# ends the read transaction, keeping every loaded object and its pending changes, runs the writes in a write
# transaction of their own (SQLite: BEGIN IMMEDIATE) and commits, retrying a bounded number of times when SQLite
# says the database is busy or PostgreSQL reports a serialization failure or a deadlock. A deferred transaction is
# never upgraded to a write (that fails at once on SQLite when another process committed since its snapshot), so
# what the read phase decided must be re-checked by the writes themselves (conditional UPDATE, unique index).
WRITE_TRIES = 8
_PG_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_retryable(exc: BaseException) -> bool:
    """Is this database error a transient conflict that the same transaction, run again, can get past?"""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _PG_RETRYABLE:
        return True
    text = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


def is_serialization_conflict(exc: BaseException) -> bool:
    """A PostgreSQL serialization failure or deadlock: the whole transaction, run again, may well succeed."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _PG_RETRYABLE


def retrying(fn: Callable[[], T], tries: int = WRITE_TRIES) -> T:
    """Call ``fn`` (a whole transaction: it opens, writes and commits its own session) again after a transient
    conflict, with a short growing, jittered pause; the last failure is raised."""
    for i in range(tries):
        try:
            return fn()
        except DBAPIError as exc:
            if not is_retryable(exc) or i == tries - 1:
                raise
            time.sleep(0.02 * (2 ** min(i, 5)) + random.random() * 0.03)
    raise AssertionError("unreachable")


@contextmanager
def reads_first(session: Session) -> Iterator[None]:
    """Within: transactions start deferred (SQLite ``BEGIN``), whatever the request method, and queries do
    not autoflush: a pending change would otherwise be written inside the read transaction, the very upgrade
    this avoids. Pending changes are written by ``write_phase``."""
    token = set_write_intent(False)
    try:
        with session.no_autoflush:
            yield
    finally:
        reset_write_intent(token)


def end_reads(session: Session) -> None:
    """End the session's read transaction without flushing and without expiring what it loaded: loaded objects
    and their unflushed changes stay in the session, and the next flush writes them."""
    if not session.in_transaction():
        return
    if not (session.new or session.dirty or session.deleted) and not session.expire_on_commit:
        session.commit()  # a read-only transaction: nothing is written, the loaded objects stay loaded
        return
    kept = list(session.identity_map.values()) + list(session.new)
    session.expunge_all()
    session.rollback()
    session.add_all(kept)


def write_phase(session: Session, fn: Callable[[], T], tries: int = WRITE_TRIES) -> T:
    """End the read transaction, then run ``fn`` in a write transaction and commit, retrying on a transient
    conflict (``is_retryable``); on any other error roll back and raise. Services never commit: this is for
    request and job boundaries. ``fn`` must be safe to run again (it re-reads what it writes against)."""
    end_reads(session)
    token = set_write_intent(True)
    try:
        for i in range(tries):
            try:
                result = fn()
                session.commit()
                return result
            except DBAPIError as exc:
                session.rollback()
                if not is_retryable(exc) or i == tries - 1:
                    raise
                time.sleep(0.02 * (2 ** min(i, 5)) + random.random() * 0.03)
            except BaseException:
                session.rollback()
                raise
        raise AssertionError("unreachable")
    finally:
        reset_write_intent(token)


# ---------------------------------------------------------------- SQLite's writers queue (issue 20)
# SQLite lets one write transaction run at a time; a connection that finds the write lock taken sleeps in SQLite's
# busy handler, in steps of 1, 2, 5, 10, ... up to 100 ms, and tries again. The lock is held for well under a
# millisecond by an autosave, but 5 gunicorn workers × 4 threads waiting so slept tens of milliseconds each time they
# lost, which made the autosave's p99 (687 ms at full scale, 2026-12-03). So every write transaction on a SQLite file
# first takes its turn in a queue: a lock per engine among the process's threads (a waiting thread is woken the
# moment the holder lets go), then an exclusive fcntl.flock on a lock file next to the database among the processes
# (workers, scheduler, CLI, jobs; polled by at most one thread per process, pauses of 0.2 ms doubling up to 2 ms:
# WRITE_QUEUE_POLL), and only then BEGIN IMMEDIATE, which finds the write lock free. The queue is let go once the transaction's COMMIT or
# ROLLBACK has returned (the dialect's do_commit/do_rollback; the pool's reset, close and invalidation too), so it
# is held exactly as long as SQLite's own write lock. Read transactions (BEGIN) never queue. A writer that has
# waited DB_LOCK_TIMEOUT for the queue goes on without it to BEGIN IMMEDIATE and SQLite's busy handler, as before:
# the queue only orders writers; "database is locked" (503) still comes from SQLite. In-memory databases: no queue.
WRITE_QUEUE_POLL = (0.0002, 0.002)  # the first pause and the longest, doubling (seconds)
WRITE_QUEUE_SUFFIX = "-writequeue"
_QUEUE_SETUP = threading.Lock()  # a queue's first use in a process (WriteQueue._for_this_process)


class WriteQueue:
    """The queue of one SQLite database's writers in this process (see above)."""

    def __init__(self, lock_path: str, timeout: float):
        self.lock_path = lock_path
        self.timeout = timeout
        self._pid = None
        self._fd = None
        self._threads = None
        self.holder = None  # the DBAPI connection whose transaction holds the queue
        self._held = None  # (the thread lock, the lock file) it holds
        self.waits = 0  # how many acquisitions found the queue taken (tests read it)

    def _for_this_process(self) -> None:
        # After a fork (gunicorn's preloaded app) the child must neither share the parent's open file (a flock
        # belongs to the open file, so parent and child would not exclude each other) nor its thread lock. The
        # first threads of a new process may arrive together: one opens, the others wait for it.
        if self._pid != os.getpid():
            with _QUEUE_SETUP:
                if self._pid != os.getpid():
                    self._threads = threading.Lock()
                    self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                    self.holder = self._held = None
                    self._pid = os.getpid()

    def acquire(self, dbapi_connection) -> bool:
        """Wait for this connection's turn to write; False when the wait passed the timeout (go on unqueued)."""
        self._for_this_process()
        threads, fd = self._threads, self._fd
        deadline = time.monotonic() + self.timeout
        waited = False
        if not threads.acquire(blocking=False):
            waited = True
            self.waits += 1
            if not threads.acquire(timeout=self.timeout):
                return False
        pause = WRITE_QUEUE_POLL[0]
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        waited = True
                        self.waits += 1
                    if time.monotonic() >= deadline:
                        threads.release()
                        return False
                    time.sleep(pause)
                    pause = min(pause * 2, WRITE_QUEUE_POLL[1])
        except BaseException:
            threads.release()
            raise
        self._held = (threads, fd)
        self.holder = _raw(dbapi_connection)
        return True

    def release(self, dbapi_connection) -> None:
        """Let the next writer go, if this connection's transaction holds the queue."""
        dbapi_connection = _raw(dbapi_connection)
        if self.holder is None or self.holder is not dbapi_connection or self._pid != os.getpid():
            return
        (threads, fd), self.holder, self._held = self._held, None, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        threads.release()


def _raw(connection):
    """The DBAPI connection itself (SQLAlchemy hands the dialect its pool's proxy of it, the pool the raw one)."""
    return getattr(connection, "dbapi_connection", connection)


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return os.path.abspath(database.removeprefix("file:").split("?")[0])


def _install_write_queue(engine: Engine, queue: WriteQueue) -> None:
    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _commit(dbapi_connection):
        try:
            do_commit(dbapi_connection)
        finally:
            queue.release(dbapi_connection)

    def _rollback(dbapi_connection):
        try:
            do_rollback(dbapi_connection)
        finally:
            queue.release(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = _commit, _rollback  # this engine's dialect only

    def _let_go(dbapi_connection, *_args):
        queue.release(dbapi_connection)

    for name in ("checkin", "close", "invalidate", "soft_invalidate"):
        event.listen(engine, name, _let_go)


def make_engine(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, **kwargs) -> Engine:
    """An engine for ``url``; on SQLite with the pragmas and the BEGIN (IMMEDIATE) handling above, waiting at most
    ``lock_timeout`` seconds for another connection's write lock."""
    # SQL parameters (ID numbers, phones typed into a search) never reach an error message or a log.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": lock_timeout, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas_for(lock_timeout))
        # pysqlite's own transaction handling defers BEGIN; take control so that a write transaction
        # starts as IMMEDIATE when asked and SAVEPOINTs behave.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        path = _sqlite_file(url)
        queue = WriteQueue(path + WRITE_QUEUE_SUFFIX, lock_timeout) if path else None
        engine.lms_write_queue = queue  # tests and tools look at it
        if queue is not None:
            _install_write_queue(engine, queue)

        @event.listens_for(engine, "begin")
        def _begin(conn):
            if not _write_intent.get():
                conn.exec_driver_sql("BEGIN")
                return
            if queue is not None:
                queue.acquire(conn.connection)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if queue is not None:
                    queue.release(conn.connection)
                raise

        engine.lms_reader = ThreadReader.of(engine)
        engine.lms_changes = ChangeFeed.of(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    engine.lms_reader = ThreadReader.of(engine)
    engine.lms_changes = ChangeFeed.of(engine)
    return engine


# ---------------------------------------------------------------- a thread's own read connection (issue 20)
# The public verification's one SELECT (certificates.services.read_public_record), the hottest read of the site, ran on
# a connection lent by the pool: on PostgreSQL three round trips a scan (psycopg's BEGIN, the SELECT, the pool's
# reset-on-return ROLLBACK; counted in the libpq trace), and the read itself was 177 Python calls with psycopg, 81 on
# SQLite (the checkout, the reset, the return). Taking the scan's Python calls from 967 to 516 had not moved its rate
# (849 req/s, 0.18 x bare Flask at full scale): the time was in the round trips. A ThreadReader gives each thread its
# own DB-API connection instead, detached from the pool (opened by it, so with the engine's connect events), in
# autocommit (no BEGIN, nothing to roll back: one round trip) and read-only. It is opened on a thread's first read in
# the serving process and never used by another thread or process: gunicorn's preloaded app forks after import, and a
# connection opened before the fork belongs to the parent (closing it would end the parent's session on the shared
# socket, so it is only let go). It is replaced when it is older than the pool's recycle time, or after any error on it
# (a dead server, a stale prepared statement: the read raises, and the request goes on as on any other error); it is
# closed when its thread ends, and at exit. Measured: one round trip a scan, the read 64 Python calls with psycopg and
# 20 on SQLite.
_READ_ONLY = {"postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "sqlite": "PRAGMA query_only = ON"}
_foreign: list = []  # DB-API connections another process opened (before a fork): neither closed nor freed here


class _Kept:
    """One thread's read connection, its cursor, the process that opened it, when it is due for replacement (0:
    never) and ``close`` (a finalizer: run when the thread ends, at exit, or when it is replaced)."""
    __slots__ = ("connection", "cursor", "pid", "expires", "close", "__weakref__")


def _close_kept(connection, pid: int) -> None:
    if pid != os.getpid():  # the parent's (we are a forked child): its socket is the parent's too
        _foreign.append(connection)
        return
    try:
        connection.close()
    except Exception:  # already broken: nothing left to close
        log.debug("closing a read connection failed", exc_info=True)


class ThreadReader:
    """Each thread's read-only autocommit DB-API connection to ``engine`` (see above): ``cursor()`` before a read,
    ``discard()`` after an error during it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.recycle = engine.pool._recycle  # noqa: SLF001 (the pool's own setting: -1 for never)
        self._local = threading.local()
        self.opened = 0  # connections opened (tests read it)

    @classmethod
    def of(cls, engine: Engine) -> ThreadReader | None:
        """The engine's reader, or None when its pool shares one connection by design (an in-memory SQLite
        database, whose other connections would be other, empty, databases)."""
        return None if isinstance(engine.pool, (SingletonThreadPool, StaticPool)) else cls(engine)

    def cursor(self):
        """This thread's cursor, on a connection this process opened and not yet due for replacement."""
        kept = getattr(self._local, "kept", None)
        if kept is None or kept.pid != os.getpid() or (kept.expires and time.monotonic() > kept.expires):
            kept = self._open(kept)
        return kept.cursor

    def discard(self) -> None:
        """Close this thread's connection (an error happened on it); the next read opens another."""
        kept = getattr(self._local, "kept", None)
        self._local.kept = None
        if kept is not None:
            kept.close()

    def _open(self, old: _Kept | None) -> _Kept:
        self._local.kept = None
        if old is not None:
            old.close()
        proxied = self.engine.raw_connection()
        proxied.detach()  # the pool forgets it (its slot is free again); closing it now really closes it
        try:
            connection = proxied.dbapi_connection
            connection.rollback()  # no transaction left open by the connect events: autocommit can be set
            self.engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
            statement = _READ_ONLY.get(self.engine.dialect.name)
            cursor = connection.cursor()
            if statement:
                cursor.execute(statement)
        except BaseException:
            proxied.close()
            raise
        kept = _Kept()
        kept.connection, kept.cursor, kept.pid = connection, cursor, os.getpid()
        kept.expires = time.monotonic() + self.recycle if self.recycle >= 0 else 0
        kept.close = weakref.finalize(kept, _close_kept, connection, kept.pid)
        self._local.kept = kept
        self.opened += 1
        return kept


@dataclass
class DatabaseState:
    """One app's engine and session factory (in ``app.extensions["lms_db"]``)."""

    engine: Engine
    sessionmaker: sessionmaker


class Database:
    """``db.session`` is the current request's (or app context's) session. The engine belongs to each app,
    not to this shared object, so several apps in one process (tests, tools) never share a database."""

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        pool = {} if url.startswith("sqlite") else {
            "pool_pre_ping": bool(app.config.get("DB_POOL_PRE_PING", False)),
            "pool_recycle": int(app.config.get("DB_POOL_RECYCLE", 1800))}
        engine = make_engine(url, lock_timeout=float(app.config.get("DB_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)), **pool)
        app.extensions["lms_db"] = DatabaseState(engine, sessionmaker(engine, expire_on_commit=False))
        app.teardown_appcontext(self._teardown)
        app.before_request(platform_hook(self._mark_writes))
        app.teardown_request(self._unmark_writes)

    @staticmethod
    def _mark_writes() -> None:
        g.write_intent_token = set_write_intent(request.method not in ("GET", "HEAD", "OPTIONS"))

    @staticmethod
    def _unmark_writes(exc) -> None:
        token = g.pop("write_intent_token", None)
        if token is not None:
            try:
                reset_write_intent(token)
            except ValueError:  # set in another context (a test client's nested request): just clear it
                _write_intent.set(False)

    @staticmethod
    def _state() -> DatabaseState:
        return current_app.extensions["lms_db"]

    @property
    def engine(self) -> Engine:
        return self._state().engine

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self._state().sessionmaker()
        return g.db_session

    @staticmethod
    def _teardown(exc) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()
        for fn in g.pop("db_deferred_writes", ()):
            Database._run_deferred(fn)

    def defer_write(self, fn) -> None:
        """Run ``fn(session)`` after the request, in a short write transaction of its own, once the request's
        session is closed; best effort: if it fails it is dropped (logged), never the request's error. For
        bookkeeping that must not turn a reading request into a writing one, such as the coarse last-seen time
        of a login session: on SQLite a read transaction that then writes fails at once when another request
        committed in between, and the request's own reads should not wait for, or hold, the write lock. (The
        short write itself waits its turn for the lock, at most once per the bookkeeping's granularity.)"""
        g.setdefault("db_deferred_writes", []).append(fn)

    @staticmethod
    def _run_deferred(fn) -> None:
        token = set_write_intent(True)
        session = Database._state().sessionmaker()
        try:
            fn(session)
            session.commit()
        except OperationalError as exc:  # the database busy or away: the next request records it
            session.rollback()
            log.warning("deferred write dropped: %s", type(exc.orig).__name__)
        except Exception:
            session.rollback()
            log.exception("deferred write failed")
        finally:
            session.close()
            reset_write_intent(token)

    @contextmanager
    def job_session(self) -> Iterator[Session]:
        """A session of its own for scheduled or background work: commit on success, roll back on error. Such
        work writes, so its transactions take SQLite's write lock when they begin (see ``_write_intent``)."""
        token = set_write_intent(True)
        session = self._state().sessionmaker()
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()
            reset_write_intent(token)


db = Database()


def wal_checkpoint(session) -> None:
    """SQLite: copy the write-ahead log into the database file now, between transactions (PASSIVE: it waits for
    no reader or writer, and copies what it can). A job that commits many chunks calls it after each commit, so
    that the WAL stays small and restarts from its beginning: otherwise, every ~1,000 pages, SQLite's automatic
    checkpoint runs inside a COMMIT (copy and fsync: 0.5 s on the loaded bench machine, the roll-up's longest
    write, issue 20). A no-op on PostgreSQL and inside a transaction."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.in_transaction():
        return
    raw = bind.engine.raw_connection()  # the session's bind may be an Engine or a Connection (tests)
    try:
        driver = raw.driver_connection
        if not driver.in_transaction:
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        raw.close()
