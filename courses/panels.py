"""Home-page panels: a trainee's classes and timetable (the coming sessions of every class they were admitted to); staff's applications to decide and today's
sessions; regulators' classes in their region."""
from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from courses.models import ClassSession, Enrollment, EnrollmentStatus, TrainingClass
from lms.domain import Role
from lms.scoping import visible
from lms.templating import SHANGHAI, local_dt, today_local


TIMETABLE_ROWS = 12  # the home page lists this many coming sessions; the class pages have the rest


def _today_bounds() -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(today_local(), dt.time(0), SHANGHAI).astimezone(dt.timezone.utc)
    return start, start + dt.timedelta(days=1)


def courses_panels(session, user) -> list[dict]:
    """The home page's courses panels for ``user`` (registered by ``courses.wiring``)."""
    start, end = _today_bounds()
    if user.role == Role.trainee:
        mine = session.scalars(visible(Enrollment, user).where(
            Enrollment.status.in_([EnrollmentStatus.approved, EnrollmentStatus.applied, EnrollmentStatus.waitlisted])
        ).order_by(Enrollment.applied_at.desc()).limit(5)).all()
        class_ids = [e.class_id for e in mine if e.status == EnrollmentStatus.approved]
        coming = session.scalars(select(ClassSession).where(
            ClassSession.class_id.in_(class_ids or [0]), ClassSession.ends_at >= start,
        ).order_by(ClassSession.starts_at).limit(TIMETABLE_ROWS)).all()
        return [
            {"title": _("我的课表"), "id": "timetable",
             "items": [f"{local_dt(s.starts_at, '%m-%d %H:%M')}-{local_dt(s.ends_at, '%H:%M')} {s.training_class.name} · "
                       f"{s.topic}（{s.place}）" for s in coming] or [_("近期没有课次")],
             "url": url_for("courses.my")},
            {"title": _("我的培训班"), "items": [f"{e.training_class.name}：{e.status.label}" for e in mine]
             or [_("还没有报名，去看看正在招生的培训班")], "url": url_for("courses.my") if mine else url_for("courses.classes", state="open")},
        ]
    if user.role == Role.institution_staff:
        pending = session.scalar(select(func.count()).select_from(visible(Enrollment, user).where(
            Enrollment.status == EnrollmentStatus.applied).subquery())) or 0
        by_class = session.execute(
            select(TrainingClass.id, TrainingClass.name, func.count(Enrollment.id))
            .join(Enrollment, Enrollment.class_id == TrainingClass.id)
            .where(TrainingClass.institution_id == user.institution_id, Enrollment.status == EnrollmentStatus.applied)
            .group_by(TrainingClass.id, TrainingClass.name).limit(5)).all()
        today = session.scalars(visible(ClassSession, user).where(
            ClassSession.starts_at >= start, ClassSession.starts_at < end).order_by(ClassSession.starts_at)).all()
        first = by_class[0][0] if by_class else None
        return [
            {"title": _("待审核报名 %(n)d 份", n=pending), "items": [f"{name}：{n}" for _id, name, n in by_class],
             "url": url_for("courses.enrollments", class_id=first, status="applied") if first else None},
            {"title": _("今日课次"), "items": [f"{local_dt(s.starts_at, '%H:%M')} {s.training_class.name} · {s.topic}" for s in today],
             "url": url_for("courses.attendance", session_id=today[0].id) if today else None},
        ]
    if user.role in (Role.regulator_admin, Role.system_admin):
        n = session.scalar(select(func.count()).select_from(visible(TrainingClass, user).where(
            TrainingClass.end_date >= today_local()).subquery())) or 0
        return [{"title": _("本地区培训班"), "items": [_("进行中及将开班 %(n)d 个", n=n)], "url": url_for("courses.classes")}]
    return []
