"""Sitting an exam: who is admitted, starting (or resuming) an attempt, saving answers as they are given,
and finishing exactly once — by the trainee, or by the scheduled job once the deadline has passed.

The deadline is the server's: ``min(start + duration, window close)``. Answers arriving later than the
deadline plus ``GRACE`` are refused whatever the client's timer said; the grace covers the network only.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from flask_babel import gettext as _
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from courses.attendance import attendance_rate
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from exams import grading, papers
from exams.models import (Answer, Attempt, AttemptQuestion, AttemptStatus, Exam, ExamStatus, QuestionType,
                          ReviewPolicy)
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed

GRACE = dt.timedelta(seconds=30)  # at most 60 s by the rules; covers the request's trip only
T = TypeVar("T")


# ------------------------------------------------------------------ admission
def enrollment_for(session: Session, exam: Exam, user) -> Enrollment | None:
    """The user's approved enrolment that the exam is for: in the exam's class, or for a programme exam in
    one of the institution's classes of that programme."""
    stmt = select(Enrollment).join(TrainingClass, TrainingClass.id == Enrollment.class_id).where(
        Enrollment.user_id == user.id, Enrollment.status == EnrollmentStatus.approved)
    if exam.class_id:
        stmt = stmt.where(Enrollment.class_id == exam.class_id)
    else:
        stmt = stmt.where(TrainingClass.programme_id == exam.programme_id,
                          TrainingClass.institution_id == exam.institution_id)
    return session.scalar(stmt.order_by(Enrollment.id).limit(1))


@dataclass
class Admission:
    allowed: bool
    reason: str
    enrollment: Enrollment | None = None
    attendance: float | None = None


def admission(session: Session, exam: Exam, user, now: dt.datetime | None = None) -> Admission:
    """May the trainee sit the exam now? Enrolled (approved), attendance so far at least the programme's
    minimum, the window open, attempts left. ``reason`` says in Chinese what is missing."""
    now = now or utcnow()
    if exam.status != ExamStatus.published:
        return Admission(False, _("考试尚未发布"))
    enrollment = enrollment_for(session, exam, user)
    if enrollment is None:
        return Admission(False, _("您没有被录取到本考试所属的培训班"))
    programme = enrollment.training_class.programme
    minimum = float(programme.min_attendance_rate or 0)
    rate = attendance_rate(session, enrollment, so_far=True, now=now)
    if rate + 1e-9 < minimum:
        return Admission(False, _("截至目前出勤率 %(r)s，低于参加考试要求的 %(m)s",
                                  r=f"{rate:.0%}", m=f"{minimum:.0%}"), enrollment, rate)
    if now < exam.opens_at:
        return Admission(False, _("考试尚未开始"), enrollment, rate)
    if now >= exam.closes_at:
        return Admission(False, _("考试已经结束"), enrollment, rate)
    used = session.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id)) or 0
    if used >= exam.attempts_allowed:
        return Admission(False, _("您已用完全部 %(n)d 次考试机会", n=exam.attempts_allowed), enrollment, rate)
    return Admission(True, "", enrollment, rate)


def exams_for_trainee(session: Session, user):
    """Published exams of the classes (or programmes) the trainee is approved in, soonest closing first."""
    approved = select(Enrollment.class_id).where(Enrollment.user_id == user.id,
                                                 Enrollment.status == EnrollmentStatus.approved)
    prog_inst = select(TrainingClass.programme_id, TrainingClass.institution_id).where(TrainingClass.id.in_(approved))
    pairs = list(session.execute(prog_inst))
    conds = [Exam.class_id.in_(approved)]
    for prog_id, inst_id in pairs:
        conds.append((Exam.class_id.is_(None)) & (Exam.programme_id == prog_id) & (Exam.institution_id == inst_id))
    return select(Exam).where(Exam.status == ExamStatus.published, or_(*conds)).order_by(Exam.closes_at.desc())


def open_attempt(session: Session, exam: Exam, user) -> Attempt | None:
    """The trainee's attempt of this exam that is still open, if any (there is at most one)."""
    return session.scalar(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id,
                                                Attempt.status == AttemptStatus.open))


# ------------------------------------------------------------------ starting
def start_attempt(session: Session, user, exam: Exam, now: dt.datetime | None = None,
                  rng: random.Random | None = None) -> Attempt:
    """Start the trainee's next attempt, or return the open one (a second tab, a reload, a lost connection
    all come back to it). Two starts at once create one attempt: the unique (exam, user, number) and the
    one-open-attempt index refuse the second insert, which then returns the first's attempt."""
    now = now or utcnow()
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员可以参加考试"))
    current = open_attempt(session, exam, user)
    if current is not None:
        if now <= current.deadline_at + GRACE:
            return current
        finish_attempt(session, current, now=now, status=AttemptStatus.expired)
    adm = admission(session, exam, user, now)
    if not adm.allowed:
        raise DomainError(adm.reason)
    number = (session.scalar(select(func.max(Attempt.number)).where(
        Attempt.exam_id == exam.id, Attempt.user_id == user.id)) or 0) + 1
    rng = rng or random.SystemRandom()
    drawn = papers.draw_paper(session, exam, rng)
    deadline = min(now + dt.timedelta(minutes=exam.duration_minutes), exam.closes_at)
    attempt = Attempt(exam_id=exam.id, user_id=user.id, enrollment_id=adm.enrollment.id, number=number,
                      status=AttemptStatus.open, started_at=now, deadline_at=deadline)
    try:
        with session.begin_nested():
            session.add(attempt)
            session.flush()
    except IntegrityError:
        # Another request started this trainee's attempt first (same number, or an open one): use it.
        other = open_attempt(session, exam, user) or session.scalar(select(Attempt).where(
            Attempt.exam_id == exam.id, Attempt.user_id == user.id, Attempt.number == number))
        if other is None:
            raise
        return other
    # One multi-row INSERT for the paper instead of a unit of work over ~80 objects: at the exam bell every
    # trainee starts at once, and on SQLite the starts queue for the write lock, so each one's write is kept short
    # (the benchmark's 500 simultaneous starts: about half the time per start).
    session.execute(insert(AttemptQuestion), [
        {"attempt_id": attempt.id, "question_id": q.id, "position": pos, "section_title": section.title,
         "type": q.type, "stem": q.stem, "options": papers.shuffled_options(q, exam.shuffle, rng),
         "answer": list(q.answer), "reference_answer": q.reference_answer, "explanation": q.explanation,
         "knowledge_point": q.knowledge_point, "points": section.points_each}
        for pos, (section, q) in enumerate(drawn, start=1)])
    attempt.max_points = sum(s.count * s.points_each for s in exam.sections)
    session.flush()
    session.refresh(attempt)
    return attempt


def get_own_attempt(session: Session, user, attempt_id: int) -> Attempt:
    """The trainee's own attempt; anyone else's is 'not found' (and audited by get_visible)."""
    from lms.scoping import get_visible

    attempt = get_visible(session, Attempt, attempt_id, user)
    if attempt.user_id != user.id:
        raise NotFound(_("记录不存在或无权查看"))
    return attempt


# ------------------------------------------------------------------ answering
@dataclass
class SaveResult:
    question_id: int  # AttemptQuestion id
    saved: bool  # False: a newer answer (higher seq) was already stored, and is returned here
    seq: int
    selected: list[str]
    text: str


def _clean_answer(aq: AttemptQuestion, selected, text) -> tuple[list[str], str]:
    if aq.type.is_choice:
        chosen = sorted({str(s) for s in (selected or [])})
        valid = {o["id"] for o in aq.options}
        if any(c not in valid for c in chosen):
            raise ValidationFailed({"selected": _("第 %(n)d 题：选项不存在", n=aq.position)})
        if aq.type in (QuestionType.single, QuestionType.true_false) and len(chosen) > 1:
            raise ValidationFailed({"selected": _("第 %(n)d 题只能选一个选项", n=aq.position)})
        return chosen, ""
    text = (text or "").strip()
    if len(text) > 5000:
        raise ValidationFailed({"text": _("第 %(n)d 题：答案不能超过 5000 字", n=aq.position)})
    return [], text


def _upsert(session: Session, values: dict):
    """INSERT … ON CONFLICT (attempt, question) DO UPDATE … WHERE stored seq < new seq: one statement, so
    two writers of the same answer cannot lose the newer one, on SQLite and PostgreSQL alike."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the product runs on these two
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = insert(Answer).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Answer.attempt_id, Answer.attempt_question_id],
        set_={"seq": stmt.excluded.seq, "selected": stmt.excluded.selected, "text": stmt.excluded.text,
              "saved_at": stmt.excluded.saved_at},
        where=Answer.seq < stmt.excluded.seq,
    )
    session.execute(stmt)


def save_answer(session: Session, user, attempt: Attempt, attempt_question_id: int, *, selected=None,
                text: str | None = None, seq: int, now: dt.datetime | None = None) -> SaveResult:
    """Store the trainee's answer to one question of their open attempt, if ``seq`` is newer than the stored
    one. Refused: someone else's attempt, a question not on this paper, unknown options, a finished attempt,
    and anything after the deadline plus the grace."""
    now = now or utcnow()
    if attempt.user_id != user.id:
        raise NotFound(_("记录不存在或无权查看"))
    aq = session.scalar(select(AttemptQuestion).where(AttemptQuestion.id == attempt_question_id,
                                                      AttemptQuestion.attempt_id == attempt.id))
    if aq is None:
        raise ValidationFailed({"question": _("该题不在您的试卷上")})
    try:
        seq = int(seq)
    except (TypeError, ValueError):
        raise ValidationFailed({"seq": _("序号无效")})
    if not 0 < seq < 2**31:
        raise ValidationFailed({"seq": _("序号无效")})
    chosen, text = _clean_answer(aq, selected, text)
    if now > attempt.deadline_at + GRACE:
        raise Conflict(_("考试时间已到，这次作答没有被接受"))
    # Take the attempt's row (PostgreSQL row lock / SQLite write lock) while it is still open: a finish
    # running at the same moment either sees this answer or refuses it, never half of it.
    still_open = session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.open)
        .values(status=AttemptStatus.open).execution_options(synchronize_session=False))
    if still_open.rowcount != 1:
        raise Conflict(_("本次考试已交卷，答案不能再修改"))
    _upsert(session, {"attempt_id": attempt.id, "attempt_question_id": aq.id, "seq": seq, "selected": chosen,
                      "text": text, "saved_at": now})
    row = session.execute(select(Answer.seq, Answer.selected, Answer.text).where(
        Answer.attempt_id == attempt.id, Answer.attempt_question_id == aq.id)).one()
    return SaveResult(aq.id, row.seq == seq and list(row.selected or []) == chosen and (row.text or "") == text,
                      row.seq, list(row.selected or []), row.text or "")


def saved_answers(session: Session, attempt: Attempt) -> dict[int, Answer]:
    """The attempt's stored answers by paper question id (what a reload or a second tab shows)."""
    return {a.attempt_question_id: a for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))}


def save_form_answers(session: Session, user, attempt: Attempt, form: dict[int, tuple[list[str], str, int]],
                      now: dt.datetime | None = None) -> list[int]:
    """The no-script path: the whole page posted at once. ``form`` maps question id to (selected, text, the
    seq the page was rendered with). Unchanged answers are left alone; changed ones are saved with the next
    seq, so a page older than an answer saved elsewhere loses to it. Returns the positions that lost."""
    current = saved_answers(session, attempt)
    lost: list[int] = []
    for aq in attempt.questions:
        if aq.id not in form:
            continue
        selected, text, seen = form[aq.id]
        chosen, text = _clean_answer(aq, selected, text)
        stored = current.get(aq.id)
        if stored is None and not chosen and not text:
            continue
        if stored is not None and list(stored.selected or []) == chosen and (stored.text or "") == text:
            continue
        res = save_answer(session, user, attempt, aq.id, selected=chosen, text=text, seq=max(seen, 0) + 1, now=now)
        if not res.saved:
            lost.append(aq.position)
    return lost


# ------------------------------------------------------------------ finishing
def finish_attempt(session: Session, attempt: Attempt, *, now: dt.datetime | None = None,
                   status: AttemptStatus = AttemptStatus.submitted) -> bool:
    """Close the attempt and grade it, once: the UPDATE only matches while it is open, so of any number of
    simultaneous submits (or a submit and the job) exactly one grades. Returns True for that one."""
    now = now or utcnow()
    finished_at = min(now, attempt.deadline_at) if status == AttemptStatus.expired else now
    res = session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.open)
        .values(status=status, finished_at=finished_at).execution_options(synchronize_session=False))
    session.refresh(attempt)
    if res.rowcount != 1:
        return False
    grading.auto_grade(session, attempt)
    return True


def submit(session: Session, user, attempt: Attempt, now: dt.datetime | None = None) -> Attempt:
    """The trainee hands in. Submitting again (another tab, a double click) changes nothing and shows the
    same result. Past the deadline plus grace the attempt closes as expired with what was saved in time."""
    now = now or utcnow()
    if attempt.user_id != user.id:
        raise NotFound(_("记录不存在或无权查看"))
    late = now > attempt.deadline_at + GRACE
    finish_attempt(session, attempt, now=now, status=AttemptStatus.expired if late else AttemptStatus.submitted)
    return attempt


def close_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Close and grade every attempt still open past its deadline plus grace. Idempotent."""
    now = now or utcnow()
    ids = list(session.scalars(select(Attempt.id).where(Attempt.status == AttemptStatus.open,
                                                        Attempt.deadline_at < now - GRACE)))
    closed = 0
    for attempt_id in ids:
        attempt = session.get(Attempt, attempt_id)
        if finish_attempt(session, attempt, now=now, status=AttemptStatus.expired):
            closed += 1
    return closed


def review_open(attempt: Attempt, now: dt.datetime | None = None) -> bool:
    """May the trainee see correct answers and explanations? Never while the attempt is open."""
    now = now or utcnow()
    if attempt.status == AttemptStatus.open:
        return False
    policy = attempt.exam.review_policy
    if policy == ReviewPolicy.after_submit:
        return True
    if policy == ReviewPolicy.after_close:
        return now >= attempt.exam.closes_at
    return False


# ------------------------------------------------------------------ boundary helper
def with_retry(session: Session, fn: Callable[[], T], tries: int = 8) -> T:
    """Run ``fn`` and commit, retrying when SQLite reports the database busy (a writer that read before
    another committed must start over); PostgreSQL waits on row locks instead and never gets here.
    For request and job boundaries only: services themselves never commit."""
    for i in range(tries):
        try:
            result = fn()
            session.commit()
            return result
        except OperationalError as exc:
            session.rollback()
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower() or i == tries - 1:
                raise
            time.sleep(0.02 * (i + 1) + random.random() * 0.03)
    raise AssertionError("unreachable")
