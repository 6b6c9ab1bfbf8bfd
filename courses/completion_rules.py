"""The completion rules courses owns: attendance over the whole timetable, and every lesson of the class's
content (the programme's required courses as the class froze them) completed. Certificates ask ``lms.completion.check`` without importing us; ``courses.wiring`` registers them."""
from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.attendance import attendance_rate
from courses.models import AttendanceRecord, AttendanceStatus, ClassSession, Enrollment, LessonProgress
from courses.services.snapshot import CourseProgress, class_lessons, class_progress
from lms.completion import RuleResult
from lms.settingbasis import basis_label


def attendance_rule(session: Session, enrollment: Enrollment) -> RuleResult:
    """Met when the rate over the whole timetable reaches the programme's minimum."""
    programme = enrollment.training_class.programme
    rate = attendance_rate(session, enrollment, so_far=False)
    return _attendance_result(rate, programme.min_attendance_rate, basis_label(session, programme, "min_attendance_rate"))


def _attendance_result(rate: float, need: float, basis: str) -> RuleResult:
    return RuleResult("attendance", _("出勤率达标"), rate >= need,
                      _("出勤率 %(r)s，要求不低于 %(n)s", r=f"{rate:.0%}", n=f"{need:.0%}") + basis)


def attendance_many(session: Session, enrollments: list[Enrollment]) -> dict[int, RuleResult]:
    """``attendance_rule`` for a batch (issuing in bulk, issue 20): per class, its timetabled hours and every
    enrolment's attended hours in two statements; the same rate and rounding as ``attendance_rate``."""
    out: dict[int, RuleResult] = {}
    for class_id, group in _by_class(enrollments).items():
        programme = group[0].training_class.programme
        basis = basis_label(session, programme, "min_attendance_rate")
        total = float(session.scalar(select(func.coalesce(func.sum(ClassSession.hours), 0.0))
                                     .where(ClassSession.class_id == class_id)) or 0.0)
        attended = dict(session.execute(
            select(AttendanceRecord.enrollment_id, func.coalesce(func.sum(ClassSession.hours), 0.0))
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(ClassSession.class_id == class_id, AttendanceRecord.enrollment_id.in_([e.id for e in group]),
                   AttendanceRecord.status.in_([AttendanceStatus.present, AttendanceStatus.late]))
            .group_by(AttendanceRecord.enrollment_id)).all()) if total > 0 else {}
        for e in group:
            rate = round(float(attended.get(e.id) or 0.0) / total, 4) if total > 0 else 0.0
            out[e.id] = _attendance_result(rate, programme.min_attendance_rate, basis)
    return out


def _by_class(enrollments: list[Enrollment]) -> dict[int, list[Enrollment]]:
    groups: dict[int, list[Enrollment]] = defaultdict(list)
    for e in enrollments:
        groups[e.class_id].append(e)
    return groups


def lessons_rule(session: Session, enrollment: Enrollment) -> RuleResult:
    """Met when every lesson of the class's content (its snapshot of the programme's required courses, issue 17)
    is completed."""
    return _lessons_result(class_progress(session, enrollment.user, enrollment.training_class))


def lessons_many(session: Session, enrollments: list[Enrollment]) -> dict[int, RuleResult]:
    """``lessons_rule`` for a batch: the class's lessons once, and the lessons every holder completed in one
    statement per class."""
    out: dict[int, RuleResult] = {}
    for _class_id, group in _by_class(enrollments).items():
        by_course = class_lessons(session, group[0].training_class)
        ids = [les.id for _c, lessons in by_course for les in lessons]
        done: dict[int, set[int]] = defaultdict(set)
        for user_id, lesson_id in session.execute(select(LessonProgress.user_id, LessonProgress.lesson_id).where(
                LessonProgress.user_id.in_([e.user_id for e in group]), LessonProgress.lesson_id.in_(ids or [0]),
                LessonProgress.completed_at.is_not(None))):
            done[user_id].add(lesson_id)
        for e in group:
            have = done.get(e.user_id, set())
            out[e.id] = _lessons_result([CourseProgress(c, len(lessons), sum(1 for les in lessons if les.id in have))
                                         for c, lessons in by_course])
    return out


def _lessons_result(progress: list[CourseProgress]) -> RuleResult:
    total = sum(p.total for p in progress)
    done = sum(p.completed for p in progress)
    missing = [p.course.title for p in progress if p.completed < p.total]
    detail = _("已学完 %(d)d / %(t)d 个课时", d=done, t=total)
    if missing:
        detail += _("；未学完：%(c)s", c="、".join(missing))
    return RuleResult("lessons", _("必修课程学完"), done >= total, detail)
