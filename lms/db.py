"""Database plumbing: the declarative Base, a stable naming convention, the engine and one session per
request or job. Imports nothing from the feature packages."""
from __future__ import annotations

import datetime as dt
import logging
import random
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from lms import clock

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

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@dataclass
class DatabaseState:
    """One app's engine and session factory (in ``app.extensions["lms_db"]``)."""

    engine: Engine
    sessionmaker: sessionmaker


class Database:
    """``db.session`` is the current request's (or app context's) session. The engine belongs to each app,
    not to this shared object, so several apps in one process (tests, tools) never share a database."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"],
                             lock_timeout=float(app.config.get("DB_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)))
        app.extensions["lms_db"] = DatabaseState(engine, sessionmaker(engine, expire_on_commit=False))
        app.teardown_appcontext(self._teardown)
        app.before_request(self._mark_writes)
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
