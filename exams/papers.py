"""Exams and their blueprints (组卷规则), and drawing one trainee's paper from the blueprint."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.models import Programme, TrainingClass
from exams.models import (Attempt, BlueprintSection, CountingRule, Difficulty, Exam, ExamStatus, MultipleScoring,
                          Question, QuestionBank, QuestionType, ReviewPolicy)
from lms import audit
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.scoping import condition


def can_manage_exam(user, exam: Exam) -> bool:
    """Exams are run by the institution's staff (system admins may step in)."""
    return user.role == Role.system_admin or (
        user.role == Role.institution_staff and user.institution_id == exam.institution_id)


@dataclass
class ExamData:
    title: str
    class_id: int | None
    programme_id: int | None
    opens_at: dt.datetime
    closes_at: dt.datetime
    duration_minutes: int
    attempts_allowed: int = 2
    counting: str = "highest"
    pass_mark: float | None = None
    multiple_scoring: str = "partial"
    review_policy: str = "after_close"
    shuffle: bool = True
    counts_for_completion: bool = True
    instructions: str = ""


def save_exam(session: Session, user, data: ExamData, exam: Exam | None = None) -> Exam:
    """Create or change an exam of one of the user's institution's classes (or a programme). Once a trainee
    has started, only the title, instructions, closing time and review policy may change."""
    errors: dict[str, str] = {}
    if user.role != Role.institution_staff or not user.institution_id:
        if user.role != Role.system_admin:
            raise Forbidden(_("只有培训机构工作人员可以安排考试"))
    if exam is not None and not can_manage_exam(user, exam):
        raise Forbidden(_("您不能修改这场考试"))
    title = (data.title or "").strip()
    if not title:
        errors["title"] = _("「考试名称」不能为空")
    institution_id = exam.institution_id if exam else user.institution_id
    cls = prog = None
    if data.class_id:
        cls = session.get(TrainingClass, data.class_id)
        if cls is None or (institution_id and cls.institution_id != institution_id):
            errors["class_id"] = _("「培训班」须为本机构的培训班")
        elif institution_id is None:
            institution_id = cls.institution_id
    elif data.programme_id:
        prog = session.get(Programme, data.programme_id)
        if prog is None:
            errors["programme_id"] = _("「培训项目」不存在")
    else:
        errors["class_id"] = _("请选择「培训班」或「培训项目」")
    if institution_id is None and "class_id" not in errors:
        errors["class_id"] = _("请选择本机构的培训班")
    if data.opens_at is None:
        errors["opens_at"] = _("「开放时间」不能为空")
    if data.closes_at is None:
        errors["closes_at"] = _("「截止时间」不能为空")
    elif data.opens_at is not None and data.closes_at <= data.opens_at:
        errors["closes_at"] = _("「截止时间」须晚于开放时间")
    if not data.duration_minutes or not 1 <= data.duration_minutes <= 600:
        errors["duration_minutes"] = _("「考试时长」须在 1 到 600 分钟之间")
    if not data.attempts_allowed or not 1 <= data.attempts_allowed <= 10:
        errors["attempts_allowed"] = _("「允许次数」须在 1 到 10 次之间")
    if data.pass_mark is not None and not 0 <= data.pass_mark <= 100:
        errors["pass_mark"] = _("「及格分」须在 0 到 100 之间")
    for name, enum_cls, label in (("counting", CountingRule, "计分方式"), ("multiple_scoring", MultipleScoring, "多选题计分"),
                                  ("review_policy", ReviewPolicy, "答卷回顾")):
        try:
            enum_cls(getattr(data, name))
        except ValueError:
            errors[name] = _("「%(label)s」的取值无效", label=label)
    if errors:
        raise ValidationFailed(errors)
    started = exam is not None and session.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id))
    if exam is None:
        exam = Exam(institution_id=institution_id, created_by_id=user.id)
        session.add(exam)
    elif started and (
        (exam.class_id, exam.programme_id) != (cls.id if cls else None, prog.id if prog else None)
        or exam.opens_at != data.opens_at or exam.duration_minutes != data.duration_minutes
        or exam.multiple_scoring.value != data.multiple_scoring or exam.shuffle != bool(data.shuffle)
        or (exam.pass_mark != data.pass_mark) or exam.attempts_allowed > data.attempts_allowed
        or exam.counting.value != data.counting
    ):
        raise Conflict(_("已有学员开始作答：只能修改名称、说明、截止时间、回顾方式和增加允许次数"))
    exam.title = title
    exam.class_id = cls.id if cls else None
    exam.programme_id = prog.id if prog else None
    exam.opens_at, exam.closes_at = data.opens_at, data.closes_at
    exam.duration_minutes, exam.attempts_allowed = data.duration_minutes, data.attempts_allowed
    exam.counting = CountingRule(data.counting)
    exam.pass_mark = data.pass_mark
    exam.multiple_scoring = MultipleScoring(data.multiple_scoring)
    exam.review_policy = ReviewPolicy(data.review_policy)
    exam.shuffle = bool(data.shuffle)
    exam.counts_for_completion = bool(data.counts_for_completion)
    exam.instructions = data.instructions or ""
    session.flush()
    audit.record(session, user, "exam.save", exam)
    return exam


@dataclass
class SectionData:
    bank_id: int
    question_type: str
    count: int
    points_each: float
    knowledge_point: str = ""
    difficulty: str = ""  # "" = any
    title: str = ""


def _pool(exam_section_like) -> "select":
    stmt = select(Question.id).where(
        Question.bank_id == exam_section_like.bank_id, Question.is_active.is_(True),
        Question.type == exam_section_like.question_type)
    if exam_section_like.knowledge_point:
        stmt = stmt.where(Question.knowledge_point == exam_section_like.knowledge_point)
    if exam_section_like.difficulty:
        stmt = stmt.where(Question.difficulty == exam_section_like.difficulty)
    return stmt


def available(session: Session, section) -> int:
    """How many active questions the section's rule can draw from."""
    return session.scalar(select(func.count()).select_from(_pool(section).subquery())) or 0


def _require_unstarted(session: Session, user, exam: Exam) -> None:
    if not can_manage_exam(user, exam):
        raise Forbidden(_("您不能修改这场考试"))
    if session.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id)):
        raise Conflict(_("已有学员开始作答，组卷规则不能再修改"))


def add_section(session: Session, user, exam: Exam, data: SectionData) -> BlueprintSection:
    """Add a rule to the blueprint. The bank must be one the user may see, and hold enough questions."""
    _require_unstarted(session, user, exam)
    errors: dict[str, str] = {}
    bank = session.scalar(select(QuestionBank).where(QuestionBank.id == data.bank_id, condition(QuestionBank, user)))
    if bank is None:
        errors["bank_id"] = _("「题库」不存在或无权使用")
    try:
        qtype = QuestionType(data.question_type)
    except ValueError:
        errors["question_type"] = _("「题型」无效")
        qtype = None
    difficulty = None
    if data.difficulty:
        try:
            difficulty = Difficulty(data.difficulty)
        except ValueError:
            errors["difficulty"] = _("「难度」无效")
    if not data.count or not 1 <= data.count <= 200:
        errors["count"] = _("「抽题数量」须在 1 到 200 之间")
    if data.points_each is None or not 0 < data.points_each <= 100:
        errors["points_each"] = _("「每题分值」须大于 0 且不超过 100")
    if errors:
        raise ValidationFailed(errors)
    section = BlueprintSection(
        exam_id=exam.id, position=len(exam.sections) + 1, title=(data.title or "").strip() or qtype.label,
        bank_id=bank.id, question_type=qtype, knowledge_point=(data.knowledge_point or "").strip(),
        difficulty=difficulty, count=data.count, points_each=float(data.points_each))
    have = available(session, section)
    if have < data.count:
        raise ValidationFailed({"count": _("「抽题数量」超过了题库中符合条件的题目数（现有 %(n)d 道）", n=have)})
    exam.sections.append(section)
    session.flush()
    audit.record(session, user, "exam.section_add", exam, section_id=section.id)
    return section


def remove_section(session: Session, user, exam: Exam, section_id: int) -> None:
    _require_unstarted(session, user, exam)
    section = next((s for s in exam.sections if s.id == section_id), None)
    if section is None:
        raise ValidationFailed({"section": _("该组卷规则不存在")})
    exam.sections.remove(section)
    for i, s in enumerate(exam.sections, start=1):
        s.position = i
    session.flush()
    audit.record(session, user, "exam.section_remove", exam, section_id=section_id)


def publish(session: Session, user, exam: Exam) -> None:
    """Open the exam to its trainees: it needs a blueprint whose every rule can still be drawn."""
    if not can_manage_exam(user, exam):
        raise Forbidden(_("您不能发布这场考试"))
    if not exam.sections:
        raise DomainError(_("请先添加组卷规则"))
    for s in exam.sections:
        if available(session, s) < s.count:
            raise DomainError(_("组卷规则「%(t)s」可抽的题目不足 %(n)d 道", t=s.title, n=s.count))
    exam.status = ExamStatus.published
    session.flush()
    audit.record(session, user, "exam.publish", exam)


# What a paper copies from each drawn question (Core rows, not ORM objects: at the exam bell every trainee draws
# ~80 questions at once).
_PAPER_COLUMNS = [Question.__table__.c[name] for name in (
    "id", "type", "stem", "options", "answer", "reference_answer", "explanation", "knowledge_point")]


def draw_paper(session: Session, exam: Exam, rng: random.Random | None = None) -> list[tuple[BlueprintSection, object]]:
    """One trainee's draw: each section's questions at random, never the same question twice; within each
    section the order is random when the exam shuffles (sections themselves keep the blueprint's order).
    Returns (section, question row) pairs; a row has the question's id, type, stem, options, answer,
    reference_answer, explanation and knowledge_point."""
    rng = rng or random.SystemRandom()
    taken: set[int] = set()
    picks: list[tuple[BlueprintSection, list[int]]] = []
    for section in exam.sections:
        ids = [i for i in session.scalars(_pool(section).order_by(Question.id)) if i not in taken]
        if len(ids) < section.count:
            raise DomainError(_("题库中可抽的题目不足，请联系培训机构"))
        chosen = rng.sample(ids, section.count)
        if not exam.shuffle:
            chosen.sort()
        taken.update(chosen)
        picks.append((section, chosen))
    questions = {q.id: q for q in session.execute(select(*_PAPER_COLUMNS).where(Question.id.in_(list(taken))))}
    return [(section, questions[i]) for section, chosen in picks for i in chosen]


def shuffled_options(question: Question, shuffle: bool, rng: random.Random) -> list[dict]:
    """The options in the order this trainee sees them (true/false keeps 正确 before 错误)."""
    options = [dict(o) for o in question.options]
    if shuffle and question.type in (QuestionType.single, QuestionType.multiple):
        rng.shuffle(options)
    return options
