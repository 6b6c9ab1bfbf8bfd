"""Builders for the courses tests: a Jiangsu rule set and programme, a class of the Nantong institution
with a timetable, admitted trainees. They go through the services, so the data obeys the rules."""
from __future__ import annotations

import datetime as dt
import re

from courses import eligibility, gates, services
from courses.models import Programme, TrainingClass
from courses.services import enrolment
from lms.db import utcnow
from lms.demo import PLEDGE_VERSION
from lms.domain import Tier
from lms.templating import SHANGHAI, today_local
from tests import factories


def course(db, world, code="T-01", hours=4, lessons=2, owner_institution=None):
    c = services.save_course(db, world.sysadmin, services.CourseData(
        code=code, title=f"课程{code}", hours=hours, subject_category="public"))
    if owner_institution is not None:  # an institution's own elective: its staff edit it (issue 18)
        c.owner_institution_id = owner_institution.id
        db.flush()
    for i in range(lessons):
        services.add_lesson(db, world.sysadmin, c, title=f"第{i + 1}讲", kind="text", body_md=f"正文 {i}")
    return c


def programme(db, world, tier=Tier.basic, *, province=None, rules=None, year=None, requires_lower_tier=True) -> Programme:
    province = province or world.jiangsu
    rs = services.save_rule_set(db, world.sysadmin, province, f"{province.name}规则",
                                rules if rules is not None else eligibility.JIANGSU_RULES)
    c = course(db, world, code=f"T-{province.code}-{tier.value}")
    return services.save_programme(db, world.sysadmin, services.ProgrammeData(
        province_id=province.id, tier=tier.value, year=year or today_local().year, name=f"{tier.label}方案",
        pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=3, requires_lower_tier=requires_lower_tier,
        eligibility_rule_set_id=rs.id, course_ids=[c.id]))


def training_class(db, world, prog=None, *, capacity=10, start=None, sessions=0, staff=None) -> TrainingClass:
    """A class of the Nantong institution whose enrolment window is open today; ``start`` defaults to
    next week, and ``sessions`` one-hour sessions are added from the start day."""
    prog = prog or programme(db, world)
    today = today_local()
    start = start or today + dt.timedelta(days=7)
    klass = services.save_class(db, staff or world.staff_nt, services.ClassData(
        programme_id=prog.id, region_id=world.qidong.id, name="启东基础班", place="启东市培训教室",
        start_date=start, end_date=start + dt.timedelta(days=5), capacity=capacity,
        enrol_opens_on=min(today, start) - dt.timedelta(days=3), enrol_closes_on=max(today, start)), min(today, start))
    for i in range(sessions):
        services.add_session(db, staff or world.staff_nt, klass, services.SessionData(
            date=start, start_time=dt.time(8 + 2 * i), end_time=dt.time(9 + 2 * i), place="", topic=f"第{i + 1}课",
            course_id=None))
    gates.record_filed(db, klass)  # filed with and accepted by its bureau, so it may enrol trainees
    return klass


def session_now(db, world, klass):
    """A session running now (Beijing time), for check-in tests: the class must include today."""
    now = dt.datetime.now(SHANGHAI)
    start = max(now - dt.timedelta(minutes=30), now.replace(hour=0, minute=0, second=0, microsecond=0))
    end = min(now + dt.timedelta(hours=1), now.replace(hour=23, minute=59, second=0, microsecond=0))
    return services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=now.date(), start_time=start.time().replace(second=0, microsecond=0),
        end_time=end.time().replace(second=0, microsecond=0), place="", topic="现在的课", course_id=None))


def admitted(db, world, klass, username, **profile):
    user = factories.make_trainee(db, username, world.ent_qd, **profile)
    e = enrolment.apply(db, user, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    enrolment.approve(db, world.staff_nt, e, utcnow())
    return user, e


def logout(client) -> None:
    html = client.get("/home").get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if m and 'id="logout"' in html:
        client.post("/auth/logout", data={"csrf_token": m.group(1)})


def switch_user(client, username: str):
    """Log out whoever is logged in on ``client`` and log in as ``username``."""
    from tests.conftest import login

    logout(client)
    login(client, username)
    return client
