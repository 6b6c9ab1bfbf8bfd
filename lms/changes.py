"""Changes to watched tables, pushed by PostgreSQL to every server process (issue 20): what lets a process keep
what it read of them between requests and still never answer from a record a committed change has made stale.

A watched table has a statement-level trigger that calls ``pg_notify('lms_changes', <table>)`` after any INSERT,
UPDATE, DELETE or TRUNCATE; PostgreSQL delivers the notification, once the transaction commits, to every session
that listens on the channel, on every host. Each process that asks (``ChangeFeed.generation``) gets one listening
connection, on a thread of its own, opened on the first call in that process (gunicorn forks its workers after
importing the app: a thread or connection of the parent is not the child's). The feed counts what it hears:

- ``generation()`` is a number that changes whenever a watched table may have changed since: a notification heard,
  or the listening connection lost or replaced (what it might have missed). It is None while the feed is not known
  to be listening: before its first heartbeat is heard, after an error until it listens again, or when none of its
  heartbeats has come back for three intervals. A heartbeat is a notification the feed sends itself on its own
  connection every ``heartbeat`` seconds: hearing it proves the whole way works (a connection silently cut, or a
  pooler in between that does not keep a session's LISTEN, such as PgBouncer's transaction pooling, is never
  trusted: nothing is kept then, and every scan reads). A caller keeps what it read tagged with the generation
  taken BEFORE the read, and uses it only while ``generation()`` still returns that number: a change committed
  after the read began has moved it (its notification is heard after its commit), so what the read may have missed
  is never used.
- The window in which a process may still use a record after a change is the notification's way to its thread
  (the commit, the socket, the thread's next turn on the interpreter): milliseconds.

A watched table is named once, by the feature that owns it (``watch(table)``): ``create_all`` then adds the trigger
on PostgreSQL (tests), and the migration that adds it names it too (revision 0021a, frozen SQL). SQLite has no
notification: there is no feed, and a caller reads every time (``ChangeFeed.of`` is None).
"""
from __future__ import annotations

import logging
import os
import threading
import time

from sqlalchemy import DDL, Table, event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "lms_changes"
_BEAT = "beat:"  # the payload's prefix of a feed's heartbeat (a table's name never starts so)
FUNCTION = "lms_notify_change"
FUNCTION_SQL = (f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$")


def trigger_name(table: str) -> str:
    return f"{CHANNEL}_{table}"


def trigger_sql(table: str) -> str:
    """The statement-level trigger that notifies the channel of any change to ``table``."""
    return (f'CREATE TRIGGER {trigger_name(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")


WATCHED: list[str] = []


def watch(table: Table) -> None:
    """Notify the channel of every change to ``table`` (PostgreSQL): ``create_all`` adds the trigger; a migration
    adds it to an existing database. Idempotent."""
    if table.name in WATCHED:
        return
    WATCHED.append(table.name)
    event.listen(table, "after_create", DDL(FUNCTION_SQL).execute_if(dialect="postgresql"))
    event.listen(table, "after_create", DDL(trigger_sql(table.name)).execute_if(dialect="postgresql"))


class ChangeFeed:
    """One process's listening connection to ``engine``'s database (see the module's doc)."""

    def __init__(self, engine: Engine, heartbeat: float = 5.0) -> None:
        self.engine = engine
        self.heartbeat = heartbeat
        self._gen = 0
        self._live_until = 0.0  # monotonic time until which the feed is known to be listening
        self._pid = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listen_sql = f"LISTEN {CHANNEL}"
        self.heard = 0  # notifications of changes heard (tests read it)
        self.connected = 0  # LISTEN connections made

    @classmethod
    def of(cls, engine: Engine) -> ChangeFeed | None:
        """The engine's feed: PostgreSQL's; None for a database that does not notify (SQLite)."""
        return cls(engine) if engine.dialect.name == "postgresql" else None

    def generation(self) -> int | None:
        """The current generation, or None while the feed is not known to be listening (see the module's doc). The
        first call in a process starts its listener, and returns None."""
        if self._pid != os.getpid():
            self._start()
            return None
        if time.monotonic() >= self._live_until:
            return None
        return self._gen

    def stop(self) -> None:
        """Stop this process's listener (tests; the thread is a daemon and ends with the process anyway)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            try:  # wake the listener now rather than at its next heartbeat
                with self.engine.connect() as conn:
                    conn.exec_driver_sql(f"NOTIFY {CHANNEL}")
                    conn.commit()
            except Exception:  # noqa: BLE001 (the server is gone: the listener's heartbeat ends it)
                log.debug("waking the change feed's listener failed", exc_info=True)
            thread.join(timeout=self.heartbeat + 5)
        self._live_until = 0.0

    # ---------------------------------------------------------------- the listener's thread
    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._live_until = 0.0
            self._gen += 1
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="lms-changes", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        delay = 0.5
        stop = self._stop
        while not stop.is_set():
            try:
                self._listen(stop)
                delay = 0.5
            except Exception:  # noqa: BLE001 (a lost server, a failed heartbeat: listen again after a pause)
                log.warning("change feed: listening connection lost; the kept records are not used until it is "
                            "back", exc_info=True)
            self._live_until = 0.0
            self._gen += 1  # whatever was notified meanwhile was not heard
            stop.wait(delay)
            delay = min(delay * 2, 30.0)

    def _listen(self, stop: threading.Event) -> None:
        proxied = self.engine.raw_connection()
        proxied.detach()  # the pool's slot is free again; closing it below really closes it
        try:
            connection = proxied.dbapi_connection
            connection.rollback()
            connection.autocommit = True
            connection.execute(f"SET application_name = '{CHANNEL}'")  # pg_stat_activity names it
            connection.execute(self.listen_sql)
            self.connected += 1
            self._gen += 1  # anything committed before LISTEN was not heard
            beat = 0
            while not stop.is_set():
                # The heartbeat is a notification of our own, sent on this connection: hearing it proves that
                # notifications reach this session (behind a pooler that moves sessions between connections, such
                # as PgBouncer's transaction pooling, they do not: the feed then never counts as listening).
                beat += 1
                token = f"{_BEAT}{os.getpid()}:{id(self)}:{beat}"
                connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, token))
                for note in connection.notifies(timeout=self.heartbeat):
                    if note.payload.startswith(_BEAT):  # a heartbeat, ours or another process's: no change
                        if note.payload == token:
                            self._live_until = time.monotonic() + 3 * self.heartbeat
                        continue
                    self._gen += 1
                    self.heard += 1
                    if stop.is_set():
                        return
        finally:
            self._live_until = 0.0
            try:
                proxied.close()
            except Exception:  # noqa: BLE001 (already broken)
                log.debug("closing the change feed's connection failed", exc_info=True)
