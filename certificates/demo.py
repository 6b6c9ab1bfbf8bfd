"""Demo certificates in every state (valid, revoked, expired, superseded) and a class waiting for its
certificates. Creates the few programme, class and enrolment rows it needs, found by natural keys, since the
courses demo is seeded separately. Idempotent.

The demo instance plays one province (``DEMO_PROVINCE``, 示例): Jiangsu (320000, the default: Nantong's
training centre issues, key set ``demo-``) or Fujian (350000: the Fujian training centre issues, key set
``demo-fj-``). Two instances, one of each, recognise each other's certificates once each system administrator
adds the other to the partner trust list (docs/verification.md, "Two provinces on one machine")."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import keys, services
from certificates.models import Certificate, ReasonCategory
from courses import checkin, gates
from courses import services as course_services
from courses.models import AttendanceRecord, Enrollment, EnrollmentStatus, LessonKind, Programme, TrainingClass
from courses.services.snapshot import freeze_lessons
from exams import papers
from exams.models import Exam, ExamResult, ExamStatus, QuestionBank
from exams.results import record_offline_result
from lms.auth.models import User
from lms.config import load
from lms.db import utcnow
from lms.domain import Tier
from lms.orgs.models import Institution, Region

INSTITUTION = "南通市质量技术培训中心"
ISSUED_CLASS = "南通市{year}年首席质量官基础培训班（证书示例）"
PENDING_CLASS = "南通市{year}年首席质量官基础培训班（待发证）"


@dataclass(frozen=True)
class DemoProvince:
    """What the demo instance of one province issues with."""

    code: str
    name: str
    institution: str
    staff: str
    bureau_admin: str
    key_prefix: str
    city: str
    place: str


PROVINCES = {
    "320000": DemoProvince("320000", "江苏省", INSTITUTION, "nt_staff", "nantong_admin", "demo-", "南通市",
                           "南通市崇川区工农路 1 号"),
    "350000": DemoProvince("350000", "福建省", "福建省质量管理协会培训中心", "fj_staff", "fujian_admin", "demo-fj-",
                           "福建省", "福州市鼓楼区五四路 158 号"),
}
# username, the state its certificate is left in
ISSUED = [("trainee", "valid"), ("trainee01", "revoked"), ("trainee02", "superseded"), ("trainee03", "valid")]
EXPIRED = [("trainee04", "expired")]
PENDING = ["trainee05", "trainee06", "trainee07", "trainee08"]


def _config() -> services.CertConfig:
    if has_app_context():
        return services.CertConfig.from_app(current_app)
    cfg = load()
    return services.CertConfig(cfg["CERT_KEY_DIR"], cfg["PUBLIC_BASE_URL"].rstrip("/"))


def _demo_province() -> DemoProvince:
    code = current_app.config["DEMO_PROVINCE"] if has_app_context() else load()["DEMO_PROVINCE"]
    return PROVINCES.get(code, PROVINCES["320000"])


def _programme(session: Session, province: Region, year: int) -> Programme:
    prog = session.scalar(select(Programme).where(Programme.province_id == province.id, Programme.tier == Tier.basic,
                                                  Programme.year == year))
    if prog is None:
        prog = Programme(province_id=province.id, tier=Tier.basic, year=year, name=f"{year}年{province.name}首席质量官基础培训",
                         total_hours=40, pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=3)
        session.add(prog)
        session.flush()
    return prog


def _class(session: Session, inst: Institution, prog: Programme, name: str, start: dt.date,
           place: str = PROVINCES["320000"].place) -> TrainingClass:
    cls = session.scalar(select(TrainingClass).where(TrainingClass.institution_id == inst.id, TrainingClass.name == name))
    if cls is None:
        cls = TrainingClass(programme_id=prog.id, institution_id=inst.id, region_id=inst.region_id, name=name,
                            place=place, start_date=start, end_date=start + dt.timedelta(days=4),
                            capacity=40, enrol_opens_on=start - dt.timedelta(days=30),
                            enrol_closes_on=start - dt.timedelta(days=7))
        session.add(cls)
        session.flush()
        freeze_lessons(session, cls, utcnow())  # the class's content, as a class opened by staff
    gates.record_filed(session, cls, "演示数据")  # filed with and accepted by the bureau before it started
    return cls


def _enrol(session: Session, cls: TrainingClass, user: User) -> Enrollment:
    e = session.scalar(select(Enrollment).where(Enrollment.class_id == cls.id, Enrollment.user_id == user.id))
    if e is None:
        e = Enrollment(class_id=cls.id, user_id=user.id, status=EnrollmentStatus.approved, eligibility={})
        session.add(e)
        session.flush()
    return e


def seed(session: Session, today: dt.date) -> dict:
    """The demo certificates (seed hook, registered by ``certificates.wiring``)."""
    demo = _demo_province()
    inst = session.scalar(select(Institution).where(Institution.name == demo.institution))
    province = session.scalar(select(Region).where(Region.code == demo.code))
    staff = session.scalar(select(User).where(User.username == demo.staff))
    bureau_admin = session.scalar(select(User).where(User.username == demo.bureau_admin))
    if inst is None or province is None or staff is None or bureau_admin is None:
        return {}
    cfg = _config()
    # The key's window starts before the oldest demo certificate (issued four years back): a certificate dated
    # before its key's window is refused by the verifiers (issue 16).
    keys.ensure_demo_key(cfg.key_dir, dt.date(today.year - 4, 1, 1), prefix=demo.key_prefix)
    users = {u.username: u for u in session.scalars(select(User).where(
        User.username.in_([n for n, _s in ISSUED + EXPIRED] + PENDING)))}
    created = 0

    def certify(cls: TrainingClass, username: str, state: str, issued_on: dt.date) -> None:
        nonlocal created
        user = users.get(username)
        if user is None:
            return
        e = _enrol(session, cls, user)
        if session.scalar(select(Certificate.id).where(Certificate.enrollment_id == e.id)) is not None:
            return
        # Historical certificates (issued weeks or years ago, some since revoked or replaced) are created
        # directly as they stood; the class still pending issue is completed for real below.
        cert = services.create_certificate(session, staff, e, cfg, issued_on)
        created += 1
        if state == "revoked":
            services.change_status(session, bureau_admin, cert, "revoke", ReasonCategory.quality_fault.value,
                                   "所在企业发生重大产品质量事故，经调查负有直接责任", today)
        elif state == "superseded":
            services.reissue(session, staff, cert, "持证人姓名录入有误，更正后换发", cfg, issued_on)
            created += 1

    issued_on = today - dt.timedelta(days=20)
    names = {k: v.replace("南通市", demo.city) for k, v in (("issued", ISSUED_CLASS), ("pending", PENDING_CLASS))}
    cls = _class(session, inst, _programme(session, province, issued_on.year),
                 names["issued"].format(year=issued_on.year), issued_on - dt.timedelta(days=40), demo.place)
    for username, state in ISSUED:
        certify(cls, username, state, issued_on)

    old = dt.date(today.year - 4, 6, 20)
    old_cls = _class(session, inst, _programme(session, province, old.year), names["issued"].format(year=old.year),
                     old - dt.timedelta(days=30), demo.place)
    for username, state in EXPIRED:
        certify(old_cls, username, state, old)
    services.expire_due(session, today)

    pending = _class(session, inst, _programme(session, province, today.year), names["pending"].format(year=today.year),
                     today - dt.timedelta(days=14), demo.place)
    enrolled = [_enrol(session, pending, users[u]) for u in PENDING if u in users]
    _complete_by_the_rules(session, staff, pending, enrolled, province)
    session.flush()
    return {"certificates": created}


PAPER_EXAM = "结业考试（纸笔）"


def _complete_by_the_rules(session: Session, staff: User, cls: TrainingClass, enrolled: list[Enrollment],
                           province: Region) -> None:
    """Give a finished class what completion asks for, through the services staff and trainees use: a
    timetable, attendance marked present, every required lesson studied, and a passed paper exam entered
    as offline results. Its certificates are then issued for real, by the completion check. Idempotent."""
    if not cls.sessions:
        for day, topic in enumerate(["首席质量官制度与职责", "企业质量管理体系建设"]):
            course_services.add_session(session, staff, cls, course_services.SessionData(
                date=cls.start_date + dt.timedelta(days=day), start_time=dt.time(9), end_time=dt.time(12),
                place="", topic=topic, course_id=None, hours=3))
    exam = session.scalar(select(Exam).where(Exam.class_id == cls.id, Exam.title == PAPER_EXAM))
    bank = session.scalar(select(QuestionBank).where(QuestionBank.institution_id.is_(None),
                                                     QuestionBank.province_id == province.id))
    if exam is None and bank is not None:
        opens = dt.datetime.combine(cls.end_date, dt.time(1), tzinfo=dt.timezone.utc)
        exam = papers.save_exam(session, staff, papers.ExamData(
            title=PAPER_EXAM, class_id=cls.id, programme_id=None, opens_at=opens,
            closes_at=opens + dt.timedelta(hours=3), duration_minutes=90, attempts_allowed=1))
        papers.add_section(session, staff, exam, papers.SectionData(
            bank_id=bank.id, question_type="single", count=10, points_each=10, title="单项选择题"))
        papers.publish(session, staff, exam)
    studied_at = cls.sessions[-1].ends_at
    for e in enrolled:
        for cs in cls.sessions:
            done = session.scalar(select(AttendanceRecord.id).where(
                AttendanceRecord.session_id == cs.id, AttendanceRecord.enrollment_id == e.id))
            if done is None:
                checkin.mark(session, staff, cs, e, "present", "演示数据：现场签到", cs.ends_at)
        for course in cls.programme.required_courses:
            for lesson in course.lessons:
                if lesson.kind == LessonKind.video:
                    course_services.complete_for_demo(session, e.user, lesson, studied_at)
                else:
                    course_services.record_progress(session, e.user, lesson, studied_at, completed=True)
        if exam is not None and exam.status == ExamStatus.published and session.scalar(
                select(ExamResult.id).where(ExamResult.exam_id == exam.id, ExamResult.user_id == e.user_id)) is None:
            record_offline_result(session, staff, exam, e.user.username, 86, note="演示数据", taken_on=cls.end_date)
