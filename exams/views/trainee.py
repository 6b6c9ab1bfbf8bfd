"""The trainee's side: the exams open to them, starting (or resuming) an attempt, the attempt page (script or
not), the background save, handing in, the result. The hot paths (start, save, submit) read first and write in
one short ``lms.db.write_phase``, which retries when SQLite is busy or PostgreSQL reports a serialization
failure; the writes re-check what the reads decided (conditional UPDATEs, unique indexes)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exams import attempts as svc
from exams import integrity, queries
from exams.models import Attempt, AttemptStatus, Exam
from exams.services import can_retry
from exams.views import bp, reading_first
from lms.auth.models import User
from lms.auth.services import SEEN_EVERY, touch_session
from lms.auth.views import roles_required
from lms.bodylimit import body_limit
from lms.db import db, utcnow, write_phase
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.forms import submit as run_submit
from lms.scoping import get_from
from lms.templating import paginate


@bp.route("/my")
@roles_required(Role.trainee)
def my_exams():
    """The trainee's exams with their attempts and, when none is open, whether they may start one now."""
    page = paginate(db.session, queries.exams_for_trainee(db.session, current_user))
    rows = queries.my_exam_rows(db.session, current_user, page.items, utcnow())
    return render_template("exams/my_exams.html", page=page, rows=rows)


def _exam_for_trainee(exam_id: int) -> Exam:
    """One of the trainee's exams, or 404 (with an access_denied event when the exam exists: issue 18)."""
    return get_from(db.session, queries.exams_for_trainee(db.session, current_user), Exam, exam_id, current_user)


def _start_or_resume(exam: Exam, plan, user=None) -> Attempt:
    """The open attempt if it still runs; else (admitted) a new one, written in the write phase."""
    if isinstance(plan, Attempt):
        return plan
    user = user or current_user
    return write_phase(db.session, lambda: svc.begin_attempt(db.session, user, exam, plan))


@dataclass(frozen=True)
class SignedInTrainee:
    """The signed-in trainee as the hot paths know them when they checked the login with a statement of their
    own instead of loading the user (``attempts.signed_in_trainee``, ``attempts.save_answer_signed_in``): what
    the start's services read of a user (id, role) and what the request log reads (``g._login_user``)."""

    id: int
    session_id: str
    role: Role = Role.trainee
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.session_id


def strong_protection(app) -> bool:
    """Flask-Login's "strong" session protection is on: it may end a login whose address or browser changed, and
    only its loader does that, so no hot path may check the login with a statement of its own."""
    return app.config.get("SESSION_PROTECTION", app.login_manager.session_protection) == "strong"


def _login_session_id() -> str | None:
    """The login session id the session cookie names, when a hot path may check it with a statement of its own:
    not once the user is loaded, and not under ``strong_protection``."""
    session_id = session.get("_user_id")
    if not isinstance(session_id, str) or "_login_user" in g or strong_protection(current_app):
        return None
    return session_id


def _signed_in_trainee() -> SignedInTrainee | None:
    """The trainee signed in with this request's login session, checked with one Core statement
    (``attempts.signed_in_trainee``) instead of loading the user: for the exam start, which needs the id only.
    None (no login cookie, the user already loaded, Flask-Login's "strong" protection, not a live trainee login):
    the caller takes the ordinary path. The session's last use is noted when due, as the loader does."""
    session_id = _login_session_id()
    if session_id is None:
        return None
    cfg, now = current_app.config, utcnow()
    found = svc.signed_in_trainee(db.session, session_id, now, cfg["SESSION_IDLE_SECONDS"],
                                  cfg["SESSION_ABSOLUTE_SECONDS"])
    if found is None:
        return None
    user_id, last_seen = found
    if now - last_seen > SEEN_EVERY:
        db.defer_write(lambda s: touch_session(s, session_id, now))
    return SignedInTrainee(user_id, session_id)


# The start's form carries its CSRF token only. Declared, so that the body cap does not load the user
# (``lms.bodylimit``: an undeclared route's cap depends on whether someone is signed in).
START_MAX_BYTES = 4 * 1024


@bp.route("/<int:exam_id>/start", methods=["POST"])
@body_limit(START_MAX_BYTES)
@reading_first
def start(exam_id: int):
    """Start the trainee's next attempt (or come back to the open one); refused when not admitted. The login is
    one Core statement (``_signed_in_trainee``), the read phase one statement (``attempts.load_start``); an exam
    that is not the trainee's is 404 as before, through the trainee's exam list with the user loaded."""
    trainee = _signed_in_trainee()
    if trainee is None:
        return _start_loaded(exam_id)
    g._login_user = trainee  # current_user for the rest of the request: the views below use its id only

    def plan():
        found = svc.load_start(db.session, trainee, exam_id)
        if found is None:
            # 404, with the access_denied event when the exam exists; it is found only if it became the
            # trainee's since the read above (an enrolment approved meanwhile): then plan on it.
            user = db.session.get(User, trainee.id)
            user.current_session_id = trainee.session_id
            exam = get_from(db.session, queries.exams_for_trainee(db.session, user), Exam, exam_id, user)
            found = exam, svc.plan_start(db.session, user, exam)
        return _start_or_resume(*found, user=trainee)

    return run_submit(None, plan, redirect_to=lambda att: url_for("exams.attempt", attempt_id=att.id)
                      ) or redirect(url_for("exams.my_exams"))


@roles_required(Role.trainee)
def _start_loaded(exam_id: int):
    """The start with the user loaded (Flask-Login), for whatever ``_signed_in_trainee`` did not accept."""
    def plan():
        found = svc.load_start(db.session, current_user, exam_id)
        if found is None:
            exam = _exam_for_trainee(exam_id)
            found = exam, svc.plan_start(db.session, current_user, exam)
        return _start_or_resume(*found)

    return run_submit(None, plan, redirect_to=lambda att: url_for("exams.attempt", attempt_id=att.id)
                      ) or redirect(url_for("exams.my_exams"))


def _posted_answers(att: Attempt) -> dict[int, tuple[list[str], str, int]]:
    """The no-script page's answers: question id → (selected, text, the seq the page was rendered with)."""
    return {aq.id: (request.form.getlist(f"q-{aq.id}"), request.form.get(f"t-{aq.id}", ""),
                    request.form.get(f"s-{aq.id}", type=int) or 0) for aq in att.questions}


def _save_page(att: Attempt):
    """The whole page posted at once: save what changed; hand in if asked; past the deadline, hand in what was
    saved in time."""
    result, again = url_for("exams.attempt_result", attempt_id=att.id), url_for("exams.attempt", attempt_id=att.id)
    if att.status != AttemptStatus.open:
        flash(_("本次考试已交卷，答案不能再修改"), "warning")
        return redirect(result)
    form = _posted_answers(att)
    try:
        lost = write_phase(db.session, lambda: svc.save_form_answers(db.session, current_user, att, form))
    except ValidationFailed as exc:
        flash(exc.message, "danger")
        return redirect(again)
    except DomainError as exc:  # past the deadline: what was saved in time is graded
        flash(exc.message, "warning")
        write_phase(db.session, lambda: svc.submit(db.session, current_user, att))
        return redirect(result)
    if lost:
        flash(_("第 %(n)s 题已在另一个页面作答过更新的答案，本页的修改未保存，请核对", n="、".join(map(str, lost))), "warning")
        return redirect(again)
    if request.form.get("action") == "submit":
        write_phase(db.session, lambda: svc.submit(db.session, current_user, att))
        return redirect(result)
    flash(_("答案已保存"), "success")
    return redirect(again)


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@roles_required(Role.trainee)
def attempt(attempt_id: int):
    """The attempt page (GET), or the no-script page posted whole (POST); a finished attempt shows its result."""
    att = svc.get_own_attempt(db.session, current_user, attempt_id)
    if request.method == "POST":
        return _save_page(att)
    if att.status == AttemptStatus.open and utcnow() > att.deadline_at + svc.GRACE:
        write_phase(db.session, lambda: svc.finish_attempt(db.session, att, status=AttemptStatus.expired))
    if att.status != AttemptStatus.open:
        return redirect(url_for("exams.attempt_result", attempt_id=att.id))
    answers = svc.saved_answers(db.session, att)
    return render_template("exams/attempt.html", attempt=att, exam=att.exam, answers=answers, now=utcnow(),
                           answered=sum(1 for a in answers.values() if a.selected or a.text),
                           watermark=integrity.watermark(current_user))


def _answer_body() -> tuple[int, list, str, object]:
    """The background save's JSON ``{question, selected, text, seq}``, checked for shape."""
    return answer_fields(request.get_json(silent=True))


def answer_fields(body) -> tuple[int, list, str, object]:
    """``(question, selected, text, seq)`` of the background save's parsed JSON body (None: not JSON), checked for
    shape (``ValidationFailed``); the view's and the WSGI-level path's (``exams.fastpath``)."""
    if not isinstance(body, dict):
        raise ValidationFailed({"_body": _("请求体须为 JSON 对象")})
    selected = body.get("selected") or []
    if not isinstance(selected, list):
        raise ValidationFailed({"selected": _("选项格式无效")})
    try:
        qid = int(body.get("question"))
    except (TypeError, ValueError):
        raise ValidationFailed({"question": _("该题不在您的试卷上")})
    return qid, selected, body.get("text") or "", body.get("seq")


# The background save's body: one answer of at most 5,000 characters (``attempts._clean_choice``), 30 KB even
# with every character escaped as \uXXXX, and its options. Declared, so that the body cap does not load the user
# (``lms.bodylimit``: an undeclared route's cap depends on whether someone is signed in).
ANSWER_MAX_BYTES = 64 * 1024


def answer_json(res: svc.SaveResult):
    """The background save's answer: the stored answer, and the attempt's deadline (the server's)."""
    return jsonify({"question": res.question_id, "saved": res.saved, "seq": res.seq, "selected": res.selected,
                    "text": res.text, "deadline": res.deadline.isoformat()})


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@body_limit(ANSWER_MAX_BYTES)
@reading_first
def save_answer(attempt_id: int):
    """The background save: JSON in, the stored answer out. The login is checked in the statement that takes
    the attempt's row (``attempts.save_answer_signed_in``: a live session of the trainee who owns this open
    attempt), without loading the user; CSRF is checked before, as for every POST. Anything else (no login, not
    a trainee, not theirs, closed, a body of the wrong shape) takes the ordinary path, which says why."""
    session_id = _login_session_id()
    if session_id is not None:
        try:
            qid, selected, text, seq = _answer_body()
        except ValidationFailed:
            qid = None
        if qid is not None:
            found = save_signed_in(session_id, attempt_id, qid, selected, text, seq)
            if found is not None:
                g._login_user = SignedInTrainee(found[0], session_id)
                return answer_json(found[1])
    return _save_answer_loaded(attempt_id)


def save_signed_in(session_id: str, attempt_id: int, qid: int, selected, text, seq) -> tuple | None:
    """The save for the login session ``session_id``, checked in the guard (``attempts.save_answer_signed_in``),
    written and committed: ``(user id, result)``, or None (nothing written) for the path with the user loaded."""
    cfg = current_app.config
    return write_phase(db.session, lambda: svc.save_answer_signed_in(
        db.session, session_id, attempt_id, qid, idle_seconds=cfg["SESSION_IDLE_SECONDS"],
        absolute_seconds=cfg["SESSION_ABSOLUTE_SECONDS"], selected=selected, text=text, seq=seq))


@roles_required(Role.trainee)
def _save_answer_loaded(attempt_id: int):
    """The save with the user loaded (Flask-Login), for whatever the signed-in path did not accept."""
    qid, selected, text, seq = _answer_body()
    res = write_phase(db.session, lambda: svc.save_answer(db.session, current_user, attempt_id, qid,
                                                          selected=selected, text=text, seq=seq))
    return answer_json(res)


@bp.route("/attempts/<int:attempt_id>/events", methods=["POST"])
@reading_first
@roles_required(Role.trainee)
def attempt_events(attempt_id: int):
    """The exam page's integrity log (JSON ``{events: [{seq, kind, at}]}``, resent until stored); answers how
    many departures count and whether the attempt was handed in for reaching the exam's limit."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed({"_body": _("请求体须为 JSON 对象")})
    rep = write_phase(db.session, lambda: integrity.record_events(db.session, current_user, attempt_id,
                                                                  body.get("events"), utcnow()))
    return jsonify({"departures": rep.departures, "limit": rep.limit, "submitted": rep.submitted,
                    "result": url_for("exams.attempt_result", attempt_id=attempt_id) if rep.submitted else None})


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@reading_first
@roles_required(Role.trainee)
def submit(attempt_id: int):
    """Hand in (once: a second submit changes nothing) and show the result."""
    write_phase(db.session, lambda: svc.submit(db.session, current_user, attempt_id))
    return redirect(url_for("exams.attempt_result", attempt_id=attempt_id))


@bp.route("/attempts/<int:attempt_id>/result")
@roles_required(Role.trainee)
def attempt_result(attempt_id: int):
    """The attempt's result, the review when the exam's policy allows it, and the retry when admitted."""
    att = svc.get_own_attempt(db.session, current_user, attempt_id)
    if att.status == AttemptStatus.open:
        return redirect(url_for("exams.attempt", attempt_id=att.id))
    review = svc.review_open(att)
    return render_template("exams/result.html", attempt=att, exam=att.exam, review=review,
                           answers=svc.saved_answers(db.session, att) if review else {},
                           can_retry=can_retry(db.session, att.exam, current_user))
