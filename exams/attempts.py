"""Sitting an exam: who is admitted, starting (or resuming) an attempt, saving answers as they are given,
and finishing exactly once — by the trainee, or by the scheduled job once the deadline has passed.

The deadline is the server's: ``min(start + duration, window close)``. Answers arriving later than the
deadline plus ``GRACE`` are refused whatever the client's timer said; the grace covers the network only.
"""
from __future__ import annotations

import datetime as dt
import random
import weakref
from collections import namedtuple
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, case, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached

from exams import grading, papers
from exams.models import Answer, Attempt, AttemptQuestion, AttemptStatus, Exam, ExamStatus, QuestionType, ReviewPolicy
from exams.services import decide, read_facts
from lms.auth.models import User, UserSession
from lms.auth.services import SEEN_EVERY, live_session_params, live_session_users, touch_session
from lms.db import UTCDateTime, utcnow
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from lms.rawsql import KeptReturning
from lms.scoping import get_visible

_A, _AQ, _ANS = Attempt.__table__, AttemptQuestion.__table__, Answer.__table__
GRACE = dt.timedelta(seconds=30)  # at most 60 s by the rules; covers the request's trip only


# ------------------------------------------------------------------ the open attempt
def open_attempt(session: Session, exam: Exam, user) -> Attempt | None:
    """The trainee's attempt of this exam that is still open, if any (there is at most one)."""
    return session.scalar(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id,
                                                Attempt.status == AttemptStatus.open))


# ------------------------------------------------------------------ starting
@dataclass
class StartPlan:
    """What a start decided while reading (``plan_start``); ``begin_attempt`` writes it."""

    enrollment_id: int
    number: int
    expire_id: int | None = None  # an open attempt past its deadline, to close first


def plan_start(session: Session, user, exam: Exam, now: dt.datetime | None = None) -> Attempt | StartPlan:
    """The reading half of a start: the trainee's open attempt if it is still running (a second tab, a reload,
    a lost connection all come back to it), else what to create; refused (``DomainError``) when not admitted.
    Writes nothing, so that a request may read before it takes SQLite's write lock. One statement."""
    now = now or utcnow()
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员可以参加考试"))
    _exam, current, facts = read_facts(session, user.id, exam.id, now)
    return plan_from(user, exam, current, facts, now)


def load_start(session: Session, user, exam_id: int, now: dt.datetime | None = None):
    """The exam start's read phase in one statement (``exams.services.read_facts``): ``(exam, plan)`` with the
    plan as ``plan_start`` gives it, or None when the exam is not one of the trainee's (missing, unpublished or
    not for an approved enrolment of theirs: the view answers 404 through the trainee's exam list, as before)."""
    now = now or utcnow()
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员可以参加考试"))
    found = read_facts(session, user.id, exam_id, now)
    if found is None:
        return None
    exam, current, facts = found
    if exam.status != ExamStatus.published or facts.enrollment_id is None:
        return None
    return exam, plan_from(user, exam, current, facts, now)


def plan_from(user, exam: Exam, current: Attempt | None, facts, now: dt.datetime) -> Attempt | StartPlan:
    """``plan_start``'s decision on what was read: resume the running attempt, or admit (``decide``) and plan."""
    if current is not None and now <= current.deadline_at + GRACE:
        return current
    adm = decide(exam, facts, now)
    if not adm.allowed:
        if current is None:
            raise DomainError(adm.reason)
        # The open attempt past its deadline still counts among the attempts used: close it, then decide.
        return StartPlan(adm.enrollment_id or 0, 0, current.id)
    return StartPlan(adm.enrollment_id, adm.next_number, current.id if current is not None else None)


def start_attempt(session: Session, user, exam: Exam, now: dt.datetime | None = None,
                  rng: random.Random | None = None) -> Attempt:
    """Start the trainee's next attempt, or return the open one. Two starts at once create one attempt: the
    unique (exam, user, number) and the one-open-attempt index refuse the second insert, which then returns
    the first's attempt."""
    now = now or utcnow()
    plan = plan_start(session, user, exam, now)
    if isinstance(plan, Attempt):
        return plan
    return begin_attempt(session, user, exam, plan, now, rng)


def begin_attempt(session: Session, user, exam: Exam, plan: StartPlan, now: dt.datetime | None = None,
                  rng: random.Random | None = None) -> Attempt:
    """The writing half of a start: close an expired open attempt if the plan says so (and decide again), then
    insert the attempt and its paper — a prepared one when one waits, else drawn now."""
    now = now or utcnow()
    if plan.expire_id is not None:
        expired = session.get(Attempt, plan.expire_id)
        finish_attempt(session, expired, now=now, status=AttemptStatus.expired)
        plan = plan_start(session, user, exam, now)
        if isinstance(plan, Attempt):
            return plan
    number = plan.number
    deadline = min(now + dt.timedelta(minutes=exam.duration_minutes), exam.closes_at)
    # A paper drawn ahead of the bell (job exams.prepare_papers), when one waits: the start then only inserts
    # the attempt and copies the paper inside the database. Otherwise the paper is drawn now.
    prepared = papers.claimable_paper(session, exam.id) if rng is None else None
    drawn = None
    if prepared is None:
        rng = rng or random.SystemRandom()
        drawn = papers.draw_paper(session, exam, rng)
    values = {"exam_id": exam.id, "user_id": user.id, "enrollment_id": plan.enrollment_id, "number": number,
              "status": AttemptStatus.open, "started_at": now, "deadline_at": deadline, "finished_at": None,
              "max_points": prepared.max_points if prepared is not None
              else sum(section.points_each for section, _q in drawn),
              "points": None, "score": None, "passed": None, "grading_complete": False}
    conn = session.connection()
    attempt_id = conn.scalar(_insert_attempt_statement(conn.dialect.name), values)
    if attempt_id is None:
        # Another request started this trainee's attempt first (same number, or an open one): use it.
        other = open_attempt(session, exam, user) or session.scalar(select(Attempt).where(
            Attempt.exam_id == exam.id, Attempt.user_id == user.id, Attempt.number == number))
        if other is None:  # that attempt was closed meanwhile: the trainee starts again
            raise Conflict(_("考试正在由另一个页面开始，请刷新后重试"))
        return other
    # The row is written: the object is made persistent without reading it back (every column is known).
    attempt = Attempt(id=attempt_id, **values)
    make_transient_to_detached(attempt)
    session.add(attempt)
    if prepared is None or not papers.claim_paper(session, prepared.id, attempt.id):
        if drawn is None:  # the paper was taken meanwhile (cannot happen under the row lock or SQLite's lock)
            rng = random.SystemRandom()
            drawn = papers.draw_paper(session, exam, rng)
        # One multi-row INSERT (Core, on the session's connection) for the paper instead of a unit of work over
        # ~80 objects: at the bell every trainee starts at once, and on SQLite the starts queue for the write lock.
        session.connection().execute(insert(_AQ), [{"attempt_id": attempt.id, **row}
                                                   for row in papers.paper_rows(exam, drawn, rng)])
    session.expire(attempt, ["questions"])  # loaded when read (the page), not here
    return attempt


_INSERT_ATTEMPTS: dict[str, object] = {}


def _insert_attempt_statement(dialect: str):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id of an attempt: a second start of the same trainee at the same
    moment meets the unique (exam, user, number) or the one-open-attempt index and inserts nothing, without the
    savepoint (two more round trips on PostgreSQL) and the ORM flush the insert took before. Built once."""
    stmt = _INSERT_ATTEMPTS.get(dialect)
    if stmt is None:
        dialect_insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
        stmt = _INSERT_ATTEMPTS[dialect] = dialect_insert(_A).on_conflict_do_nothing().returning(_A.c.id)
    return stmt


def get_own_attempt(session: Session, user, attempt_id: int) -> Attempt:
    """The trainee's own attempt; anyone else's is 'not found' (and audited by get_visible)."""
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
    deadline: dt.datetime | None = None  # the attempt's deadline (the server's)


def _clean_choice(qtype: QuestionType, options: list, position: int, selected, text) -> tuple[list[str], str]:
    if qtype.is_choice:
        chosen = sorted({str(s) for s in (selected or [])})
        valid = {o["id"] for o in options}
        if any(c not in valid for c in chosen):
            raise ValidationFailed({"selected": _("第 %(n)d 题：选项不存在", n=position)})
        if qtype in (QuestionType.single, QuestionType.true_false) and len(chosen) > 1:
            raise ValidationFailed({"selected": _("第 %(n)d 题只能选一个选项", n=position)})
        return chosen, ""
    text = (text or "").strip()
    if len(text) > 5000:
        raise ValidationFailed({"text": _("第 %(n)d 题：答案不能超过 5000 字", n=position)})
    return [], text


def _clean_answer(aq: AttemptQuestion, selected, text) -> tuple[list[str], str]:
    return _clean_choice(aq.type, aq.options, aq.position, selected, text)


# The autosave is the busiest write of an exam (every click of every trainee). It is two statements, built once:
# 1. the attempt's row taken (PostgreSQL row lock; on SQLite the write lock is already held) while it is open and
#    the trainee's, returning its deadline and the question from the trainee's paper (scalar subqueries: NULL when
#    the question is not on this paper); a finish running at the same moment either sees the answer or refuses it;
# 2. the upsert that only replaces a lower ``seq``, RETURNING a row only when it wrote.
# Before: the ORM loads of the attempt and the paper question, the guard, the upsert rebuilt each call (its
# ``excluded`` collection alone ~0.9 ms) and a re-read: 5 statements and ~3.7 ms of Python a save in cProfile.
def _question_col(col):
    return select(col).where(_AQ.c.id == bindparam("qid"), _AQ.c.attempt_id == bindparam("aid")).scalar_subquery()


_SAVE_GUARD = (
    update(_A).where(_A.c.id == bindparam("aid"), _A.c.user_id == bindparam("uid"), _A.c.status == AttemptStatus.open)
    .values(status=_A.c.status)
    .returning(_A.c.deadline_at, _question_col(_AQ.c.type).label("type"),
               _question_col(_AQ.c.options).label("options"), _question_col(_AQ.c.position).label("position")))
_STORED_ANSWER = select(_ANS.c.seq, _ANS.c.selected, _ANS.c.text).where(
    _ANS.c.attempt_id == bindparam("aid"), _ANS.c.attempt_question_id == bindparam("qid"))
_UPSERTS: dict[str, object] = {}


def _upsert_statement(dialect: str):
    """INSERT … ON CONFLICT (attempt, question) DO UPDATE … WHERE stored seq < new seq RETURNING seq: one
    statement, so two writers of the same answer cannot lose the newer one, on SQLite and PostgreSQL alike.
    A row comes back only when this call wrote. Built once per dialect."""
    stmt = _UPSERTS.get(dialect)
    if stmt is not None:
        return stmt
    dialect_insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    if dialect_insert is None:  # pragma: no cover - the product runs on these two
        raise RuntimeError(f"unsupported database {dialect}")
    ins = dialect_insert(_ANS).values(
        attempt_id=bindparam("aid"), attempt_question_id=bindparam("qid"), seq=bindparam("p_seq"),
        selected=bindparam("p_selected", type_=_ANS.c.selected.type), text=bindparam("p_text"),
        saved_at=bindparam("p_saved_at", type_=UTCDateTime()))
    stmt = ins.on_conflict_do_update(
        index_elements=[_ANS.c.attempt_id, _ANS.c.attempt_question_id],
        set_={"seq": ins.excluded.seq, "selected": ins.excluded.selected, "text": ins.excluded.text,
              "saved_at": ins.excluded.saved_at},
        where=_ANS.c.seq < ins.excluded.seq,
    ).returning(_ANS.c.seq)
    _UPSERTS[dialect] = stmt
    return stmt


def _refuse_save(session: Session, user, attempt: Attempt | int, now: dt.datetime):
    """The guard matched nothing: say why (not theirs or not there: 404, audited; past the deadline; closed)."""
    att = attempt if isinstance(attempt, Attempt) else get_own_attempt(session, user, attempt)
    if att.user_id != user.id:
        raise NotFound(_("记录不存在或无权查看"))
    if now > att.deadline_at + GRACE:
        raise Conflict(_("考试时间已到，这次作答没有被接受"))
    raise Conflict(_("本次考试已交卷，答案不能再修改"))


def save_answer(session: Session, user, attempt: Attempt | int, attempt_question_id: int, *, selected=None,
                text: str | None = None, seq: int, now: dt.datetime | None = None) -> SaveResult:
    """Store the trainee's answer to one question of their open attempt (the object or its id), if ``seq`` is
    newer than the stored one. Refused: someone else's attempt, a question not on this paper, unknown options,
    a finished attempt, and anything after the deadline plus the grace."""
    now = now or utcnow()
    attempt_id = attempt.id if isinstance(attempt, Attempt) else int(attempt)
    qid = _question_id(attempt_question_id)
    conn = session.connection()
    row = conn.execute(_SAVE_GUARD, {"aid": attempt_id, "uid": user.id, "qid": qid}).first()
    if row is None:
        _refuse_save(session, user, attempt, now)
    return _store_answer(session, row, attempt_id, qid, selected, text, seq, now)


def _question_id(attempt_question_id) -> int:
    try:
        return int(attempt_question_id)
    except (TypeError, ValueError):
        raise ValidationFailed({"question": _("该题不在您的试卷上")})


def _store_answer(session: Session, row, attempt_id: int, qid: int, selected, text, seq,
                  now: dt.datetime) -> SaveResult:
    """The save once the guard has taken the attempt's row (``row``: its deadline and the paper's question)."""
    if row.type is None:
        raise ValidationFailed({"question": _("该题不在您的试卷上")})
    try:
        seq = int(seq)
    except (TypeError, ValueError):
        raise ValidationFailed({"seq": _("序号无效")})
    if not 0 < seq < 2**31:
        raise ValidationFailed({"seq": _("序号无效")})
    chosen, text = _clean_choice(row.type, row.options, row.position, selected, text)
    if now > row.deadline_at + GRACE:
        raise Conflict(_("考试时间已到，这次作答没有被接受"))
    if _kept(session).upsert.run(session, {"aid": attempt_id, "qid": qid, "p_seq": seq, "p_selected": chosen,
                                           "p_text": text, "p_saved_at": now}):
        return SaveResult(qid, True, seq, chosen, text, row.deadline_at)
    stored = session.connection().execute(_STORED_ANSWER, {"aid": attempt_id, "qid": qid}).one()
    return SaveResult(qid, stored.seq == seq and list(stored.selected or []) == chosen and (stored.text or "") == text,
                      stored.seq, list(stored.selected or []), stored.text or "", row.deadline_at)


# The autosave as the exam page sends it (issue 20): of a save's ~3 ms of CPU, loading the signed-in user through
# the ORM (the session row joined to the user, in a read transaction of its own) was a third, for a request that
# needs only "a live login of the trainee who owns this attempt". This guard asks exactly that inside its own
# WHERE: the attempt is open and its owner is the user of a live session (``lms.auth.services.live_session_users``:
# the session loader's rule in SQL — not ended, not idle, not too old, the account enabled) who is a trainee. It
# returns the session's last-seen time, so that the coarse last-seen write happens in the same transaction when due.
# No row: the caller takes the ordinary path (the login loaded, the role checked, the refusal explained).
_LAST_SEEN = select(UserSession.last_seen_at).where(UserSession.id == bindparam("session_id")).scalar_subquery()
_SAVE_GUARD_SIGNED_IN = (
    update(_A).where(_A.c.id == bindparam("aid"), _A.c.status == AttemptStatus.open,
                     _A.c.user_id == live_session_users().where(User.role == Role.trainee).scalar_subquery())
    .values(status=_A.c.status)
    .returning(_A.c.deadline_at, _A.c.user_id, _question_col(_AQ.c.type).label("type"),
               _question_col(_AQ.c.options).label("options"), _question_col(_AQ.c.position).label("position"),
               _LAST_SEEN.label("last_seen_at")))


_SIGNED_IN_TRAINEE = live_session_users().add_columns(UserSession.last_seen_at).where(User.role == Role.trainee)


def signed_in_trainee(session: Session, session_id: str, now: dt.datetime, idle_seconds: int,
                      absolute_seconds: int) -> tuple[int, dt.datetime] | None:
    """``(user id, the session's last use)`` of the trainee signed in with the live login session ``session_id``
    (``lms.auth.services.live_session_users``: the session loader's rule), or None: one Core statement built
    once, for the exam start, which needs the trainee's id only (the ORM load of the session and the user was
    ~20 % of a start's CPU)."""
    row = session.execute(_SIGNED_IN_TRAINEE, live_session_params(session_id, now, idle_seconds,
                                                                  absolute_seconds)).first()
    return (row[0], row[1]) if row is not None else None


def save_answer_signed_in(session: Session, session_id: str, attempt_id: int, attempt_question_id: int, *,
                          idle_seconds: int, absolute_seconds: int, selected=None, text: str | None = None, seq,
                          now: dt.datetime | None = None) -> tuple[int, SaveResult] | None:
    """``save_answer`` for the trainee signed in with the login session ``session_id`` (the cookie's), checking
    the login in the guard statement instead of loading the user: ``(user id, result)``, or None when the guard
    matched nothing (no live trainee login owning this open attempt: the caller loads the user and calls
    ``save_answer``, which says why). Every other refusal is ``save_answer``'s."""
    now = now or utcnow()
    qid = _question_id(attempt_question_id)
    rows = _kept(session).guard.run(session, {"aid": int(attempt_id), "qid": qid, **live_session_params(
        session_id, now, idle_seconds, absolute_seconds)})
    if not rows:
        return None
    row = rows[0]
    if now - row.last_seen_at > SEEN_EVERY:
        touch_session(session, session_id, now)
    return row.user_id, _store_answer(session, row, int(attempt_id), qid, selected, text, seq, now)


# The save's two statements kept compiled (``lms.rawsql``) and run on the DB-API connection of the write transaction
# (issue 20): through ``Connection.execute`` each paid SQLAlchemy's per-execute work (cache key, compiled-cache
# lookup, execution context, result; with psycopg its per-statement adaptation too): bench.profile_exam, a save
# 2,400 -> 2,304 Python calls on SQLite, 2,552 -> 2,371 on PostgreSQL. The values bound and the rows read go through
# SQLAlchemy's own processors.
@dataclass(frozen=True)
class _KeptSave:
    guard: KeptReturning  # _SAVE_GUARD_SIGNED_IN, its rows as ``_GuardRow``
    upsert: KeptReturning  # _upsert_statement(dialect): a row when it wrote


_GuardRow = namedtuple("_GuardRow", [c.key for c in _SAVE_GUARD_SIGNED_IN.exported_columns])
_KEPT_SAVES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dialect -> _KeptSave


def _kept(session: Session) -> _KeptSave:
    """The save's kept statements for the session's dialect, compiled on first use in a process."""
    dialect = session.get_bind().dialect
    kept = _KEPT_SAVES.get(dialect)
    if kept is None:
        kept = _KEPT_SAVES[dialect] = _KeptSave(KeptReturning(_SAVE_GUARD_SIGNED_IN, dialect, make=_GuardRow._make),
                                                KeptReturning(_upsert_statement(dialect.name), dialect))
    return kept


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
# Closing is one conditional UPDATE (it only matches while the attempt is open, so of any number of simultaneous
# submits, or a submit and the job, exactly one closes), returning what grading needs; the status and finishing
# time are computed in SQL from the attempt's own deadline. Built once per kind of close.
_CLOSES: dict[str, object] = {}


def _close_statement(kind: str):
    stmt = _CLOSES.get(kind)
    if stmt is not None:
        return stmt
    status_type = _A.c.status.type
    expired, submitted = literal(AttemptStatus.expired, status_type), literal(AttemptStatus.submitted, status_type)
    now = bindparam("p_now", type_=UTCDateTime())
    if kind == "auto":  # the trainee hands in: late past the deadline plus grace closes as expired at the deadline
        late = _A.c.deadline_at < bindparam("p_cutoff", type_=UTCDateTime())
        values = {"status": case((late, expired), else_=submitted), "finished_at": case((late, _A.c.deadline_at), else_=now)}
    elif kind == "expired":
        values = {"status": expired, "finished_at": case((_A.c.deadline_at < now, _A.c.deadline_at), else_=now)}
    else:
        values = {"status": submitted, "finished_at": now}
    where = [_A.c.id == bindparam("aid"), _A.c.status == AttemptStatus.open]
    if kind == "auto":
        where.append(_A.c.user_id == bindparam("uid"))
    stmt = (update(_A).where(*where).values(**values)
            .returning(_A.c.exam_id, _A.c.user_id, _A.c.enrollment_id, _A.c.finished_at))
    _CLOSES[kind] = stmt
    return stmt


def _close_and_grade(session: Session, attempt_id: int, now: dt.datetime, kind: str, user_id: int | None = None) -> bool:
    """Close the attempt if it is still open (and, for ``auto``, the user's), then grade it. True for the one
    call that closed it."""
    params = {"aid": attempt_id, "p_now": now}
    if kind == "auto":
        params.update(uid=user_id, p_cutoff=now - GRACE)
    row = session.connection().execute(_close_statement(kind), params).first()
    if row is None:
        return False
    grading.grade_closed(session, attempt_id, row.exam_id, row.user_id, row.enrollment_id, row.finished_at)
    return True


def _reload(session: Session, attempt: Attempt) -> None:
    """The statements above bypass the ORM: bring the caller's objects of this attempt up to date."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Answer) and obj.attempt_id == attempt.id:
            session.expire(obj)
    session.refresh(attempt)


def finish_attempt(session: Session, attempt: Attempt, *, now: dt.datetime | None = None,
                   status: AttemptStatus = AttemptStatus.submitted) -> bool:
    """Close the attempt and grade it, once: the UPDATE only matches while it is open, so of any number of
    simultaneous submits (or a submit and the job) exactly one grades. Returns True for that one."""
    now = now or utcnow()
    closed = _close_and_grade(session, attempt.id, now, "expired" if status == AttemptStatus.expired else "submitted")
    _reload(session, attempt)
    return closed


def submit(session: Session, user, attempt: Attempt | int, now: dt.datetime | None = None) -> Attempt | int:
    """The trainee hands in (the attempt object or its id). Submitting again (another tab, a double click)
    changes nothing and shows the same result. Past the deadline plus grace the attempt closes as expired with
    what was saved in time."""
    now = now or utcnow()
    if isinstance(attempt, Attempt) and attempt.user_id != user.id:
        raise NotFound(_("记录不存在或无权查看"))
    attempt_id = attempt.id if isinstance(attempt, Attempt) else int(attempt)
    if not _close_and_grade(session, attempt_id, now, "auto", user.id) and not isinstance(attempt, Attempt):
        get_own_attempt(session, user, attempt_id)  # not theirs or not there: 404 (audited); else already closed
    if isinstance(attempt, Attempt):
        _reload(session, attempt)
    return attempt


def close_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Close and grade every attempt still open past its deadline plus grace. Idempotent."""
    now = now or utcnow()
    ids = list(session.scalars(select(Attempt.id).where(Attempt.status == AttemptStatus.open,
                                                        Attempt.deadline_at < now - GRACE)))
    closed = sum(1 for attempt_id in ids if _close_and_grade(session, attempt_id, now, "expired"))
    if closed:
        session.expire_all()  # attempts and answers loaded earlier in this session are stale
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
