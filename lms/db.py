"""Database plumbing: the declarative Base, a stable naming convention, the engine and one session per
request or job. Imports nothing from the feature packages."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

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
    return dt.datetime.now(dt.timezone.utc)


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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


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


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 15, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
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
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["lms_db"] = DatabaseState(engine, sessionmaker(engine, expire_on_commit=False))
        app.teardown_appcontext(self._teardown)
        app.before_request(self._mark_writes)
        app.teardown_request(self._unmark_writes)

    @staticmethod
    def _mark_writes() -> None:
        from flask import request

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
        import logging

        from sqlalchemy.exc import OperationalError

        token = set_write_intent(True)
        session = Database._state().sessionmaker()
        try:
            fn(session)
            session.commit()
        except OperationalError as exc:  # the database busy or away: the next request records it
            session.rollback()
            logging.getLogger("lms.db").warning("deferred write dropped: %s", type(exc.orig).__name__)
        except Exception:
            session.rollback()
            logging.getLogger("lms.db").exception("deferred write failed")
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
