"""In-app notifications, plus an email where an address is known and a sender is configured
(``lms.notifications.mail``: SMTP, a folder in the demo, or a plugged-in channel). ``notify`` is idempotent on
``dedupe_key``: the daily reminders pass a key with the date, so a reminder goes out at most once a day.

Mail leaves only after the transaction that wrote the notification commits (an outbox in ``session.info``, sent
from the session's ``after_commit`` event): an action that is rolled back, or a savepoint that is, mails nobody,
and no database lock is held while an SMTP server answers. ``emailed`` is written with the notification when its
mail is queued (a sender is configured and an address known); a sender that then fails is logged, never retried.
The after-commit hook writes nothing: a second write transaction there would wait on a lock that an enclosing
job's own transaction may hold (SQLite)."""
from __future__ import annotations

import logging
import smtplib

from flask import current_app, has_app_context
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, SessionTransaction

from lms.auth.models import User
from lms.domain import Role
from lms.db import utcnow
from lms.notifications import mail
from lms.notifications.models import Notification
from lms.people.models import TraineeProfile

log = logging.getLogger("lms.notifications")
_OUTBOX = "lms.notifications.outbox"


def notify(session: Session, user_id: int, kind: str, title: str, body: str = "", url: str = "",
           dedupe_key: str | None = None, address: str | None = None) -> Notification | None:
    """Add a notification; None when one with the same ``dedupe_key`` already exists for the user. ``address``:
    the person's mail address as ``_address_of`` gives it (the profile's, else the account's; "" for none), when
    the caller has read it already (a batch reads its people's at once, issue 20); None: looked up here."""
    if dedupe_key and session.scalar(select(Notification.id).where(
            Notification.user_id == user_id, Notification.dedupe_key == dedupe_key)):
        return None
    n = _new(user_id, kind, title, body, url, dedupe_key)
    session.add(n)
    session.flush()
    _queue_email(session, n, address)
    return n


def notify_many(session: Session, notes: list[tuple[int, str, str, str, str, str]]) -> list[Notification]:
    """``notify`` for many people at once, without a ``dedupe_key``: ``notes`` are (user_id, kind, title, body,
    url, address) with each address already read (a batch of issuing, issue 20). One flush writes them all (one
    INSERT where ``notify`` one by one cost an INSERT each, and an UPDATE of ``emailed`` each, on PostgreSQL)."""
    rows = [_new(uid, kind, title, body, url) for uid, kind, title, body, url, _address in notes]
    session.add_all(rows)
    session.flush()
    for n, note in zip(rows, notes):
        _queue_email(session, n, note[5])
    return rows


def _new(user_id: int, kind: str, title: str, body: str, url: str, dedupe_key: str | None = None) -> Notification:
    """The notification row (its title and link cut to their columns)."""
    return Notification(user_id=user_id, kind=kind, title=title[:128], body=body, url=url[:255], dedupe_key=dedupe_key)


def mail_enabled() -> bool:
    """Is a mail sender configured (then every notification goes through ``notify``, one by one)?"""
    return has_app_context() and mail.sender_for(current_app.config) is not None


def link(endpoint: str, **values) -> str:
    """The path of a page, for a notification's link: built from the URL map, so it works in a request, a
    scheduled job or the CLI alike."""
    if not has_app_context():
        return ""
    return current_app.url_map.bind("").build(endpoint, values)


def notify_institution(session: Session, institution_id: int, kind: str, title: str, body: str = "",
                       url: str = "") -> list[Notification]:
    """Notify every enabled staff account of an institution (a bureau's decision on what it filed)."""
    staff = session.scalars(select(User.id).where(User.institution_id == institution_id,
                                                  User.role == Role.institution_staff, User.is_enabled.is_(True)))
    return [n for uid in list(staff) if (n := notify(session, uid, kind, title, body, url)) is not None]


def _queue_email(session: Session, n: Notification, address: str | None = None) -> None:
    """Put the notification's mail in the session's outbox; it is sent when the transaction commits."""
    if not has_app_context():
        return
    cfg = current_app.config
    send = mail.sender_for(cfg)
    if send is None:
        return
    to = _address_of(session, n.user_id) if address is None else address
    if to:
        tx = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_OUTBOX, []).append(
            (tx, n.id, send, cfg, mail.build(cfg, to, n.title, n.body, n.url)))
        n.emailed = True


def queue_emails(session: Session, rows) -> int:
    """Queue the mails of notifications written in bulk (``rows``: (id, user_id, title, body, url) of rows just
    inserted, e.g. by an INSERT … SELECT … RETURNING): the addresses read in one statement, the mails put in the
    outbox as ``notify`` does, and ``emailed`` set in one UPDATE. Returns how many were queued. For a job that
    notifies thousands at once (the year-end roll-up: ``notify`` one by one cost ~2.3 ms a person, three
    statements and an ORM flush each)."""
    rows = list(rows)
    if not rows or not has_app_context():
        return 0
    cfg = current_app.config
    send = mail.sender_for(cfg)
    if send is None:
        return 0
    uids = sorted({r[1] for r in rows})
    addresses: dict[int, str] = {}
    for i in range(0, len(uids), 500):
        part = uids[i:i + 500]
        people = dict(session.execute(select(TraineeProfile.user_id, TraineeProfile.email)
                                      .where(TraineeProfile.user_id.in_(part))).all())
        users = dict(session.execute(select(User.id, User.email).where(User.id.in_(part))).all())
        addresses.update({uid: people.get(uid) or users.get(uid) or "" for uid in part})
    tx = session.get_nested_transaction() or session.get_transaction()
    outbox = session.info.setdefault(_OUTBOX, [])
    queued = []
    for nid, uid, title, body, url in rows:
        if addresses.get(uid):
            outbox.append((tx, nid, send, cfg, mail.build(cfg, addresses[uid], title, body, url)))
            queued.append(nid)
    for i in range(0, len(queued), 500):
        session.execute(update(Notification).where(Notification.id.in_(queued[i:i + 500])).values(emailed=True),
                        execution_options={"synchronize_session": False})
    return len(queued)


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    """Send the committed notifications' mails (best effort: the in-app message stands)."""
    for _tx, nid, send, cfg, msg in session.info.pop(_OUTBOX, None) or ():
        try:
            send(cfg, msg)
        except (OSError, smtplib.SMTPException):
            log.warning("could not email notification %s", nid)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, rolled_back: SessionTransaction) -> None:
    """A rolled-back savepoint (or the whole transaction) takes the mails queued inside it with it."""
    outbox = session.info.get(_OUTBOX)
    if outbox:
        outbox[:] = [item for item in outbox if not _within(item[0], rolled_back)]


def _within(tx: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "after_transaction_end")
def _discard(session: Session, transaction: SessionTransaction) -> None:
    """A root transaction that ended without committing takes its unsent mails with it."""
    if transaction.parent is None:
        session.info.pop(_OUTBOX, None)


def _address_of(session: Session, user_id: int) -> str:
    email = session.scalar(select(TraineeProfile.email).where(TraineeProfile.user_id == user_id))
    if email:
        return email
    user = session.get(User, user_id)
    return getattr(user, "email", "") or ""


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's notifications are unread (the home panel and the menu badge)."""
    return session.scalar(select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications, or all of them, read; returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return session.execute(stmt.values(read_at=utcnow())).rowcount
