"""Who may sit an exam, and when: the one admission rule. The start of an attempt, the trainee's exam list,
the result page's "retry" button and anything else that asks "may this trainee sit (again) now?" call
``admission`` or ``can_retry``; nothing restates the rule (enrolment, attendance so far, the window, attempts
left)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.attendance import attendance_rate
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from exams.models import Attempt, Exam, ExamStatus
from lms.db import utcnow


def enrollment_for(session: Session, exam: Exam, user) -> Enrollment | None:
    """The user's approved enrolment that the exam is for: in the exam's class, or for a programme exam in
    one of the institution's classes of that programme."""
    stmt = select(Enrollment).join(TrainingClass, TrainingClass.id == Enrollment.class_id).where(
        Enrollment.user_id == user.id, Enrollment.status == EnrollmentStatus.approved)
    if exam.class_id:
        stmt = stmt.where(Enrollment.class_id == exam.class_id)
    else:
        stmt = stmt.where(TrainingClass.programme_id == exam.programme_id,
                          TrainingClass.institution_id == exam.institution_id)
    return session.scalar(stmt.order_by(Enrollment.id).limit(1))


@dataclass
class Admission:
    allowed: bool
    reason: str
    enrollment: Enrollment | None = None
    attendance: float | None = None
    next_number: int | None = None  # the number the trainee's next attempt takes


def admission(session: Session, exam: Exam, user, now: dt.datetime | None = None) -> Admission:
    """May the trainee sit the exam now? Enrolled (approved), attendance so far at least the programme's
    minimum, the window open, attempts left. ``reason`` says in Chinese what is missing."""
    now = now or utcnow()
    if exam.status != ExamStatus.published:
        return Admission(False, _("考试尚未发布"))
    enrollment = enrollment_for(session, exam, user)
    if enrollment is None:
        return Admission(False, _("您没有被录取到本考试所属的培训班"))
    programme = enrollment.training_class.programme
    minimum = float(programme.min_attendance_rate or 0)
    rate = attendance_rate(session, enrollment, so_far=True, now=now)
    if rate + 1e-9 < minimum:
        return Admission(False, _("截至目前出勤率 %(r)s，低于参加考试要求的 %(m)s",
                                  r=f"{rate:.0%}", m=f"{minimum:.0%}"), enrollment, rate)
    if now < exam.opens_at:
        return Admission(False, _("考试尚未开始"), enrollment, rate)
    if now >= exam.closes_at:
        return Admission(False, _("考试已经结束"), enrollment, rate)
    used, last = session.execute(select(func.count(Attempt.id), func.max(Attempt.number)).where(
        Attempt.exam_id == exam.id, Attempt.user_id == user.id)).one()
    if (used or 0) >= exam.attempts_allowed:
        return Admission(False, _("您已用完全部 %(n)d 次考试机会", n=exam.attempts_allowed), enrollment, rate)
    return Admission(True, "", enrollment, rate, (last or 0) + 1)


def can_retry(session: Session, exam: Exam, user, now: dt.datetime | None = None) -> bool:
    """May the trainee start another attempt now? The same rule as the first start (``admission``): the
    result page offers the retry only when the start would accept it."""
    return admission(session, exam, user, now).allowed
