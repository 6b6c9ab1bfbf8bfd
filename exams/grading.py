"""Scoring: choice questions automatically, short answers by staff in a queue; a fully graded attempt
becomes a result record."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exams.models import (Answer, Attempt, AttemptQuestion, AttemptStatus, Exam, ExamResult, MultipleScoring,
                          QuestionType, ResultSource)
from lms import audit
from lms.db import utcnow
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.scoping import condition


def score_choice(aq: AttemptQuestion, selected: list[str], scoring: MultipleScoring) -> float:
    """Points for a choice answer. Multiple choice with partial credit: any wrong option scores nothing,
    otherwise the share of the correct options chosen (少选按比例得分，错选不得分)."""
    chosen, correct = set(selected or []), set(aq.answer or [])
    if not chosen:
        return 0.0
    if aq.type != QuestionType.multiple or scoring == MultipleScoring.all_or_nothing:
        return float(aq.points) if chosen == correct else 0.0
    if chosen - correct:
        return 0.0
    return round(aq.points * len(chosen) / len(correct), 2)


def auto_grade(session: Session, attempt: Attempt) -> None:
    """Score every choice answer and blank short answers; written short answers wait for staff."""
    scoring = attempt.exam.multiple_scoring
    answers = {a.attempt_question_id: a for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))}
    for aq in attempt.questions:
        ans = answers.get(aq.id)
        if ans is None:
            continue  # unanswered: counts as 0 in ``finalize``
        if aq.type.is_choice:
            ans.points = score_choice(aq, ans.selected, scoring)
        elif not (ans.text or "").strip():
            ans.points = 0.0
    session.flush()
    finalize_if_complete(session, attempt)


def finalize_if_complete(session: Session, attempt: Attempt) -> bool:
    """When no answer waits for a grader, total the points, set score and pass, and record the result once."""
    if attempt.grading_complete or attempt.status == AttemptStatus.open:
        return attempt.grading_complete
    answers = {a.attempt_question_id: a for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))}
    if any(a.points is None for a in answers.values()):
        return False
    total = sum((a.points or 0.0) for a in answers.values())
    max_points = sum(aq.points for aq in attempt.questions)
    exam: Exam = attempt.exam
    score = round(100.0 * total / max_points, 1) if max_points else 0.0
    passed = score >= exam.effective_pass_mark
    # Conditional: of two graders finishing the last answers at once, one records the result.
    done = session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.grading_complete.is_(False))
        .values(points=round(total, 2), max_points=max_points, score=score, passed=passed, grading_complete=True)
        .execution_options(synchronize_session=False))
    session.refresh(attempt)
    if done.rowcount != 1:
        return True
    session.add(ExamResult(
        exam_id=exam.id, user_id=attempt.user_id, enrollment_id=attempt.enrollment_id, attempt_id=attempt.id,
        source=ResultSource.online, score=attempt.score, passed=attempt.passed,
        taken_at=attempt.finished_at or utcnow(), recorded_at=utcnow()))
    session.flush()
    return True


def grading_queue(session: Session, user):
    """Short answers of finished attempts that await a grader, oldest first, in the exams the user may see."""
    return (select(Answer).join(AttemptQuestion, AttemptQuestion.id == Answer.attempt_question_id)
            .join(Attempt, Attempt.id == Answer.attempt_id).join(Exam, Exam.id == Attempt.exam_id)
            .where(AttemptQuestion.type == QuestionType.short_answer, Answer.points.is_(None),
                   Attempt.status != AttemptStatus.open, condition(Exam, user))
            .order_by(Attempt.finished_at, Answer.id))


def grade_answer(session: Session, user, answer: Answer, points: float | None, comment: str = "",
                 now: dt.datetime | None = None) -> Answer:
    """A grader scores one short answer (0 to the question's points). Grading is once: a second grader on
    the same answer is told it is already done."""
    from exams.papers import can_manage_exam

    attempt = answer.attempt
    if not can_manage_exam(user, attempt.exam):
        raise Forbidden(_("您不能批阅这场考试"))
    aq = answer.attempt_question
    if aq.type != QuestionType.short_answer:
        raise ValidationFailed({"points": _("只有简答题需要人工评分")})
    if attempt.status == AttemptStatus.open:
        raise Conflict(_("学员尚未交卷"))
    if answer.points is not None:
        raise Conflict(_("这道题已经评过分了"))
    if points is None or not 0 <= points <= aq.points:
        raise ValidationFailed({"points": _("「得分」须在 0 到 %(max)s 之间", max=f"{aq.points:g}")})
    done = session.execute(
        update(Answer).where(Answer.id == answer.id, Answer.points.is_(None))
        .values(points=round(float(points), 2), grader_comment=(comment or "").strip(), graded_by_id=user.id,
                graded_at=now or utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(_("这道题已经评过分了"))
    session.refresh(answer)
    audit.record(session, user, "exam_answer.grade", answer, attempt_id=attempt.id)
    finalize_if_complete(session, attempt)
    return answer
