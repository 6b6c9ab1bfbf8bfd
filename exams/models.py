"""Exams: banks and questions, exams with their blueprint sections, attempts with their papers and answers,
and the result records (online and offline) a certificate rests on.

A paper is a snapshot: each ``AttemptQuestion`` copies the question's stem, options (in the trainee's shuffled
order), correct answer and explanation when the attempt starts, so editing the bank later changes no paper.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import (JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, or_, select, text)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from courses.models import Enrollment, Programme, TrainingClass
from lms.auth.models import User
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import LabelledEnum, Role, enum_column_type
from lms.orgs.models import Institution, Region, region_subtree_ids
from lms.orgs.services import province_of
from lms.scoping import condition, scope_rule


class QuestionType(LabelledEnum):
    single = "single"
    multiple = "multiple"
    true_false = "true_false"
    short_answer = "short_answer"

    @classmethod
    def _labels(cls):
        return {"single": _l("单选题"), "multiple": _l("多选题"), "true_false": _l("判断题"),
                "short_answer": _l("简答题")}

    @property
    def is_choice(self) -> bool:
        return self != QuestionType.short_answer


class Difficulty(LabelledEnum):
    easy = "easy"
    medium = "medium"
    hard = "hard"

    @classmethod
    def _labels(cls):
        return {"easy": _l("易"), "medium": _l("中"), "hard": _l("难")}


class MultipleScoring(LabelledEnum):
    partial = "partial"
    all_or_nothing = "all_or_nothing"

    @classmethod
    def _labels(cls):
        return {"partial": _l("少选按比例得分，错选不得分"), "all_or_nothing": _l("全部选对才得分")}


class CountingRule(LabelledEnum):
    highest = "highest"
    last = "last"

    @classmethod
    def _labels(cls):
        return {"highest": _l("取最高一次"), "last": _l("取最后一次")}


class ReviewPolicy(LabelledEnum):
    never = "never"
    after_submit = "after_submit"
    after_close = "after_close"

    @classmethod
    def _labels(cls):
        return {"never": _l("不开放回顾"), "after_submit": _l("交卷后即可回顾"), "after_close": _l("考试结束后可回顾")}


class ExamStatus(LabelledEnum):
    draft = "draft"
    published = "published"

    @classmethod
    def _labels(cls):
        return {"draft": _l("草稿"), "published": _l("已发布")}


class AttemptStatus(LabelledEnum):
    open = "open"
    submitted = "submitted"
    expired = "expired"

    @classmethod
    def _labels(cls):
        return {"open": _l("作答中"), "submitted": _l("已交卷"), "expired": _l("超时自动交卷")}


class IntegrityEventKind(LabelledEnum):
    """What the exam page reports while an attempt is open (issue 17: shown to staff on the answer sheet)."""

    hidden = "hidden"
    blur = "blur"
    paste = "paste"
    copy = "copy"
    fullscreen_exit = "fullscreen_exit"

    @classmethod
    def _labels(cls):
        return {"hidden": _l("离开考试页面（切换标签页或应用）"), "blur": _l("考试窗口失去焦点"), "paste": _l("粘贴"),
                "copy": _l("复制"), "fullscreen_exit": _l("退出全屏")}

    @property
    def is_departure(self) -> bool:
        return self in (IntegrityEventKind.hidden, IntegrityEventKind.blur)


class ResultSource(LabelledEnum):
    online = "online"
    offline = "offline"

    @classmethod
    def _labels(cls):
        return {"online": _l("在线考试"), "offline": _l("线下纸笔考试")}


TRUE_FALSE_OPTIONS = [{"id": "T", "text": "正确"}, {"id": "F", "text": "错误"}]


class QuestionBank(Base):
    """A question bank kept by one institution, or the province's shared bank kept by its regulator."""

    __tablename__ = "exam_question_banks"
    __table_args__ = (CheckConstraint("(institution_id IS NULL) <> (province_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    province_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution | None] = relationship()
    province: Mapped[Region | None] = relationship()

    @property
    def is_shared(self) -> bool:
        return self.province_id is not None

    @property
    def owner_name(self) -> str:
        return self.institution.name if self.institution else f"{self.province.name}（{_l('全省共享')}）"


class Question(Base):
    """One question. ``options`` is a list of ``{"id": "A", "text": ...}``; ``answer`` the correct option ids
    (choice types) — for short answers ``reference_answer`` guides the grader instead."""

    __tablename__ = "exam_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("exam_question_banks.id", ondelete="CASCADE"), index=True)
    type: Mapped[QuestionType] = mapped_column(enum_column_type(QuestionType), index=True)
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[list] = mapped_column(JSON, default=list)
    reference_answer: Mapped[str] = mapped_column(Text, default="")
    knowledge_point: Mapped[str] = mapped_column(String(64), index=True)
    difficulty: Mapped[Difficulty] = mapped_column(enum_column_type(Difficulty), index=True)
    explanation: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    bank: Mapped[QuestionBank] = relationship()


class Exam(Base):
    """An exam of a class (or of a programme, for the institution's classes of it)."""

    __tablename__ = "exams"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_classes.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=2)
    counting: Mapped[CountingRule] = mapped_column(enum_column_type(CountingRule), default=CountingRule.highest)
    pass_mark: Mapped[float | None] = mapped_column(Float)  # None: the programme's pass mark
    multiple_scoring: Mapped[MultipleScoring] = mapped_column(enum_column_type(MultipleScoring),
                                                              default=MultipleScoring.partial)
    review_policy: Mapped[ReviewPolicy] = mapped_column(enum_column_type(ReviewPolicy), default=ReviewPolicy.after_close)
    # Hand the attempt in after this many departures from the exam page (tab switch, window blur); None: never
    # (issue 17; a per-exam setting, no seed states a number).
    max_departures: Mapped[int | None] = mapped_column(Integer)
    shuffle: Mapped[bool] = mapped_column(Boolean, default=True)
    counts_for_completion: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[ExamStatus] = mapped_column(enum_column_type(ExamStatus), default=ExamStatus.draft)
    instructions: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship()
    training_class: Mapped[TrainingClass | None] = relationship()
    programme: Mapped[Programme | None] = relationship()
    sections: Mapped[list["BlueprintSection"]] = relationship(
        back_populates="exam", cascade="all, delete-orphan", order_by="BlueprintSection.position")

    @property
    def effective_programme(self) -> Programme | None:
        return self.training_class.programme if self.training_class else self.programme

    @property
    def effective_pass_mark(self) -> float:
        if self.pass_mark is not None:
            return self.pass_mark
        prog = self.effective_programme
        return float(prog.pass_mark) if prog is not None and prog.pass_mark is not None else 60.0

    @property
    def total_points(self) -> float:
        return sum(s.count * s.points_each for s in self.sections)

    @property
    def audience_name(self) -> str:
        return self.training_class.name if self.training_class else (self.programme.name if self.programme else "")


class BlueprintSection(Base):
    """One rule of the blueprint (组卷规则): draw ``count`` active questions of ``question_type`` from
    ``bank_id``, narrowed by knowledge point and difficulty when given, each worth ``points_each``."""

    __tablename__ = "exam_blueprint_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(64), default="")
    bank_id: Mapped[int] = mapped_column(ForeignKey("exam_question_banks.id"))
    question_type: Mapped[QuestionType] = mapped_column(enum_column_type(QuestionType))
    knowledge_point: Mapped[str] = mapped_column(String(64), default="")  # "" = any
    difficulty: Mapped[Difficulty | None] = mapped_column(enum_column_type(Difficulty))  # None = any
    count: Mapped[int] = mapped_column(Integer)
    points_each: Mapped[float] = mapped_column(Float)

    exam: Mapped[Exam] = relationship(back_populates="sections")
    bank: Mapped[QuestionBank] = relationship()


class Attempt(Base):
    """One sitting of an exam by one trainee. ``(exam_id, user_id, number)`` is unique, and a partial unique
    index allows at most one *open* attempt per trainee and exam: two concurrent starts cannot create two
    attempts even when the second numbers itself after the first commits. ``status`` leaves ``open`` exactly
    once (conditional UPDATE)."""

    __tablename__ = "exam_attempts"
    __table_args__ = (
        UniqueConstraint("exam_id", "user_id", "number"),
        Index("uq_exam_attempts_one_open", "exam_id", "user_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[AttemptStatus] = mapped_column(enum_column_type(AttemptStatus), default=AttemptStatus.open, index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    max_points: Mapped[float] = mapped_column(Float, default=0)
    points: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)  # out of 100
    passed: Mapped[bool | None] = mapped_column(Boolean)
    grading_complete: Mapped[bool] = mapped_column(Boolean, default=False)

    exam: Mapped[Exam] = relationship()
    user: Mapped[User] = relationship()
    enrollment: Mapped[Enrollment] = relationship()
    questions: Mapped[list["AttemptQuestion"]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="AttemptQuestion.position")


class AttemptEvent(Base):
    """Something the exam page saw during an attempt (the trainee left the page, pasted …), with the time the
    page saw it and the time the server received it. ``seq`` numbers the page's events, so a report resent after
    a lost connection is stored once."""

    __tablename__ = "exam_attempt_events"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[IntegrityEventKind] = mapped_column(enum_column_type(IntegrityEventKind))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaperQuestionSnapshot:
    """The columns of a question as a paper freezes it: its text, options in the paper's (shuffled) order,
    correct answer and points. Shared by an attempt's questions and a prepared paper's, which are copied one
    into the other column for column (``exams.papers._PAPER_FIELDS``)."""

    position: Mapped[int] = mapped_column(Integer)
    section_title: Mapped[str] = mapped_column(String(64), default="")
    type: Mapped[QuestionType] = mapped_column(enum_column_type(QuestionType))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)  # shuffled order
    answer: Mapped[list] = mapped_column(JSON, default=list)
    reference_answer: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    knowledge_point: Mapped[str] = mapped_column(String(64), default="")
    points: Mapped[float] = mapped_column(Float)


class AttemptQuestion(PaperQuestionSnapshot, Base):
    """A question on one trainee's paper, frozen at the start: its text, options in the shuffled order,
    correct answer and points."""

    __tablename__ = "exam_attempt_questions"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("exam_questions.id"), index=True)

    attempt: Mapped[Attempt] = relationship(back_populates="questions")
    question: Mapped[Question] = relationship()


class Answer(Base):
    """The latest saved answer to one question of one attempt. Writes are upserts that only replace a row
    with a lower ``seq``, so a stale tab or a late retry never overwrites a newer answer."""

    __tablename__ = "exam_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "attempt_question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    attempt_question_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt_questions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    selected: Mapped[list] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    points: Mapped[float | None] = mapped_column(Float)  # None: not graded yet (short answers)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    grader_comment: Mapped[str] = mapped_column(Text, default="")

    attempt: Mapped[Attempt] = relationship()
    attempt_question: Mapped[AttemptQuestion] = relationship()


class PreparedPaper(Base):
    """A paper drawn ahead of the exam bell (job ``exams.prepare_papers``), waiting for a trainee's start: at the
    bell a start claims one (``attempt_id`` set, one row) and copies its questions with one INSERT … SELECT,
    instead of drawing and shuffling ~80 questions in Python while, on SQLite, every other start waits for the
    write lock. Unclaimed papers are discarded when the blueprint, the shuffle setting or one of their questions
    changes; claimed ones are purged by the job."""

    __tablename__ = "exam_prepared_papers"
    __table_args__ = (Index("ix_exam_prepared_papers_unclaimed", "exam_id", "attempt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    attempt_id: Mapped[int | None] = mapped_column(Integer)  # the attempt that took it (no FK: purged later)
    max_points: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PreparedQuestion(PaperQuestionSnapshot, Base):
    """A question of a prepared paper: the same snapshot an ``AttemptQuestion`` holds."""

    __tablename__ = "exam_prepared_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("exam_prepared_papers.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("exam_questions.id", ondelete="CASCADE"), index=True)


class ExamResult(Base):
    """A result record: one per fully graded online attempt (``attempt_id`` set) and one per offline paper
    exam entered by staff. The counting result of a trainee is chosen among these by the exam's rule."""

    __tablename__ = "exam_results"
    __table_args__ = (UniqueConstraint("attempt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"))
    source: Mapped[ResultSource] = mapped_column(enum_column_type(ResultSource))
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    exam: Mapped[Exam] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    enrollment: Mapped[Enrollment] = relationship()


# ------------------------------------------------------------------ scoping
def _shared_bank_of(user, region: Region | None):
    """SQL: the bank is the shared bank of the province of ``region`` (``lms.orgs.services.province_of``)."""
    if region is None:
        return false()
    return QuestionBank.province_id == province_of(object_session(user), region).id


@scope_rule(QuestionBank)
def _bank_scope(user):
    """Institutions see their own banks and their province's shared bank; regulators see their province's
    shared bank and the banks of institutions in their region."""
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        inst_ids = select(Institution.id).where(Institution.region_id.in_(region_subtree_ids(user))).scalar_subquery()
        return or_(_shared_bank_of(user, user.region), QuestionBank.institution_id.in_(inst_ids))
    if user.role == Role.institution_staff and user.institution is not None:
        return or_(QuestionBank.institution_id == user.institution_id,
                   _shared_bank_of(user, user.institution.region))
    return False


@scope_rule(Question)
def _question_scope(user):
    if user.role == Role.system_admin:
        return True
    return Question.bank_id.in_(select(QuestionBank.id).where(condition(QuestionBank, user)).scalar_subquery())


def _staff_exam_condition(user, inst_col):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return inst_col.in_(select(Institution.id).where(Institution.region_id.in_(region_subtree_ids(user))).scalar_subquery())
    if user.role == Role.institution_staff:
        return inst_col == user.institution_id
    return None


@scope_rule(Exam)
def _exam_scope(user):
    cond = _staff_exam_condition(user, Exam.institution_id)
    if cond is not None:
        return cond
    return False  # trainees reach their exams through their enrolments (exams.queries.exams_for_trainee)


@scope_rule(Attempt)
def _attempt_scope(user):
    if user.role == Role.trainee:
        return Attempt.user_id == user.id
    cond = _staff_exam_condition(user, Exam.institution_id)
    if cond is True:
        return True
    return Attempt.exam_id.in_(select(Exam.id).where(cond).scalar_subquery())


@scope_rule(AttemptEvent)
def _attempt_event_scope(user):
    if user.role == Role.trainee:
        return AttemptEvent.attempt_id.in_(select(Attempt.id).where(Attempt.user_id == user.id).scalar_subquery())
    cond = _staff_exam_condition(user, Exam.institution_id)
    if cond is True:
        return True
    return AttemptEvent.attempt_id.in_(
        select(Attempt.id).join(Exam, Exam.id == Attempt.exam_id).where(cond).scalar_subquery())


@scope_rule(Answer)
def _answer_scope(user):
    if user.role == Role.trainee:
        return Answer.attempt_id.in_(select(Attempt.id).where(Attempt.user_id == user.id).scalar_subquery())
    cond = _staff_exam_condition(user, Exam.institution_id)
    if cond is True:
        return True
    return Answer.attempt_id.in_(
        select(Attempt.id).join(Exam, Exam.id == Attempt.exam_id).where(cond).scalar_subquery())


@scope_rule(ExamResult)
def _result_scope(user):
    if user.role == Role.trainee:
        return ExamResult.user_id == user.id
    cond = _staff_exam_condition(user, Exam.institution_id)
    if cond is True:
        return True
    return ExamResult.exam_id.in_(select(Exam.id).where(cond).scalar_subquery())
