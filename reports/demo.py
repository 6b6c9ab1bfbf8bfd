"""Demo data for reporting: Jiangsu's reporting rules (key industries, labelled 示例), Nantong's appointment-rate
targets (invented, labelled 示例), Chongyang county's targets as its own document sets them (seed 002, with its
source; the county, its city and province are added for them), a Qidong basic class waiting to be filed (journey 2 step 2), a
Nantong advanced class that has ended and awaits its offline results and results report (journey 2 step 8),
and one institution's annual report. Idempotent, by natural keys; runs after the other features' demos
(``reports.wiring`` registers ``seed`` with ``lms.demo``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.models import ClassSession, Enrollment, EnrollmentStatus, Programme, TrainingClass
from courses.services.snapshot import freeze_lessons
from exams.models import Exam, ExamStatus, ReviewPolicy
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Tier
from lms.orgs.models import Institution, Region
from lms.orgs.services import ensure_region
from reports.queries import annual_figures
from reports.services.filing import record_accepted_filing
from reports.models import AnnualWorkReport, AppointmentTarget, ReportingSettings, TargetCategory

INSTITUTION = "南通市质量技术培训中心"
TO_FILE = "{year}年启东市首席质量官基础培训班（第二期）"
ENDED = "{year}年南通市首席质量官提升培训班（结业待报告）"
ENDED_EXAM = "提升培训结业考试（线下纸笔）"
KEY_INDUSTRIES = ["食品", "医疗器械", "电子元器件", "建筑材料"]
KEY_INDUSTRIES_BASIS = "示例（演示数据自拟，非江苏省文件所列）"
NANTONG_BASIS = "示例（演示数据自拟，非南通市文件所定）"
# Seed 002 (崇质强办文〔2022〕3号) 一、工作目标:
# 「到2021年底，力争全县规模以上企业首席质量官聘任率达50%以上，重点行业中小微企业首席质量官聘任率达30%以上；
#   到2023年底，力争全县规模以上企业首席质量官聘任率达80%以上，重点行业中小微企业首席质量官聘任率达50%以上；
#   到2025年底，力争全县规模以上企业全面推广首席质量官制度，重点行业中小微企业首席质量官聘任率达80%以上。」
CHONGYANG = [("420000", "湖北省", None, "湖北省市场监督管理局"), ("421200", "咸宁市", "420000", "咸宁市市场监督管理局"),
             ("421223", "崇阳县", "421200", "崇阳县市场监督管理局")]
CHONGYANG_SOURCE = "崇质强办文〔2022〕3号《关于在全县推行建立企业首席质量官制度的意见》一、工作目标"
CHONGYANG_TARGETS = [
    (2021, TargetCategory.above_size, 0.5, CHONGYANG_SOURCE + "：到2021年底规模以上企业聘任率达50%以上"),
    (2021, TargetCategory.small_micro_key, 0.3, CHONGYANG_SOURCE + "：到2021年底重点行业中小微企业聘任率达30%以上"),
    (2023, TargetCategory.above_size, 0.8, CHONGYANG_SOURCE + "：到2023年底规模以上企业聘任率达80%以上"),
    (2023, TargetCategory.small_micro_key, 0.5, CHONGYANG_SOURCE + "：到2023年底重点行业中小微企业聘任率达50%以上"),
    (2025, TargetCategory.above_size, 1.0,
     CHONGYANG_SOURCE + "：到2025年底规模以上企业“全面推广首席质量官制度”（原文无百分比，此处按 100% 计）"),
    (2025, TargetCategory.small_micro_key, 0.8, CHONGYANG_SOURCE + "：到2025年底重点行业中小微企业聘任率达80%以上"),
]
TEACHERS = "张建国，高级质量工程师，南通大学\n李晓梅，质量管理体系国家注册审核员\n陈志强，南通市市场监督管理局质量发展科"
ENDED_TRAINEES = [f"trainee{i:02d}" for i in range(9, 15)]


def _programme(session: Session, province: Region, tier: Tier, year: int) -> Programme:
    prog = session.scalar(select(Programme).where(Programme.province_id == province.id, Programme.tier == tier,
                                                  Programme.year == year))
    if prog is None:
        prog = Programme(province_id=province.id, tier=tier, year=year, name=f"{year}年江苏省首席质量官{tier.label}培训",
                         total_hours=32, pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=3)
        session.add(prog)
        session.flush()
    return prog


def _class(session: Session, inst: Institution, prog: Programme, region: Region, name: str, start: dt.date,
           days: int, hours: list[tuple[int, int]]) -> tuple[TrainingClass, bool]:
    cls = session.scalar(select(TrainingClass).where(TrainingClass.institution_id == inst.id, TrainingClass.name == name))
    if cls is not None:
        return cls, False
    cls = TrainingClass(programme_id=prog.id, institution_id=inst.id, region_id=region.id, name=name,
                        place="南通市崇川区工农路 1 号培训楼", start_date=start, end_date=start + dt.timedelta(days=days - 1),
                        capacity=40, enrol_opens_on=start - dt.timedelta(days=30), enrol_closes_on=start - dt.timedelta(days=1),
                        teachers=TEACHERS)
    session.add(cls)
    session.flush()
    freeze_lessons(session, cls, utcnow())  # the class's content, as a class opened by staff
    for d in range(days):
        for h0, h1 in hours:
            day = start + dt.timedelta(days=d)
            # Beijing time is UTC+8
            starts = dt.datetime.combine(day, dt.time(h0), tzinfo=dt.timezone.utc) - dt.timedelta(hours=8)
            session.add(ClassSession(class_id=cls.id, starts_at=starts, ends_at=starts + dt.timedelta(hours=h1 - h0),
                                     hours=h1 - h0, place="", topic="首席质量官制度与质量法律"))
    session.flush()
    return cls, True


def _target(session: Session, region: Region, year: int, cat: TargetCategory, rate: float, basis: str) -> int:
    """Set a target unless one is set (1 when made)."""
    if session.scalar(select(AppointmentTarget.id).where(AppointmentTarget.region_id == region.id,
                                                         AppointmentTarget.year == year, AppointmentTarget.category == cat)):
        return 0
    session.add(AppointmentTarget(region_id=region.id, year=year, category=cat, rate=rate, basis=basis))
    return 1


def seed(session: Session, today: dt.date) -> dict:
    """Add reporting's demo data (see the module's docstring) and count what was made."""
    counts = {"report_classes": 0, "targets": 0}
    province = session.scalar(select(Region).where(Region.code == "320000"))
    nantong = session.scalar(select(Region).where(Region.code == "320600"))
    qidong = session.scalar(select(Region).where(Region.code == "320681"))
    inst = session.scalar(select(Institution).where(Institution.name == INSTITUTION))
    if None in (province, nantong, qidong, inst):
        return counts
    if session.scalar(select(ReportingSettings).where(ReportingSettings.province_id == province.id)) is None:
        session.add(ReportingSettings(province_id=province.id, hold_certificates_until_report=False,
                                      key_industries=KEY_INDUSTRIES, key_industries_basis=KEY_INDUSTRIES_BASIS,
                                      annual_report_due="01-31"))
    for offset, rate in ((2, 0.5), (1, 0.8), (0, 1.0)):
        for cat in TargetCategory:
            counts["targets"] += _target(session, nantong, today.year - offset, cat, rate, NANTONG_BASIS)
    parent = None
    for code, name, _parent_code, bureau in CHONGYANG:
        parent = ensure_region(session, code, name, parent, bureau)
    for year, cat, rate, basis in CHONGYANG_TARGETS:
        counts["targets"] += _target(session, parent, year, cat, rate, basis)

    # Journey 2 step 2: a basic class in Qidong, with timetable and teachers, not yet filed.
    basic = _programme(session, province, Tier.basic, today.year)
    _cls, made = _class(session, inst, basic, qidong, TO_FILE.format(year=today.year), today + dt.timedelta(days=21), 2,
                        [(9, 12), (14, 17)])
    counts["report_classes"] += int(made)

    # Journey 2 step 8: an advanced class that ended last week; its paper exam's results are still on paper.
    advanced = _programme(session, province, Tier.advanced, today.year)
    ended, made = _class(session, inst, advanced, nantong, ENDED.format(year=today.year), today - dt.timedelta(days=9), 2,
                         [(9, 12), (14, 17)])
    if made:
        counts["report_classes"] += 1
        record_accepted_filing(session, ended, "演示数据")
        for username in ENDED_TRAINEES:
            user = session.scalar(select(User).where(User.username == username))
            if user is not None:
                session.add(Enrollment(class_id=ended.id, user_id=user.id, status=EnrollmentStatus.approved,
                                       decision_reason="演示数据", eligibility={}))
        _paper_exam(session, inst, ended)
    _annual(session, today)
    session.flush()
    return counts


def _paper_exam(session: Session, inst: Institution, cls: TrainingClass) -> None:
    if session.scalar(select(Exam.id).where(Exam.class_id == cls.id, Exam.title == ENDED_EXAM)) is None:
        opens = dt.datetime.combine(cls.end_date, dt.time(6), tzinfo=dt.timezone.utc)
        session.add(Exam(title=ENDED_EXAM, institution_id=inst.id, class_id=cls.id, opens_at=opens,
                         closes_at=opens + dt.timedelta(hours=2), duration_minutes=90, attempts_allowed=1,
                         pass_mark=None, review_policy=ReviewPolicy.after_close, status=ExamStatus.published,
                         instructions="闭卷纸笔考试，成绩由培训机构线下录入。"))
        session.flush()


def _annual(session: Session, today: dt.date) -> None:
    """The provincial association filed last year's report on time; Nantong's centre has not (so it is late)."""
    inst = session.scalar(select(Institution).where(Institution.name == "江苏省质量协会培训部"))
    year = today.year - 1
    if inst is None or session.scalar(select(AnnualWorkReport.id).where(AnnualWorkReport.institution_id == inst.id,
                                                                    AnnualWorkReport.year == year)):
        return
    session.add(AnnualWorkReport(institution_id=inst.id, region_id=inst.region_id, year=year, figures=annual_figures(session, inst, year),
                             narrative=f"{year}年本部承办首席质量官高级、提升培训，课程覆盖质量法律、质量战略与卓越绩效，"
                                       "学员满意度 96%。", late=False,
                             submitted_at=dt.datetime.combine(dt.date(today.year, 1, 15), dt.time(2), tzinfo=dt.timezone.utc)))
