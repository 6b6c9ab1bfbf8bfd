"""Transaction phases for a write request that reads first and writes only at the end (the phone check-in).

``lms.db`` marks every POST as writing, so on SQLite its first statement opens ``BEGIN IMMEDIATE`` and the
request holds the database's one write lock from its first read (the session user, the class session, the
enrolment…) until the commit, and again while the result page reads after the commit. Under a check-in burst
every request then queues for the lock behind others' reads and rendering.

``reads_first()`` runs the request's reads in deferred transactions; ``write_phase(session)`` ends the read
transaction — keeping every loaded object *and its pending changes* (e.g. the user session's ``last_seen_at``
touched by the login loader), which are flushed with the writes — and opens the write transaction (on SQLite
``BEGIN IMMEDIATE``) only for the writes, then commits. A deferred transaction is never upgraded to a write
(that fails at once with "database is locked" when another process committed since its snapshot); decisions
read in the read phase must therefore be re-checked by the write itself (e.g. ``INSERT … ON CONFLICT DO
NOTHING`` against a unique constraint). PostgreSQL takes no lock for reads; there it only splits the work into
two short transactions.

Only the public ``lms.db.set_write_intent`` / ``reset_write_intent`` are used; this module has nothing
specific to courses and could move to ``lms.db``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.orm import Session

from lms.db import reset_write_intent, set_write_intent


@contextmanager
def reads_first(session: Session) -> Iterator[None]:
    """Within: transactions start deferred (SQLite ``BEGIN``), whatever the request method, and queries do
    not autoflush: a pending change (the login loader's ``last_seen_at``) would otherwise be written inside
    the read transaction, the very upgrade this avoids. Pending changes are written by ``write_phase``."""
    token = set_write_intent(False)
    try:
        with session.no_autoflush:
            yield
    finally:
        reset_write_intent(token)


def has_changes(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)


def end_reads(session: Session) -> None:
    """End the session's current transaction without flushing and without expiring what it loaded: the
    objects are detached, the transaction rolled back (a read transaction: nothing is lost), and the objects
    re-attached with their loaded state and unflushed changes, which the next flush writes."""
    if not session.in_transaction():
        return
    if not has_changes(session) and not session.expire_on_commit:
        session.commit()  # a read-only transaction, and the loaded objects stay loaded
        return
    kept = list(session.identity_map.values()) + list(session.new)
    session.expunge_all()
    session.rollback()
    session.add_all(kept)


@contextmanager
def write_phase(session: Session) -> Iterator[None]:
    """End the read transaction, run the block in a write transaction of its own and commit it (roll back
    on error). Statements after the block start deferred again under ``reads_first``."""
    end_reads(session)
    token = set_write_intent(True)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        reset_write_intent(token)
