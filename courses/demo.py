"""Demo data for courses: the Jiangsu and Fujian eligibility rule sets, a programme per tier for the
current year, the compulsory curriculum with its lessons (and a PDF handout), and a class of the Nantong
institution with a timetable and a few enrolments. Idempotent: everything is looked up by natural key."""
from __future__ import annotations

import datetime as dt
import io

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import eligibility, enrolment, gates, rule_library, services
from courses.curriculum import CURRICULUM
from courses.models import Course, EligibilityRuleSet, LessonKind, Programme, TrainingClass, TrainingPlan
from courses.services import plans
from lms.auth.models import User
from lms.domain import Role, Tier
from lms.orgs.models import Region
from lms.people.models import PledgeText
from lms.uploads import store_upload

RULE_SETS = [  # (province, name, rules, basis): Jiangsu's set quotes no seed, so it is an example (示例)
    ("320000", "江苏省首席质量官报名条件（示例）", eligibility.JIANGSU_RULES, ("example", "")),
    ("350000", "福建省首席质量官报名条件", eligibility.FUJIAN_RULES, ("source", rule_library.template("seed001").source)),
]
TIER_NAMES = {Tier.basic: "基础培训", Tier.advanced: "提升培训", Tier.senior: "高级培训"}


def _handout_pdf(title: str, paragraphs: list[str]) -> bytes:
    # reportlab is loaded only when demo data is seeded (it is slow to import)
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("STSong-Light", 18)
    c.drawString(60, 780, title)
    c.setFont("STSong-Light", 11)
    y = 740
    for p in paragraphs:
        for i in range(0, len(p), 38):
            c.drawString(60, y, p[i:i + 38])
            y -= 18
        y -= 8
    c.showPage()
    c.save()
    return buf.getvalue()


def seed_courses(session: Session, today: dt.date) -> dict:
    """Seed the courses demo data (registered by ``courses.wiring``); returns what it added, by kind."""
    counts = {"courses": 0, "programmes": 0, "classes": 0, "enrollments": 0}
    admin = session.scalar(select(User).where(User.role == Role.system_admin).order_by(User.id).limit(1))
    if admin is None:
        return counts
    courses = {}
    for code, title, hours, cat, compulsory, desc, lessons in CURRICULUM:
        course = session.scalar(select(Course).where(Course.code == code))
        if course is None:
            course = services.save_course(session, admin, services.CourseData(
                code=code, title=title, hours=hours, subject_category=cat, description=desc, compulsory=compulsory))
            for ltitle, minutes, body in lessons:
                services.add_lesson(session, admin, course, title=ltitle, kind="text", body_md=body, minutes=minutes)
            counts["courses"] += 1
        courses[code] = course
    _ensure_handout(session, admin, courses["CQO-03"])

    rule_sets = {}
    for code, name, rules, basis in RULE_SETS:
        province = session.scalar(select(Region).where(Region.code == code))
        if province is None:
            continue
        rs = session.scalar(select(EligibilityRuleSet).where(EligibilityRuleSet.province_id == province.id,
                                                             EligibilityRuleSet.name == name))
        if rs is None:
            rs = services.save_rule_set(session, admin, province, name, rules, basis=basis)
        rule_sets[code] = (province, rs)

    compulsory = [c.id for c in courses.values() if c.compulsory]
    electives = [c.id for c in courses.values() if not c.compulsory]
    for code, (province, rs) in rule_sets.items():
        for tier in Tier:
            exists = session.scalar(select(Programme.id).where(
                Programme.province_id == province.id, Programme.tier == tier, Programme.year == today.year))
            if exists:
                continue
            services.save_programme(session, admin, services.ProgrammeData(
                province_id=province.id, tier=tier.value, year=today.year,
                name=f"{today.year}年{province.name}首席质量官{TIER_NAMES[tier]}", pass_mark=60,
                min_attendance_rate=0.8, certificate_validity_years=None, requires_lower_tier=tier != Tier.basic,
                eligibility_rule_set_id=rs.id, course_ids=compulsory + (electives if tier != Tier.basic else [])))
            counts["programmes"] += 1
    owner = next(iter(rule_sets.values()))[0] if rule_sets else None
    for course in courses.values():  # like migration 0009: a course belongs to the province of its programmes
        if owner is not None and course.owner_province_id is None and course.owner_institution_id is None:
            course.owner_province_id = owner.id

    counts["plans"] = _seed_plan(session, today)
    counts.update(_seed_class(session, today, courses))
    return counts


def _seed_plan(session: Session, today: dt.date) -> int:
    """Issue 15: Jiangsu keeps the seed's plan settings (2 classes a year, cities hold no programme of their own:
    the defaults, with seed 003 as their basis); Nantong publishes this year's plan (seed 003: 集中培训和分行业培训相
    结合, goals 分区县市): a centralised line, a textile line, and the line the demo class of Qidong is opened
    against. The goals' numbers are examples; the plan is the bureau's data, not a rule."""
    nantong = session.scalar(select(Region).where(Region.code == "320600"))
    bureau = session.scalar(select(User).where(User.username == "nantong_admin"))
    if nantong is None or bureau is None or session.scalar(select(TrainingPlan.id).where(
            TrainingPlan.city_id == nantong.id, TrainingPlan.year == today.year)):
        return 0
    counties = {r.code: r for r in session.scalars(select(Region).where(Region.parent_id == nantong.id))}
    qidong = counties.get("320681")
    year_end = dt.date(today.year, 12, 31)
    begin = min(today, year_end - dt.timedelta(days=3))
    lines = [plans.LineData("", None, dt.date(today.year, 3, 10), dt.date(today.year, 3, 14), "南通市市场监督管理局培训中心", 1),
             plans.LineData("家用纺织品", None, dt.date(today.year, 9, 8), dt.date(today.year, 9, 10), "南通市家纺城会议中心", 1),
             plans.LineData("", qidong.id if qidong else None, begin, min(begin + dt.timedelta(days=3), year_end),
                            "启东市市场监督管理局三楼培训教室", 1)]
    goals = [plans.GoalData(r.id, people, ents) for (code, people, ents) in
             (("320681", 60, 30), ("320682", 50, 25), ("320685", 40, 20)) if (r := counties.get(code))]
    plan = plans.save_plan(session, bureau, plans.PlanData(
        city_id=nantong.id, year=today.year, lines=lines, goals=goals,
        syllabus="一、质量法律法规与首席质量官职责\n二、质量管理体系与方法（集中培训）\n三、行业质量标准与案例（分行业培训）"))
    plans.publish_plan(session, bureau, plan)
    return 1


def _ensure_handout(session: Session, admin: User, course: Course) -> None:
    if not has_app_context() or any(les.kind == LessonKind.pdf for les in course.lessons):
        return
    data = _handout_pdf("企业首席质量官制度 · 课程讲义", [
        "首席质量官是企业内全面负责质量和质量安全工作的高级管理人员。",
        "主要职责：贯彻质量法律法规，制定质量战略，建立质量管理体系，实施质量否决，培育质量文化。",
        "培训考核合格者颁发证书并纳入人才库；在任期间每年参加继续教育并报送年度报告。",
        "发生严重质量事故、以权谋私、泄露秘密等情形的，撤销证书并退出人才库。",
    ])
    stored = store_upload(session, admin, io.BytesIO(data), "首席质量官制度讲义.pdf", allowed=("pdf",),
                          max_bytes=services.PDF_MAX_BYTES, upload_dir=current_app.config["UPLOAD_DIR"])
    services.add_lesson(session, admin, course, title="课程讲义（PDF）", kind="pdf", file=stored, minutes=20)


def _seed_class(session: Session, today: dt.date, courses: dict) -> dict:
    counts = {"classes": 0, "enrollments": 0}
    staff = session.scalar(select(User).where(User.username == "nt_staff"))
    qidong = session.scalar(select(Region).where(Region.code == "320681"))
    jiangsu = session.scalar(select(Region).where(Region.code == "320000"))
    if staff is None or qidong is None or jiangsu is None:
        return counts
    programme = session.scalar(select(Programme).where(
        Programme.province_id == jiangsu.id, Programme.tier == Tier.basic, Programme.year == today.year))
    name = f"{today.year}年启东市首席质量官基础培训班（第一期）"
    klass = session.scalar(select(TrainingClass).where(TrainingClass.name == name))
    if klass is not None or programme is None:
        return counts
    line = next((ln for ln in plans.open_lines(session, qidong, today.year) if ln.county_id == qidong.id), None)
    klass = services.save_class(session, staff, services.ClassData(
        programme_id=programme.id, region_id=qidong.id, name=name, place="启东市市场监督管理局三楼培训教室",
        start_date=today, end_date=today + dt.timedelta(days=3), capacity=30,
        enrol_opens_on=today - dt.timedelta(days=14), enrol_closes_on=today + dt.timedelta(days=2),
        plan_line_id=line.id if line else None), today)
    counts["classes"] += 1
    plan = [c for c in programme.required_courses]
    slots = [(dt.time(9, 0), dt.time(12, 0)), (dt.time(14, 0), dt.time(17, 0))]
    i = 0
    for day in range(4):
        for start, end in slots:
            course = plan[i % len(plan)]
            services.add_session(session, staff, klass, services.SessionData(
                date=today + dt.timedelta(days=day), start_time=start, end_time=end, place="",
                topic=course.title, course_id=course.id, hours=3))
            i += 1
    # The class was filed with the county bureau and accepted before enrolment opened (journey 2 step 2).
    gates.record_filed(session, klass, "演示数据")
    pledge = session.scalar(select(PledgeText).order_by(PledgeText.published_at.desc()).limit(1))
    trainees = session.scalars(select(User).where(User.role == Role.trainee, User.username.like("trainee%"),
                                                  User.username != "trainee").order_by(User.username)).all()
    admitted = 0
    now = dt.datetime.now(dt.timezone.utc)
    for user in trainees:
        if admitted >= 5:
            break
        if not eligibility.evaluate(session, user, programme, today).eligible:
            continue
        e = enrolment.apply(session, user, klass, pledge_version=pledge.version, today=today)
        if admitted < 4:
            enrolment.approve(session, staff, e, now)
        admitted += 1
        counts["enrollments"] += 1
    return counts

