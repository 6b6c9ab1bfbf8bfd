"""Attendance rates: the share of timetabled hours attended (present or late)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.models import AttendanceRecord, AttendanceStatus, ClassSession, Enrollment
from lms.db import utcnow


def attendance_rate(session: Session, enrollment: Enrollment, *, so_far: bool, now: dt.datetime | None = None) -> float:
    """Hours attended / hours timetabled, as 0..1. ``so_far`` counts only sessions that have started by
    ``now`` (what an exam's admission checks); otherwise the whole timetable (what completion checks).
    A class with no sessions (yet) has rate 1.0 so far and 0.0 overall."""
    now = now or utcnow()
    sessions = select(ClassSession.id, ClassSession.hours).where(ClassSession.class_id == enrollment.class_id)
    if so_far:
        sessions = sessions.where(ClassSession.starts_at <= now)
    sub = sessions.subquery()
    total = session.scalar(select(func.coalesce(func.sum(sub.c.hours), 0.0))) or 0.0
    if total <= 0:
        return 1.0 if so_far else 0.0
    attended = session.scalar(
        select(func.coalesce(func.sum(sub.c.hours), 0.0))
        .select_from(sub.join(AttendanceRecord, AttendanceRecord.session_id == sub.c.id))
        .where(
            AttendanceRecord.enrollment_id == enrollment.id,
            AttendanceRecord.status.in_([AttendanceStatus.present, AttendanceStatus.late]),
        )
    ) or 0.0
    return round(float(attended) / float(total), 4)
