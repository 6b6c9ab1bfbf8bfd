"""In-app notifications, plus an email where an address is known and a sender is configured
(``lms.notifications.mail``: SMTP, a folder in the demo, or a plugged-in channel). ``notify`` is idempotent on
``dedupe_key``: the daily reminders pass a key with the date, so a reminder goes out at most once a day."""
from __future__ import annotations

import logging
import smtplib

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.domain import Role
from lms.db import utcnow
from lms.notifications import mail
from lms.notifications.models import Notification
from lms.people.models import TraineeProfile

log = logging.getLogger("lms.notifications")


def notify(session: Session, user_id: int, kind: str, title: str, body: str = "", url: str = "",
           dedupe_key: str | None = None) -> Notification | None:
    """Add a notification; None when one with the same ``dedupe_key`` already exists for the user."""
    if dedupe_key and session.scalar(select(Notification.id).where(
            Notification.user_id == user_id, Notification.dedupe_key == dedupe_key)):
        return None
    n = Notification(user_id=user_id, kind=kind, title=title[:128], body=body, url=url[:255], dedupe_key=dedupe_key)
    session.add(n)
    session.flush()
    n.emailed = _email(session, user_id, title, body, n.url)
    return n


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


def _email(session: Session, user_id: int, subject: str, body: str, url: str) -> bool:
    if not has_app_context():
        return False
    cfg = current_app.config
    send = mail.sender_for(cfg)
    if send is None:
        return False
    to = _address_of(session, user_id)
    if not to:
        return False
    try:
        send(cfg, mail.build(cfg, to, subject, body, url))
        return True
    except (OSError, smtplib.SMTPException):  # the in-app message stands; mail is best effort
        log.warning("could not email notification to user %s", user_id)
        return False


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
