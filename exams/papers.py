"""Exams and their blueprints (组卷规则), and drawing one trainee's paper from the blueprint."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
from exams.models import (Attempt, AttemptQuestion, BlueprintSection, CountingRule, Difficulty, Exam, ExamStatus,
                          MultipleScoring, PreparedPaper, PreparedQuestion, Question, QuestionBank, QuestionType,
                          ReviewPolicy)
from lms import audit
from lms.db import utcnow
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
    max_departures: int | None = None


def _exam_audience(session: Session, data: ExamData, institution_id: int | None, errors: dict[str, str]):
    """The class or programme the exam is for, and the institution that holds it; problems go to ``errors``."""
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
    return cls, prog, institution_id


def _exam_settings_errors(data: ExamData, errors: dict[str, str]) -> None:
    """The window, duration, attempts, pass mark and the enumerated settings, checked into ``errors``."""
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
    if data.max_departures is not None and not 1 <= data.max_departures <= 100:
        errors["max_departures"] = _("「自动交卷的离开次数」须在 1 到 100 之间，或留空")
    for name, enum_cls, label in (("counting", CountingRule, "计分方式"), ("multiple_scoring", MultipleScoring, "多选题计分"),
                                  ("review_policy", ReviewPolicy, "答卷回顾")):
        try:
            enum_cls(getattr(data, name))
        except ValueError:
            errors[name] = _("「%(label)s」的取值无效", label=label)


def _changes_what_is_fixed(exam: Exam, data: ExamData, cls, prog) -> bool:
    """Once a trainee has started, only the title, instructions, closing time, review policy and more attempts."""
    return ((exam.class_id, exam.programme_id) != (cls.id if cls else None, prog.id if prog else None)
            or exam.opens_at != data.opens_at or exam.duration_minutes != data.duration_minutes
            or exam.multiple_scoring.value != data.multiple_scoring or exam.shuffle != bool(data.shuffle)
            or (exam.pass_mark != data.pass_mark) or exam.attempts_allowed > data.attempts_allowed
            or exam.counting.value != data.counting or exam.max_departures != data.max_departures)


def save_exam(session: Session, user, data: ExamData, exam: Exam | None = None) -> Exam:
    """Create or change an exam of one of the user's institution's classes (or a programme). Once a trainee
    has started, only the title, instructions, closing time and review policy may change."""
    errors: dict[str, str] = {}
    if user.role != Role.system_admin and (user.role != Role.institution_staff or not user.institution_id):
        raise Forbidden(_("只有培训机构工作人员可以安排考试"))
    if exam is not None and not can_manage_exam(user, exam):
        raise Forbidden(_("您不能修改这场考试"))
    title = (data.title or "").strip()
    if not title:
        errors["title"] = _("「考试名称」不能为空")
    cls, prog, institution_id = _exam_audience(session, data, exam.institution_id if exam else user.institution_id,
                                               errors)
    _exam_settings_errors(data, errors)
    if errors:
        raise ValidationFailed(errors)
    started = exam is not None and session.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id))
    if exam is None:
        exam = Exam(institution_id=institution_id, created_by_id=user.id)
        session.add(exam)
    elif started and _changes_what_is_fixed(exam, data, cls, prog):
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
    exam.max_departures = data.max_departures
    if exam.id is not None and exam.shuffle != bool(data.shuffle):
        discard_prepared(session, exam_id=exam.id)
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
    discard_prepared(session, exam_id=exam.id)
    audit.record(session, user, "exam.section_add", exam, section_id=section.id)
    return section


def remove_section(session: Session, user, exam: Exam, section_id: int) -> None:
    """Take a rule out of the blueprint and renumber the rest (before anyone has started)."""
    _require_unstarted(session, user, exam)
    section = next((s for s in exam.sections if s.id == section_id), None)
    if section is None:
        raise ValidationFailed({"section": _("该组卷规则不存在")})
    exam.sections.remove(section)
    for i, s in enumerate(exam.sections, start=1):
        s.position = i
    session.flush()
    discard_prepared(session, exam_id=exam.id)
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


def _pools(session: Session, exam: Exam) -> list[tuple[BlueprintSection, list[int]]]:
    return [(section, list(session.scalars(_pool(section).order_by(Question.id)))) for section in exam.sections]


def _pick(exam: Exam, pools, rng: random.Random) -> list[tuple[BlueprintSection, list[int]]]:
    taken: set[int] = set()
    picks = []
    for section, pool in pools:
        ids = [i for i in pool if i not in taken]
        if len(ids) < section.count:
            raise DomainError(_("题库中可抽的题目不足，请联系培训机构"))
        chosen = rng.sample(ids, section.count)
        if not exam.shuffle:
            chosen.sort()
        taken.update(chosen)
        picks.append((section, chosen))
    return picks


def _contents(session: Session, ids) -> dict:
    return {q.id: q for q in session.execute(select(*_PAPER_COLUMNS).where(Question.id.in_(list(ids))))}


def draw_paper(session: Session, exam: Exam, rng: random.Random | None = None) -> list[tuple[BlueprintSection, object]]:
    """One trainee's draw: each section's questions at random, never the same question twice; within each
    section the order is random when the exam shuffles (sections themselves keep the blueprint's order).
    Returns (section, question row) pairs; a row has the question's id, type, stem, options, answer,
    reference_answer, explanation and knowledge_point."""
    picks = _pick(exam, _pools(session, exam), rng or random.SystemRandom())
    questions = _contents(session, {i for _s, chosen in picks for i in chosen})
    return [(section, questions[i]) for section, chosen in picks for i in chosen]


def shuffled_options(question: Question, shuffle: bool, rng: random.Random) -> list[dict]:
    """The options in the order this trainee sees them (true/false keeps 正确 before 错误)."""
    options = [dict(o) for o in question.options]
    if shuffle and question.type in (QuestionType.single, QuestionType.multiple):
        rng.shuffle(options)
    return options


# ------------------------------------------------------------------ papers drawn ahead of the bell
_PP, _PQ, _AQ = PreparedPaper.__table__, PreparedQuestion.__table__, AttemptQuestion.__table__
_PAPER_FIELDS = ("question_id", "position", "section_title", "type", "stem", "options", "answer", "reference_answer",
                 "explanation", "knowledge_point", "points")


def paper_rows(exam: Exam, drawn, rng: random.Random) -> list[dict]:
    """The rows of one paper (an attempt's or a prepared one's), from ``draw_paper``'s result: positions,
    options in this paper's order, points."""
    return [{"question_id": q.id, "position": pos, "section_title": section.title, "type": q.type, "stem": q.stem,
             "options": shuffled_options(q, exam.shuffle, rng), "answer": list(q.answer),
             "reference_answer": q.reference_answer, "explanation": q.explanation,
             "knowledge_point": q.knowledge_point, "points": section.points_each}
            for pos, (section, q) in enumerate(drawn, start=1)]


def prepare_papers(session: Session, exam: Exam, count: int, rng: random.Random | None = None) -> int:
    """Draw ``count`` papers for the exam ahead of time, each exactly as a start would draw it."""
    rng = rng or random.SystemRandom()
    conn = session.connection()
    pools = _pools(session, exam)  # read once for all the papers
    questions = _contents(session, {i for _s, pool in pools for i in pool})
    made = 0
    for _i in range(count):
        drawn = [(section, questions[i]) for section, chosen in _pick(exam, pools, rng) for i in chosen]
        paper_id = conn.execute(insert(_PP).values(exam_id=exam.id, max_points=sum(s.points_each for s, _q in drawn),
                                                   created_at=utcnow()).returning(_PP.c.id)).scalar_one()
        conn.execute(insert(_PQ), [{"paper_id": paper_id, **row} for row in paper_rows(exam, drawn, rng)])
        made += 1
    return made


def discard_prepared(session: Session, *, exam_id: int | None = None, question_id: int | None = None) -> None:
    """Forget the unclaimed prepared papers of an exam (its blueprint or shuffle changed), or those carrying a
    question (edited or withdrawn): starts then draw afresh until the job prepares new ones."""
    stmt = delete(_PP).where(_PP.c.attempt_id.is_(None))
    if exam_id is not None:
        stmt = stmt.where(_PP.c.exam_id == exam_id)
    if question_id is not None:
        stmt = stmt.where(_PP.c.id.in_(select(_PQ.c.paper_id).where(_PQ.c.question_id == question_id)))
    session.execute(stmt.execution_options(synchronize_session=False))


# Claiming at the bell: the oldest unclaimed paper, skipping those other starts hold (PostgreSQL; on SQLite the
# start holds the write lock already), marked with the attempt, its questions copied in the database.
_CLAIMABLE = (select(_PP.c.id, _PP.c.max_points)
              .where(_PP.c.exam_id == bindparam("eid"), _PP.c.attempt_id.is_(None))
              .order_by(_PP.c.id).limit(1).with_for_update(skip_locked=True))
_CLAIM = update(_PP).where(_PP.c.id == bindparam("pid"), _PP.c.attempt_id.is_(None)).values(attempt_id=bindparam("aid"))
_COPY = insert(_AQ).from_select(
    ["attempt_id", *_PAPER_FIELDS],
    select(bindparam("aid", type_=Integer()), *[_PQ.c[f] for f in _PAPER_FIELDS]).where(_PQ.c.paper_id == bindparam("pid")))


def claimable_paper(session: Session, exam_id: int):
    """(paper id, max points) of a prepared paper a start may take, or None."""
    return session.connection().execute(_CLAIMABLE, {"eid": exam_id}).first()


def claim_paper(session: Session, paper_id: int, attempt_id: int) -> bool:
    """Give the prepared paper to the attempt: copy its questions. False if another start took it first."""
    conn = session.connection()
    if conn.execute(_CLAIM, {"pid": paper_id, "aid": attempt_id}).rowcount != 1:
        return False
    conn.execute(_COPY, {"pid": paper_id, "aid": attempt_id})
    return True


def purge_prepared(session: Session, now: dt.datetime) -> int:
    """Delete prepared papers that attempts have taken (their questions live on in the attempts) and those of
    exams that have closed."""
    closed = select(Exam.id).where(Exam.closes_at <= now)
    return session.execute(delete(_PP).where(_PP.c.attempt_id.is_not(None) | _PP.c.exam_id.in_(closed))
                           .execution_options(synchronize_session=False)).rowcount or 0


def papers_wanted(session: Session, exam: Exam) -> int:
    """How many prepared papers the exam should have waiting: one per admitted trainee who has not started
    yet (approved enrolments of its class, or of the institution's classes of its programme)."""
    enrolled = select(func.count(Enrollment.id)).join(TrainingClass, TrainingClass.id == Enrollment.class_id).where(
        Enrollment.status == EnrollmentStatus.approved)
    if exam.class_id:
        enrolled = enrolled.where(Enrollment.class_id == exam.class_id)
    else:
        enrolled = enrolled.where(TrainingClass.programme_id == exam.programme_id,
                                  TrainingClass.institution_id == exam.institution_id)
    started = select(func.count(func.distinct(Attempt.user_id))).where(Attempt.exam_id == exam.id)
    return max(0, (session.scalar(enrolled) or 0) - (session.scalar(started) or 0))


def top_up_prepared(session: Session, now: dt.datetime, *, horizon: dt.timedelta = dt.timedelta(days=1),
                    limit: int = 100) -> int:
    """For every published exam that opens within ``horizon`` and has not closed, prepare papers until one
    waits for each admitted trainee who has not started. Idempotent. At most ``limit`` papers a run: the run is
    one transaction, and on SQLite every other writer waits for it (100 papers of 80 questions: ~0.5 s)."""
    made = 0
    exams = session.scalars(select(Exam).where(Exam.status == ExamStatus.published, Exam.closes_at > now,
                                               Exam.opens_at <= now + horizon).order_by(Exam.opens_at))
    for exam in exams:
        waiting = session.scalar(select(func.count(_PP.c.id)).where(_PP.c.exam_id == exam.id,
                                                                     _PP.c.attempt_id.is_(None))) or 0
        want = min(papers_wanted(session, exam) - waiting, limit - made)
        if want <= 0:
            continue
        try:
            made += prepare_papers(session, exam, want)
        except DomainError:
            continue  # the bank no longer holds enough questions: starts will say so
    return made
