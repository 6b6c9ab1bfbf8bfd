"""Demo data for exams: the province shared bank with the compulsory courses' questions, and an open exam
for the demo class of Nantong's institution with the demo trainee admitted. Idempotent, by natural keys,
so that it coexists with the courses feature's own demo class after merge."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.models import (AttendanceRecord, AttendanceStatus, ClassSession, Enrollment, EnrollmentStatus, Programme,
                            TrainingClass)
from courses import gates
from courses.services.snapshot import freeze_lessons
from exams import banks
from exams.models import BlueprintSection, Exam, ExamStatus, Question, QuestionType, ReviewPolicy
from exams.seed_questions import QUESTIONS
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Tier
from lms.orgs.models import Institution, Region

TYPE = {"S": "single", "M": "multiple", "TF": "true_false", "SA": "short_answer"}
CLASS_NAME = "2026年南通市首席质量官提升培训班（第一期）"
INSTITUTION_NAME = "南通市质量技术培训中心"
EXAM_TITLE = "首席质量官提升培训结业考试（在线）"


def seed_shared_bank(session: Session, province: Region) -> tuple:
    """The province's shared bank with the seed questions it lacks; returns (bank, questions added)."""
    bank = banks.shared_bank(session, province, f"{province.name}首席质量官共享题库")
    have = set(session.scalars(select(Question.stem).where(Question.bank_id == bank.id)))
    added = 0
    for kp, t, diff, stem, opts, answer, explanation in QUESTIONS:
        if stem in have:
            continue
        values = banks.validate_question(banks.QuestionData(type=TYPE[t], stem=stem, options=list(opts), answer=answer,
                                                             knowledge_point=kp, difficulty=diff, explanation=explanation))
        session.add(Question(bank_id=bank.id, **values))
        added += 1
    session.flush()
    return bank, added


def _attend_sessions_held(session: Session, enrollment: Enrollment, today: dt.date) -> int:
    """In the story Wang Fang attended every session held so far (journey 1 step 4), so that she is admitted
    to the exam whichever feature's seed made the timetable; only missing records are added."""
    now = dt.datetime.combine(today, dt.time(23, 59), tzinfo=dt.timezone.utc)
    held = session.scalars(select(ClassSession.id).where(ClassSession.class_id == enrollment.class_id,
                                                         ClassSession.starts_at <= now))
    have = set(session.scalars(select(AttendanceRecord.session_id).where(AttendanceRecord.enrollment_id == enrollment.id)))
    added = 0
    for session_id in held:
        if session_id not in have:
            session.add(AttendanceRecord(session_id=session_id, enrollment_id=enrollment.id,
                                         status=AttendanceStatus.present, method="manual", reason="演示数据"))
            added += 1
    session.flush()
    return added


def seed(session: Session, today: dt.date) -> dict:
    """The demo seed hook: the shared bank, the demo class with the demo trainee admitted, its open exam."""
    counts = {"exam_questions": 0, "exams": 0, "attendance": 0}
    province = session.scalar(select(Region).where(Region.code == "320000"))
    inst = session.scalar(select(Institution).where(Institution.name == INSTITUTION_NAME))
    if province is None or inst is None:
        return counts
    bank, counts["exam_questions"] = seed_shared_bank(session, province)

    programme = session.scalar(select(Programme).where(
        Programme.province_id == province.id, Programme.tier == Tier.advanced, Programme.year == today.year))
    if programme is None:
        programme = Programme(province_id=province.id, tier=Tier.advanced, year=today.year,
                              name=f"{today.year}年江苏省首席质量官提升培训", total_hours=32, pass_mark=60,
                              min_attendance_rate=0.8, certificate_validity_years=3, requires_lower_tier=True)
        session.add(programme)
        session.flush()
    cls = session.scalar(select(TrainingClass).where(TrainingClass.institution_id == inst.id,
                                                     TrainingClass.name == CLASS_NAME))
    if cls is None:
        cls = TrainingClass(programme_id=programme.id, institution_id=inst.id, region_id=inst.region_id, name=CLASS_NAME,
                            place="南通市崇川区工农路 1 号培训楼", start_date=today - dt.timedelta(days=14),
                            end_date=today + dt.timedelta(days=14), capacity=60,
                            enrol_opens_on=today - dt.timedelta(days=45), enrol_closes_on=today - dt.timedelta(days=20))
        session.add(cls)
        session.flush()
        freeze_lessons(session, cls, utcnow())  # the class's content, as a class opened by staff
    gates.record_filed(session, cls, "演示数据")  # filed with and accepted by the bureau before it started
    trainee = session.scalar(select(User).where(User.username == "trainee"))
    if trainee is not None:
        enr = session.scalar(select(Enrollment).where(Enrollment.class_id == cls.id, Enrollment.user_id == trainee.id))
        if enr is None:
            enr = Enrollment(class_id=cls.id, user_id=trainee.id, status=EnrollmentStatus.approved,
                             decision_reason="演示数据")
            session.add(enr)
            session.flush()
        counts["attendance"] = _attend_sessions_held(session, enr, today)

    exam = session.scalar(select(Exam).where(Exam.class_id == cls.id, Exam.title == EXAM_TITLE))
    if exam is None:
        opens = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(0), tzinfo=dt.timezone.utc)
        exam = Exam(title=EXAM_TITLE, institution_id=inst.id, class_id=cls.id, opens_at=opens,
                    closes_at=opens + dt.timedelta(days=60), duration_minutes=60, attempts_allowed=2,
                    pass_mark=None, review_policy=ReviewPolicy.after_submit, status=ExamStatus.published,
                    instructions="闭卷考试，限时 60 分钟。答案随答随存，断网后恢复连接会自动提交已作答内容。")
        session.add(exam)
        session.flush()
        for pos, (title, qtype, n, pts) in enumerate([
            ("一、单项选择题", QuestionType.single, 10, 4), ("二、多项选择题", QuestionType.multiple, 5, 6),
            ("三、判断题", QuestionType.true_false, 10, 3),
        ], start=1):
            session.add(BlueprintSection(exam_id=exam.id, position=pos, title=title, bank_id=bank.id,
                                         question_type=qtype, count=n, points_each=pts))
        session.flush()
        counts["exams"] += 1
    return counts
