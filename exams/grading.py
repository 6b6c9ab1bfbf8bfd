"""Scoring: choice questions automatically, short answers by staff in a queue; a fully graded attempt
becomes a result record."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from courses.models import Programme, TrainingClass
from exams.models import (Answer, Attempt, AttemptQuestion, AttemptStatus, Exam, ExamResult, MultipleScoring,
                          QuestionType, ResultSource)
from exams.papers import can_manage_exam
from lms import audit
from lms.db import utcnow
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.scoping import condition


def choice_points(qtype: QuestionType, correct: list[str] | None, points: float, selected: list[str] | None,
                  scoring: MultipleScoring) -> float:
    """Points for a choice answer. Multiple choice with partial credit: any wrong option scores nothing,
    otherwise the share of the correct options chosen (少选按比例得分，错选不得分)."""
    chosen, correct = set(selected or []), set(correct or [])
    if not chosen:
        return 0.0
    if qtype != QuestionType.multiple or scoring == MultipleScoring.all_or_nothing:
        return float(points) if chosen == correct else 0.0
    if chosen - correct:
        return 0.0
    return round(points * len(chosen) / len(correct), 2)


# ------------------------------------------------------------------ grading a closed attempt, without the ORM
# At the end of an exam hundreds of trainees hand in within seconds; grading ran in the request through the ORM
# (an object per answer and per paper question, lazy loads of the exam, class and programme: 15 statements and
# ~13 ms of Python a submit in cProfile). These statements are built once; grading is one read of the paper
# with its answers, one executemany of the points, one conditional UPDATE and the result's INSERT.
_A, _AQ, _ANS, _R = Attempt.__table__, AttemptQuestion.__table__, Answer.__table__, ExamResult.__table__
_E, _TC, _P = Exam.__table__, TrainingClass.__table__, Programme.__table__

# The paper with its answers, and (the same for every row; uncorrelated, so evaluated once) the exam's scoring
# rule and effective pass mark: its own, else its programme's (through its class), else 60.
_SCORING = select(_E.c.multiple_scoring).where(_E.c.id == bindparam("eid")).scalar_subquery()
_PASS_MARK = (
    select(func.coalesce(_E.c.pass_mark, _P.c.pass_mark))
    .select_from(_E.outerjoin(_TC, _TC.c.id == _E.c.class_id)
                 .outerjoin(_P, _P.c.id == func.coalesce(_TC.c.programme_id, _E.c.programme_id)))
    .where(_E.c.id == bindparam("eid")).scalar_subquery())
_PAPER_WITH_ANSWERS = (
    select(_AQ.c.type, _AQ.c.answer, _AQ.c.points, _ANS.c.id.label("answer_id"), _ANS.c.selected, _ANS.c.text,
           _ANS.c.points.label("answer_points"), _SCORING.label("scoring"), _PASS_MARK.label("pass_mark"))
    .select_from(_AQ.outerjoin(_ANS, (_ANS.c.attempt_question_id == _AQ.c.id) & (_ANS.c.attempt_id == _AQ.c.attempt_id)))
    .where(_AQ.c.attempt_id == bindparam("aid")))
_SET_ANSWER_POINTS = update(_ANS).where(_ANS.c.id == bindparam("p_answer")).values(points=bindparam("p_points"))
_COMPLETE = (update(_A).where(_A.c.id == bindparam("p_aid"), _A.c.grading_complete.is_(False))
             .values(points=bindparam("p_total"), max_points=bindparam("p_max"), score=bindparam("p_score"),
                     passed=bindparam("p_passed"), grading_complete=True))
_RECORD = insert(_R).values(exam_id=bindparam("p_exam"), user_id=bindparam("p_user"),
                            enrollment_id=bindparam("p_enrollment"), attempt_id=bindparam("p_aid"),
                            source=ResultSource.online, score=bindparam("p_score"), passed=bindparam("p_passed"),
                            taken_at=bindparam("p_taken", type_=_R.c.taken_at.type),
                            recorded_at=bindparam("p_recorded", type_=_R.c.recorded_at.type))


def grade_closed(session: Session, attempt_id: int, exam_id: int, user_id: int, enrollment_id: int,
                 finished_at: dt.datetime | None) -> bool:
    """Grade an attempt that the caller has just closed (its conditional UPDATE matched, so this runs once per
    attempt): score every choice answer and blank short answers; when no written short answer waits for staff,
    total the points and record the result. Returns whether grading is complete. Same rules as
    ``finalize_if_complete``, which staff grading uses."""
    conn = session.connection()
    total, max_points, complete, updates, pass_mark = 0.0, 0.0, True, [], None
    for row in conn.execute(_PAPER_WITH_ANSWERS, {"aid": attempt_id, "eid": exam_id}):
        pass_mark = row.pass_mark
        max_points += row.points
        if row.answer_id is None:
            continue  # unanswered: counts as 0
        pts = row.answer_points
        if row.type.is_choice:
            pts = choice_points(row.type, row.answer, row.points, row.selected, row.scoring)
            updates.append({"p_answer": row.answer_id, "p_points": pts})
        elif not (row.text or "").strip():
            pts = 0.0
            updates.append({"p_answer": row.answer_id, "p_points": pts})
        if pts is None:
            complete = False
        else:
            total += pts
    if updates:
        conn.execute(_SET_ANSWER_POINTS, updates)
    if not complete:
        return False
    score = round(100.0 * total / max_points, 1) if max_points else 0.0
    passed = score >= (float(pass_mark) if pass_mark is not None else 60.0)
    done = conn.execute(_COMPLETE, {"p_aid": attempt_id, "p_total": round(total, 2), "p_max": max_points,
                                    "p_score": score, "p_passed": passed})
    if done.rowcount == 1:
        now = utcnow()
        conn.execute(_RECORD, {"p_exam": exam_id, "p_user": user_id, "p_enrollment": enrollment_id,
                               "p_aid": attempt_id, "p_score": score, "p_passed": passed,
                               "p_taken": finished_at or now, "p_recorded": now})
    return True


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
