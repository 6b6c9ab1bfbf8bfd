"""Builders for the reporting tests: a class that has not been filed, a finished class with trainees, a
session timetable and an offline exam, and spreadsheets to import."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

from openpyxl import Workbook
from sqlalchemy.orm import Session

from courses import services as course_services
from courses.models import ClassSession, Enrollment, EnrollmentStatus, TrainingClass
from exams.models import Exam, ExamStatus, ReviewPolicy
from lms.domain import Role, Tier
from lms.templating import today_local
from tests import courses_support, factories

_n = itertools.count(1)


def unfiled_class(db: Session, world, tier: Tier = Tier.basic, *, region=None, start=None, sessions=1,
                  teachers="张建国，高级质量工程师") -> TrainingClass:
    """A class opened through the courses service (as staff do), with a timetable, not yet filed."""
    from sqlalchemy import select

    from courses.models import Programme

    today = today_local()
    prog = db.scalar(select(Programme).where(Programme.province_id == world.jiangsu.id, Programme.tier == tier,
                                             Programme.year == today.year, Programme.name == f"{tier.label}方案"))
    prog = prog or courses_support.programme(db, world, tier)
    start = start or today + dt.timedelta(days=10)
    klass = course_services.save_class(db, world.staff_nt, course_services.ClassData(
        programme_id=prog.id, region_id=(region or world.qidong).id, name=f"待报备班{next(_n)}", place="启东市培训教室",
        start_date=start, end_date=start + dt.timedelta(days=2), capacity=20, enrol_opens_on=today,
        enrol_closes_on=start, teachers=teachers), today)
    for i in range(sessions):
        course_services.add_session(db, world.staff_nt, klass, course_services.SessionData(
            date=start, start_time=dt.time(8 + 2 * i), end_time=dt.time(9 + 2 * i), place="", topic=f"第{i + 1}课",
            course_id=None))
    return klass


def finished_class(db: Session, world, *, trainees: int = 3, sessions: int = 2, exam: bool = True,
                   tier: Tier = Tier.basic, region=None):
    """A filed and accepted class of the Nantong institution that ended yesterday, with admitted trainees,
    past sessions and (optionally) a published counting exam. Returns (class, [users], [sessions], exam)."""
    from tests import cert_factories

    prog = cert_factories.make_programme(db, world.jiangsu, tier, year=today_local().year)
    end = today_local() - dt.timedelta(days=1)
    klass = cert_factories.make_class(db, world.inst_nt, prog, name=f"已结业班{next(_n)}", region=region or world.qidong,
                                      start=end - dt.timedelta(days=4))
    css = []
    for i in range(sessions):
        starts = dt.datetime.combine(klass.start_date, dt.time(1), tzinfo=dt.timezone.utc) + dt.timedelta(hours=i)
        cs = ClassSession(class_id=klass.id, starts_at=starts, ends_at=starts + dt.timedelta(minutes=50), hours=1)
        db.add(cs)
        css.append(cs)
    users = []
    for i in range(trainees):
        u = factories.make_staff(db, f"rt{next(_n)}", Role.trainee)
        db.add(Enrollment(class_id=klass.id, user_id=u.id, status=EnrollmentStatus.approved, eligibility={}))
        users.append(u)
    ex = None
    if exam:
        opens = dt.datetime.combine(end, dt.time(1), tzinfo=dt.timezone.utc)
        ex = Exam(title="结业考试（纸笔）", institution_id=world.inst_nt.id, class_id=klass.id, opens_at=opens,
                  closes_at=opens + dt.timedelta(hours=2), duration_minutes=90, attempts_allowed=1,
                  review_policy=ReviewPolicy.after_close, status=ExamStatus.published)
        db.add(ex)
    db.flush()
    return klass, users, css, ex


def xlsx(rows: list[list], headers=("学员账号", "姓名", "课次", "考勤", "考试成绩", "考试日期")) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("成绩")
    ws.append(list(headers))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[list], encoding: str, headers=("学员账号", "姓名", "课次", "考勤", "考试成绩", "考试日期")) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(list(headers))
    w.writerows(rows)
    return buf.getvalue().encode(encoding)
