"""Attendance rates: the share of timetabled hours attended (present or late)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, func, or_, select
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


def hours_so_far(enrollment_id, class_id, now):
    """(hours timetabled in sessions started by ``now``, hours of those attended) of one enrolment, as two
    correlated scalar subqueries on ``enrollment_id`` and ``class_id`` (columns of the caller's query), for a
    caller that reads them within its own statement (the exam start's one read: ``exams.services``). The rate
    is ``so_far_rate`` of the two, the same figure as ``attendance_rate(..., so_far=True)``."""
    started = and_(ClassSession.class_id == class_id, ClassSession.starts_at <= now)
    total = select(func.coalesce(func.sum(ClassSession.hours), 0.0)).where(started).scalar_subquery()
    attended = (select(func.coalesce(func.sum(ClassSession.hours), 0.0))
                .join(AttendanceRecord, AttendanceRecord.session_id == ClassSession.id)
                .where(started, AttendanceRecord.enrollment_id == enrollment_id,
                       AttendanceRecord.status.in_([AttendanceStatus.present, AttendanceStatus.late]))
                .scalar_subquery())
    return total, attended


def so_far_rate(attended, total) -> float:
    """The rate so far from ``hours_so_far``'s two figures (a class with no session started yet: 1.0)."""
    return _ratio(attended, total, True)


def _ratio(attended, total, so_far: bool) -> float:
    total = float(total or 0.0)
    if total <= 0:
        return 1.0 if so_far else 0.0
    return round(float(attended or 0.0) / total, 4)


def _rates_statement():
    started = ClassSession.starts_at <= bindparam("now")
    attended = AttendanceRecord.id.is_not(None)

    def hours_if(cond):
        return func.coalesce(func.sum(case((cond, ClassSession.hours), else_=0.0)), 0.0)

    return (
        select(func.coalesce(func.sum(ClassSession.hours), 0.0), hours_if(started), hours_if(attended),
               hours_if(and_(started, attended)))
        .select_from(ClassSession)
        .outerjoin(AttendanceRecord, and_(
            AttendanceRecord.session_id == ClassSession.id, AttendanceRecord.enrollment_id == bindparam("enrollment_id"),
            or_(AttendanceRecord.status == AttendanceStatus.present, AttendanceRecord.status == AttendanceStatus.late)))
        .where(ClassSession.class_id == bindparam("class_id"))
    )


_RATES = _rates_statement()  # built once; constructing it costs more than running it


def attendance_rates(session: Session, enrollment_id: int, class_id: int, now: dt.datetime) -> tuple[float, float]:
    """(so far, overall) for one enrolment, by the rules of ``attendance_rate``, in one aggregate statement:
    the class's sessions left-joined to the enrolment's attended records (at most one per session: the
    unique constraint on session and enrolment)."""
    total, total_so_far, done, done_so_far = session.execute(
        _RATES, {"now": now, "enrollment_id": enrollment_id, "class_id": class_id}).one()
    return _ratio(done_so_far, total_so_far, True), _ratio(done, total, False)


@dataclass
class Rates:
    """An enrolment's attendance rates: so far (sessions started) and overall (the whole timetable), 0..1."""

    so_far: float
    overall: float


def rates(session: Session, enrollment: Enrollment, now: dt.datetime) -> Rates:
    """Both attendance rates of an enrolment (what the pages and the API show)."""
    return rates_of(session, enrollment.id, enrollment.class_id, now)


def rates_of(session: Session, enrollment_id: int, class_id: int, now: dt.datetime) -> Rates:
    """Both attendance rates of one enrolment, in one aggregate statement."""
    return Rates(*attendance_rates(session, enrollment_id, class_id, now))
