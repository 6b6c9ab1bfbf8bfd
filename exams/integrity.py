"""Exam integrity that staff can see (issue 17): the exam page reports when the trainee leaves it (tab switch,
window blur), pastes, copies or leaves full screen; each event is stored once (its page sequence number) with
the page's time and the server's, even when it arrives after a lost connection; a per-exam setting hands the
attempt in after N departures; the page carries a watermark of the trainee's masked identity and the time.

No seed states a number of departures: ``Exam.max_departures`` is the institution's per-exam setting, empty by
default (never hand in)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exams import attempts
from exams.models import Attempt, AttemptEvent, AttemptStatus, IntegrityEventKind
from lms import audit
from lms.auth.models import User
from lms.errors import ValidationFailed
from lms.pii import mask_id_number, mask_name

MAX_BATCH = 200  # events in one report; a page queues far fewer between two sends
DEPARTURES = (IntegrityEventKind.hidden, IntegrityEventKind.blur)


@dataclass(frozen=True)
class EventReport:
    departures: int
    limit: int | None
    submitted: bool


def _parse(item, attempt: Attempt, now: dt.datetime) -> tuple[int, IntegrityEventKind, dt.datetime]:
    """One reported event as (seq, kind, when): the page's time, kept within the attempt's start and now."""
    if not isinstance(item, dict):
        raise ValidationFailed({"events": _("事件格式无效")})
    try:
        seq = int(item.get("seq"))
        kind = IntegrityEventKind(item.get("kind"))
    except (TypeError, ValueError):
        raise ValidationFailed({"events": _("事件格式无效")})
    if not 0 < seq < 2**31:
        raise ValidationFailed({"events": _("事件格式无效")})
    try:
        when = dt.datetime.fromisoformat(str(item.get("at")).replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        when = now
    end = min(now, attempt.finished_at or now)
    return seq, kind, min(max(when, attempt.started_at), end)


def departures(session: Session, attempt_id: int) -> int:
    """How many times the trainee left the exam page during the attempt."""
    return session.scalar(select(func.count(AttemptEvent.id)).where(
        AttemptEvent.attempt_id == attempt_id, AttemptEvent.kind.in_(DEPARTURES))) or 0


def record_events(session: Session, user: User, attempt_id: int, events, now: dt.datetime) -> EventReport:
    """Store what the trainee's exam page reported (events already stored are skipped), and hand the attempt
    in once its departures reach the exam's limit. Events queued offline are accepted after the close too."""
    att = attempts.get_own_attempt(session, user, attempt_id)
    if not isinstance(events, list) or len(events) > MAX_BATCH:
        raise ValidationFailed({"events": _("事件格式无效")})
    parsed = {seq: (kind, when) for seq, kind, when in (_parse(e, att, now) for e in events)}
    known = set(session.scalars(select(AttemptEvent.seq).where(AttemptEvent.attempt_id == att.id,
                                                               AttemptEvent.seq.in_(list(parsed) or [0]))))
    for seq, (kind, when) in sorted(parsed.items()):
        if seq not in known:
            session.add(AttemptEvent(attempt_id=att.id, seq=seq, kind=kind, occurred_at=when, received_at=now))
    session.flush()
    n, limit = departures(session, att.id), att.exam.max_departures
    submitted = False
    if limit and n >= limit and att.status == AttemptStatus.open:
        attempts.submit(session, user, att, now)
        submitted = att.status != AttemptStatus.open
        if submitted:
            audit.record(session, user, "exam_attempt.auto_submit", att, departures=n, limit=limit)
    return EventReport(n, limit, submitted)


def events_of(session: Session, attempt: Attempt) -> list[AttemptEvent]:
    """The attempt's integrity log in the order things happened (the staff's answer sheet shows it)."""
    return list(session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)
                                .order_by(AttemptEvent.occurred_at, AttemptEvent.seq)))


def watermark(user: User) -> str:
    """The masked identity the exam page is watermarked with: name and ID number masked as everywhere public."""
    profiles = getattr(user, "trainee_profile", None) or []
    prof = profiles[0] if isinstance(profiles, list) and profiles else None
    if prof is None:
        return mask_name(user.display_name)
    return f"{mask_name(prof.real_name)} {mask_id_number(prof.id_number)}"
