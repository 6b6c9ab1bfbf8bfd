"""Read models of exams that the pages, the home panels, the exports and the API share: the trainee's exams,
the staff's lists of banks, questions, exams and attempts, and the results table of an exam."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
from exams import grading
from exams.models import (Attempt, AttemptStatus, Difficulty, Exam, ExamResult, ExamStatus, Question, QuestionBank,
                          QuestionType)
from exams.results import counting_result, real_name
from exams.services import admission
from lms.scoping import visible


# ------------------------------------------------------------------ the trainee's exams
def exams_for_trainee(session: Session, user) -> Select:
    """Published exams of the classes (or programmes) the trainee is approved in, soonest closing first."""
    approved = select(Enrollment.class_id).where(Enrollment.user_id == user.id,
                                                 Enrollment.status == EnrollmentStatus.approved)
    prog_inst = select(TrainingClass.programme_id, TrainingClass.institution_id).where(TrainingClass.id.in_(approved))
    conds = [Exam.class_id.in_(approved)]
    for prog_id, inst_id in session.execute(prog_inst):
        conds.append((Exam.class_id.is_(None)) & (Exam.programme_id == prog_id) & (Exam.institution_id == inst_id))
    return select(Exam).where(Exam.status == ExamStatus.published, or_(*conds)).order_by(Exam.closes_at.desc())


def open_exams_for_trainee(session: Session, user, now: dt.datetime, limit: int = 5) -> list[Exam]:
    """The trainee's exams whose window is open now (the home page's panel)."""
    return list(session.scalars(exams_for_trainee(session, user).where(Exam.opens_at <= now, Exam.closes_at > now)
                                .limit(limit)))


def my_exam_rows(session: Session, user, exams: list[Exam], now: dt.datetime) -> list[dict]:
    """For each exam of the trainee's list: their attempts, the open one, and (none open) the admission."""
    rows = []
    for exam in exams:
        mine = list(session.scalars(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id)
                                    .order_by(Attempt.number)))
        current = next((a for a in mine if a.status == AttemptStatus.open), None)
        rows.append({"exam": exam, "attempts": mine, "open": current,
                     "admission": None if current else admission(session, exam, user, now)})
    return rows


# ------------------------------------------------------------------ banks and questions
def bank_list(user, q: str = "") -> Select:
    """The banks the user may see (province banks first), optionally by name."""
    stmt = visible(QuestionBank, user).order_by(QuestionBank.province_id.is_(None), QuestionBank.name)
    return stmt.where(QuestionBank.name.contains(q, autoescape=True)) if q else stmt


def active_question_counts(session: Session, bank_ids: list[int]) -> dict[int, int]:
    """Active questions per bank."""
    return dict(session.execute(select(Question.bank_id, func.count(Question.id)).where(
        Question.bank_id.in_(bank_ids), Question.is_active.is_(True)).group_by(Question.bank_id)).all())


def bank_questions(bank: QuestionBank, q: str = "", qtype: str | None = None, difficulty: str | None = None,
                   kp: str = "") -> Select:
    """A bank's active questions, filtered by text, type, difficulty and knowledge point (unknown values ignored)."""
    stmt = select(Question).where(Question.bank_id == bank.id, Question.is_active.is_(True)).order_by(Question.id)
    if q:
        stmt = stmt.where(or_(Question.stem.contains(q, autoescape=True), Question.knowledge_point.contains(q, autoescape=True)))
    if qtype in QuestionType.__members__:
        stmt = stmt.where(Question.type == QuestionType(qtype))
    if difficulty in Difficulty.__members__:
        stmt = stmt.where(Question.difficulty == Difficulty(difficulty))
    return stmt.where(Question.knowledge_point == kp) if kp else stmt


# ------------------------------------------------------------------ exams, attempts, grading
def exam_list(user, q: str = "", status: str | None = None) -> Select:
    """The exams the user may see, latest opening first, by title and status."""
    stmt = visible(Exam, user).order_by(Exam.opens_at.desc())
    if q:
        stmt = stmt.where(Exam.title.contains(q, autoescape=True))
    if status in ExamStatus.__members__:
        stmt = stmt.where(Exam.status == ExamStatus(status))
    return stmt


def class_choices(session: Session, institution_id: int | None) -> list[tuple[int, str]]:
    """The institution's classes (newest first) an exam may be for."""
    rows = session.scalars(select(TrainingClass).where(TrainingClass.institution_id == institution_id)
                           .order_by(TrainingClass.start_date.desc()))
    return [(c.id, c.name) for c in rows]


def programme_choices(session: Session, institution_id: int | None) -> list[tuple[int, str]]:
    """Programmes the institution runs classes of: a programme exam serves all of them."""
    rows = session.scalars(select(Programme).where(Programme.id.in_(
        select(TrainingClass.programme_id).where(TrainingClass.institution_id == institution_id)))
        .order_by(Programme.year.desc(), Programme.name))
    return [(p.id, p.name) for p in rows]


def attempt_count(session: Session, exam: Exam, status: AttemptStatus | None = None) -> int:
    """How many attempts the exam has (of one status, or all): has anyone started, how many are sitting it."""
    stmt = select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id)
    if status is not None:
        stmt = stmt.where(Attempt.status == status)
    return session.scalar(stmt) or 0


def exam_attempts(exam: Exam, status: str | None = None) -> Select:
    """Every attempt of the exam, newest first, optionally of one status."""
    stmt = select(Attempt).where(Attempt.exam_id == exam.id).order_by(Attempt.started_at.desc())
    if status in AttemptStatus.__members__:
        stmt = stmt.where(Attempt.status == AttemptStatus(status))
    return stmt


def pending_grading_count(session: Session, user) -> int:
    """Short answers waiting for a grader in the exams the user may see (the home page's panel)."""
    return session.scalar(select(func.count()).select_from(grading.grading_queue(session, user).subquery())) or 0


# ------------------------------------------------------------------ results
def results_by_trainee(session: Session, exam: Exam) -> list[dict]:
    """One row per approved trainee of the exam's audience: counting result and number of results."""
    stmt = select(Enrollment).join(TrainingClass, TrainingClass.id == Enrollment.class_id).where(
        Enrollment.status == EnrollmentStatus.approved)
    if exam.class_id:
        stmt = stmt.where(Enrollment.class_id == exam.class_id)
    else:
        stmt = stmt.where(TrainingClass.programme_id == exam.programme_id, TrainingClass.institution_id == exam.institution_id)
    enrollments = list(session.scalars(stmt.order_by(Enrollment.id)))
    all_results: dict[int, list[ExamResult]] = {}
    for r in session.scalars(select(ExamResult).where(ExamResult.exam_id == exam.id)):
        all_results.setdefault(r.user_id, []).append(r)
    rows = []
    for e in enrollments:
        mine = all_results.get(e.user_id, [])
        rows.append({"enrollment": e, "user": e.user, "result": counting_result(mine, exam.counting), "count": len(mine)})
    return rows


@dataclass
class ResultsTable:
    rows: list[dict]  # results_by_trainee's rows matching the search
    scores: list[float]  # the counting scores among them
    passed: int
    mean: float | None


def results_table(session: Session, exam: Exam, q: str = "") -> ResultsTable:
    """The exam's results page: trainees matching ``q`` (account or real name), their scores, passes and mean."""
    rows = results_by_trainee(session, exam)
    if q:
        rows = [r for r in rows if q in r["user"].username or q in real_name(r["user"])]
    scores = [r["result"].score for r in rows if r["result"] is not None]
    passed = sum(1 for r in rows if r["result"] is not None and r["result"].passed)
    return ResultsTable(rows, scores, passed, round(sum(scores) / len(scores), 1) if scores else None)


def counting_result_ids(session: Session, exam: Exam) -> set[int]:
    """Ids of the results that count (one per trainee at most), for the API's ``counting`` flag."""
    return {row["result"].id for row in results_by_trainee(session, exam) if row["result"]}
