"""Builders for exam tests: a programme, a class of an institution with approved trainees, a bank with
questions of every type and an open exam with a blueprint. Rows are created directly with the courses
models (the contract), so these tests do not depend on the courses services."""
from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from courses import gates
from courses.models import (AttendanceRecord, AttendanceStatus, ClassSession, Enrollment, EnrollmentStatus, Programme,
                            TrainingClass)
from exams import banks, papers
from exams.models import Exam, ExamStatus, QuestionBank
from lms.db import utcnow
from lms.domain import Tier

_n = itertools.count(1)
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.timezone.utc)


def make_programme(s: Session, province, *, pass_mark: float = 60, min_attendance: float = 0.8) -> Programme:
    p = Programme(province_id=province.id, tier=Tier.advanced, year=2026, name=f"测试提升培训{next(_n)}",
                  total_hours=32, pass_mark=pass_mark, min_attendance_rate=min_attendance)
    s.add(p)
    s.flush()
    return p


def make_class(s: Session, institution, programme: Programme, name: str | None = None) -> TrainingClass:
    c = TrainingClass(programme_id=programme.id, institution_id=institution.id, region_id=institution.region_id,
                      name=name or f"测试培训班{next(_n)}", start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 12, 1),
                      capacity=50, enrol_opens_on=dt.date(2026, 10, 1), enrol_closes_on=dt.date(2026, 10, 30))
    s.add(c)
    s.flush()
    gates.record_filed(s, c)  # filed with and accepted by its bureau, so it may enrol and certify
    return c


def enrol(s: Session, cls: TrainingClass, user, status=EnrollmentStatus.approved) -> Enrollment:
    e = Enrollment(class_id=cls.id, user_id=user.id, status=status)
    s.add(e)
    s.flush()
    return e


def add_session(s: Session, cls: TrainingClass, starts_at: dt.datetime, hours: float = 4) -> ClassSession:
    cs = ClassSession(class_id=cls.id, starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=hours), hours=hours)
    s.add(cs)
    s.flush()
    return cs


def attend(s: Session, cs: ClassSession, enrollment: Enrollment, status=AttendanceStatus.present) -> None:
    s.add(AttendanceRecord(session_id=cs.id, enrollment_id=enrollment.id, status=status))
    s.flush()


def make_bank(s: Session, staff, *, singles: int = 6, multiples: int = 4, tfs: int = 4, shorts: int = 2) -> QuestionBank:
    bank = banks.create_bank(s, staff, f"测试题库{next(_n)}")
    for i in range(singles):
        banks.save_question(s, staff, bank, banks.QuestionData(
            "single", f"单选题{i}：质量月在几月？", ["三月", "九月", "五月", "十月"], "B", "国家质量发展政策", "easy", "九月"))
    for i in range(multiples):
        banks.save_question(s, staff, bank, banks.QuestionData(
            "multiple", f"多选题{i}：质量成本包括？", ["预防成本", "鉴定成本", "广告费", "损失成本"], "ABD", "质量经济性分析",
            "medium", "经典四类"))
    for i in range(tfs):
        banks.save_question(s, staff, bank, banks.QuestionData(
            "true_false", f"判断题{i}：强制性标准必须执行。", [], "正确", "质量法律制度", "easy", "标准化法第二条"))
    for i in range(shorts):
        banks.save_question(s, staff, bank, banks.QuestionData(
            "short_answer", f"简答题{i}：简述首席质量官职责。", [], "制定质量战略……", "企业首席质量官制度", "hard", ""))
    return bank


def make_exam(s: Session, staff, cls: TrainingClass, bank: QuestionBank, *, sections=None, now: dt.datetime = NOW,
              publish: bool = True, **overrides) -> Exam:
    data = dict(title=f"结业考试{next(_n)}", class_id=cls.id, programme_id=None, opens_at=now - dt.timedelta(hours=1),
                closes_at=now + dt.timedelta(days=1), duration_minutes=60, attempts_allowed=2)
    data.update(overrides)
    exam = papers.save_exam(s, staff, papers.ExamData(**data))
    for qtype, count, pts in sections or [("single", 2, 10), ("multiple", 2, 20), ("true_false", 2, 10)]:
        papers.add_section(s, staff, exam, papers.SectionData(bank.id, qtype, count, pts))
    if publish:
        papers.publish(s, staff, exam)
    assert exam.status == ExamStatus.published or not publish
    return exam


def open_exam_now(s: Session, world, *trainees) -> tuple[TrainingClass, QuestionBank, Exam]:
    """A class of Nantong's institution under a Jiangsu programme with ``trainees`` enrolled, a bank and an exam
    open from an hour ago to tomorrow by the server's clock (the hot-path tests' sitting): (class, bank, exam)."""
    prog = make_programme(s, world.jiangsu)
    cls = make_class(s, world.inst_nt, prog)
    for trainee in trainees:
        enrol(s, cls, trainee)
    bank = make_bank(s, world.staff_nt)
    now = utcnow()
    exam = make_exam(s, world.staff_nt, cls, bank, opens_at=now - dt.timedelta(hours=1),
                     closes_at=now + dt.timedelta(days=1))
    return cls, bank, exam
