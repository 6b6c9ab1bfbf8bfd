"""Who may sit an exam, and when: the one admission rule. The start of an attempt, the trainee's exam list,
the result page's "retry" button and anything else that asks "may this trainee sit (again) now?" call
``admission`` or ``can_retry``; nothing restates the rule (enrolment, attendance so far, the window, attempts
left)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from courses.attendance import hours_so_far, so_far_rate
from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
from exams.models import Attempt, AttemptStatus, Exam, ExamStatus
from lms.db import UTCDateTime, utcnow


def _enrolment(user_id: int, exam_id: int):
    """The user's approved enrolment that the exam is for — in the exam's class, or for a programme exam in one
    of the institution's classes of that programme — as a one-row derived table (id, class_id, the programme's
    minimum attendance). It joins the exam by id, so that it reads in the same statement as the exam."""
    ex = aliased(Exam)
    return (select(Enrollment.id.label("id"), Enrollment.class_id.label("class_id"),
                   Programme.min_attendance_rate.label("minimum"))
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
            .join(Programme, Programme.id == TrainingClass.programme_id)
            .join(ex, ex.id == exam_id)
            .where(Enrollment.user_id == user_id, Enrollment.status == EnrollmentStatus.approved,
                   or_(and_(ex.class_id.is_not(None), Enrollment.class_id == ex.class_id),
                       and_(ex.class_id.is_(None), TrainingClass.programme_id == ex.programme_id,
                            TrainingClass.institution_id == ex.institution_id)))
            .order_by(Enrollment.id).limit(1).subquery("enr"))


def enrollment_for(session: Session, exam: Exam, user) -> Enrollment | None:
    """The user's approved enrolment that the exam is for (``_enrolment``)."""
    return session.scalar(select(Enrollment).where(Enrollment.id.in_(select(_enrolment(user.id, exam.id).c.id))))


@dataclass
class Admission:
    allowed: bool
    reason: str
    enrollment_id: int | None = None
    attendance: float | None = None
    next_number: int | None = None  # the number the trainee's next attempt takes


@dataclass(frozen=True)
class AdmissionFacts:
    """What the admission rule reads about one trainee and one exam, all in one statement (``facts_statement``)."""

    enrollment_id: int | None  # the approved enrolment the exam is for (``enrollment_for``), None: not admitted
    minimum: float  # the programme's minimum attendance so far, 0..1
    hours_so_far: float  # hours timetabled in sessions started by now, of the enrolment's class
    attended_so_far: float  # of those, attended (present or late)
    used: int  # attempts of this exam so far
    last: int  # the highest attempt number so far (0: none)


_FACTS: list = []  # the statement, built once (``facts_statement``)


def facts_statement():
    """One SELECT of (Exam, the trainee's open Attempt or None, the admission's facts) for one exam: the exam
    start's whole read phase (it used to be ~8 statements: the visible exams, the exam, the open attempt, the
    enrolment, its class, the programme, two attendance sums, the attempts used). The enrolment is a derived
    table that joins the exam by id (no LATERAL: SQLite has none); the attendance and the attempts are scalar
    subqueries on it. ``None`` rows for an exam that does not exist. Parameters ``f_user``, ``f_exam``, ``f_now``.
    Built once (issue 20): constructing it (aliases, subqueries, their column collections) was ~40 % of a start's
    CPU in cProfile, four times the statement's own time on SQLite; the compiled form was cached already."""
    if _FACTS:
        return _FACTS[0]
    user_id, exam_id = bindparam("f_user"), bindparam("f_exam")
    now = bindparam("f_now", type_=UTCDateTime())
    enr = _enrolment(user_id, exam_id)
    total, attended = hours_so_far(enr.c.id, enr.c.class_id, now)
    mine = and_(Attempt.exam_id == exam_id, Attempt.user_id == user_id)
    used = select(func.count(Attempt.id)).where(mine).scalar_subquery()
    last = select(func.coalesce(func.max(Attempt.number), 0)).where(mine).scalar_subquery()
    current = aliased(Attempt)
    _FACTS.append(select(Exam, current, enr.c.id, enr.c.minimum, total, attended, used, last)
                  .select_from(Exam)
                  .outerjoin(enr, true())
                  .outerjoin(current, and_(current.exam_id == Exam.id, current.user_id == user_id,
                                           current.status == AttemptStatus.open))
                  .where(Exam.id == exam_id))
    return _FACTS[0]


def read_facts(session: Session, user_id: int, exam_id: int, now: dt.datetime):
    """``(exam, open attempt or None, AdmissionFacts)`` in one statement, or None when the exam does not exist."""
    row = session.execute(facts_statement(), {"f_user": user_id, "f_exam": exam_id, "f_now": now}).first()
    if row is None:
        return None
    exam, current, enrollment_id, minimum, total, attended, used, last = row
    return exam, current, AdmissionFacts(enrollment_id, float(minimum or 0), float(total or 0), float(attended or 0),
                                         int(used or 0), int(last or 0))


def decide(exam: Exam, facts: AdmissionFacts, now: dt.datetime) -> Admission:
    """THE admission rule on its facts: published; enrolled (approved); attendance so far at least the
    programme's minimum; the window open; attempts left. ``reason`` says in Chinese what is missing."""
    if exam.status != ExamStatus.published:
        return Admission(False, _("考试尚未发布"))
    if facts.enrollment_id is None:
        return Admission(False, _("您没有被录取到本考试所属的培训班"))
    rate = so_far_rate(facts.attended_so_far, facts.hours_so_far)
    if rate + 1e-9 < facts.minimum:
        return Admission(False, _("截至目前出勤率 %(r)s，低于参加考试要求的 %(m)s",
                                  r=f"{rate:.0%}", m=f"{facts.minimum:.0%}"), facts.enrollment_id, rate)
    if now < exam.opens_at:
        return Admission(False, _("考试尚未开始"), facts.enrollment_id, rate)
    if now >= exam.closes_at:
        return Admission(False, _("考试已经结束"), facts.enrollment_id, rate)
    if facts.used >= exam.attempts_allowed:
        return Admission(False, _("您已用完全部 %(n)d 次考试机会", n=exam.attempts_allowed), facts.enrollment_id, rate)
    return Admission(True, "", facts.enrollment_id, rate, facts.last + 1)


def admission(session: Session, exam: Exam, user, now: dt.datetime | None = None) -> Admission:
    """May the trainee sit the exam now? ``decide`` on the facts read in one statement (``read_facts``)."""
    now = now or utcnow()
    if exam.status != ExamStatus.published:
        return Admission(False, _("考试尚未发布"))
    return decide(exam, read_facts(session, user.id, exam.id, now)[2], now)


def can_retry(session: Session, exam: Exam, user, now: dt.datetime | None = None) -> bool:
    """May the trainee start another attempt now? The same rule as the first start (``admission``): the
    result page offers the retry only when the start would accept it."""
    return admission(session, exam, user, now).allowed
