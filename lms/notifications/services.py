"""In-app notifications, plus an email when ``SMTP_HOST`` is configured. ``notify`` is idempotent on
``dedupe_key``: the daily reminders pass a key with the date, so a reminder goes out at most once a day."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.db import utcnow
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
    n.emailed = _email(session, user_id, title, body)
    return n


def _email(session: Session, user_id: int, subject: str, body: str) -> bool:
    if not has_app_context():
        return False
    cfg = current_app.config
    host = cfg.get("SMTP_HOST")
    if not host:
        return False
    to = _address_of(session, user_id)
    if not to:
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.get("SMTP_SENDER") or "noreply@localhost"
    msg["To"] = to
    msg.set_content(body or subject)
    try:
        with smtplib.SMTP(host, cfg.get("SMTP_PORT", 25), timeout=10) as smtp:
            smtp.send_message(msg)
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
