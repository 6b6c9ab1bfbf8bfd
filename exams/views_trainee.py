"""The trainee's side: exams open to them, the attempt page (script or not), the result."""
from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from exams import attempts as svc
from exams.models import Attempt, AttemptStatus, Exam, ExamStatus
from exams.views import bp
from lms.auth.views import roles_required
from lms.db import db, reset_write_intent, set_write_intent, utcnow
from lms.domain import Role
from lms.errors import DomainError, NotFound, ValidationFailed
from lms.templating import paginate


# The exam's busiest requests (the start at the bell, the autosave, the submit) read first — the session and
# user, the admission — and write a few rows at the end. On SQLite a POST's transaction begins with BEGIN
# IMMEDIATE (lms.db), so the write lock would be held from the session look-up to the commit and every
# trainee's whole request would queue behind the others'. These requests read in a deferred transaction
# instead and take the lock only for their writes (``_write``); the writes re-check what they rely on
# (conditional UPDATEs, unique indexes). PostgreSQL is unaffected but for one more COMMIT.
_READ_FIRST = {"exams.start", "exams.save_answer", "exams.submit"}


@bp.before_request
def _read_first():
    if request.endpoint in _READ_FIRST:
        g.exams_read_first = set_write_intent(False)


def _write(fn):
    """End the reading transaction, then run ``fn`` and commit in a writing one (``with_retry``)."""
    if db.session.in_transaction():
        try:
            db.session.commit()  # normally nothing to write; the platform's coarse last-seen time at most
        except OperationalError:  # that write lost a race for SQLite's lock: it is best effort, drop it
            db.session.rollback()
    token = set_write_intent(True)
    try:
        return svc.with_retry(db.session, fn)
    finally:
        reset_write_intent(token)


@bp.route("/my")
@roles_required(Role.trainee)
def my_exams():
    page = paginate(db.session, svc.exams_for_trainee(db.session, current_user))
    now = utcnow()
    rows = []
    for exam in page.items:
        mine = list(db.session.scalars(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == current_user.id)
                                       .order_by(Attempt.number)))
        current = next((a for a in mine if a.status == AttemptStatus.open), None)
        rows.append({"exam": exam, "attempts": mine, "open": current,
                     "admission": None if current else svc.admission(db.session, exam, current_user, now)})
    return render_template("exams/my_exams.html", page=page, rows=rows)


def _exam_for_trainee(exam_id: int) -> Exam:
    exam = db.session.scalar(svc.exams_for_trainee(db.session, current_user).where(Exam.id == exam_id))
    if exam is None:
        raise NotFound(_("记录不存在或无权查看"))
    return exam


@bp.route("/<int:exam_id>/start", methods=["POST"])
@roles_required(Role.trainee)
def start(exam_id: int):
    exam = _exam_for_trainee(exam_id)
    try:
        plan = svc.plan_start(db.session, current_user, exam)
        attempt = plan if isinstance(plan, Attempt) else _write(
            lambda: svc.begin_attempt(db.session, current_user, exam, plan))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("exams.my_exams"))
    return redirect(url_for("exams.attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@roles_required(Role.trainee)
def attempt(attempt_id: int):
    att = svc.get_own_attempt(db.session, current_user, attempt_id)
    if request.method == "POST":
        form = {}
        for aq in att.questions:
            seen = request.form.get(f"s-{aq.id}", type=int) or 0
            form[aq.id] = (request.form.getlist(f"q-{aq.id}"), request.form.get(f"t-{aq.id}", ""), seen)
        submitting = request.form.get("action") == "submit"
        if att.status != AttemptStatus.open:
            flash(_("本次考试已交卷，答案不能再修改"), "warning")
            return redirect(url_for("exams.attempt_result", attempt_id=att.id))
        try:
            lost = svc.with_retry(db.session, lambda: svc.save_form_answers(db.session, current_user, att, form))
        except ValidationFailed as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("exams.attempt", attempt_id=att.id))
        except DomainError as exc:  # past the deadline: what was saved in time is graded
            db.session.rollback()
            flash(exc.message, "warning")
            svc.with_retry(db.session, lambda: svc.submit(db.session, current_user, att))
            return redirect(url_for("exams.attempt_result", attempt_id=att.id))
        if lost:
            flash(_("第 %(n)s 题已在另一个页面作答过更新的答案，本页的修改未保存，请核对", n="、".join(map(str, lost))), "warning")
        if submitting and not lost:
            svc.with_retry(db.session, lambda: svc.submit(db.session, current_user, att))
            return redirect(url_for("exams.attempt_result", attempt_id=att.id))
        if not lost:
            flash(_("答案已保存"), "success")
        return redirect(url_for("exams.attempt", attempt_id=att.id))
    if att.status == AttemptStatus.open and utcnow() > att.deadline_at + svc.GRACE:
        svc.with_retry(db.session, lambda: svc.finish_attempt(db.session, att, status=AttemptStatus.expired))
    if att.status != AttemptStatus.open:
        return redirect(url_for("exams.attempt_result", attempt_id=att.id))
    answers = svc.saved_answers(db.session, att)
    return render_template("exams/attempt.html", attempt=att, exam=att.exam, answers=answers, now=utcnow(),
                           answered=sum(1 for a in answers.values() if a.selected or a.text))


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@roles_required(Role.trainee)
def save_answer(attempt_id: int):
    """The background save: JSON in ``{question, selected, text, seq}``, the stored answer out. The service
    checks that the attempt is the trainee's and open in the same statement that takes its row (no ORM load)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed({"_body": _("请求体须为 JSON 对象")})
    selected = body.get("selected") or []
    if not isinstance(selected, list):
        raise ValidationFailed({"selected": _("选项格式无效")})
    try:
        qid = int(body.get("question"))
    except (TypeError, ValueError):
        raise ValidationFailed({"question": _("该题不在您的试卷上")})
    res = _write(lambda: svc.save_answer(
        db.session, current_user, attempt_id, qid, selected=selected, text=body.get("text") or "", seq=body.get("seq")))
    return jsonify({"question": res.question_id, "saved": res.saved, "seq": res.seq, "selected": res.selected,
                    "text": res.text, "deadline": res.deadline.isoformat()})


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@roles_required(Role.trainee)
def submit(attempt_id: int):
    _write(lambda: svc.submit(db.session, current_user, attempt_id))
    return redirect(url_for("exams.attempt_result", attempt_id=attempt_id))


@bp.route("/attempts/<int:attempt_id>/result")
@roles_required(Role.trainee)
def attempt_result(attempt_id: int):
    att = svc.get_own_attempt(db.session, current_user, attempt_id)
    if att.status == AttemptStatus.open:
        return redirect(url_for("exams.attempt", attempt_id=att.id))
    review = svc.review_open(att)
    answers = svc.saved_answers(db.session, att) if review else {}
    used = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == att.exam_id,
                                                                  Attempt.user_id == current_user.id)) or 0
    return render_template("exams/result.html", attempt=att, exam=att.exam, review=review, answers=answers,
                           can_retry=att.exam.status == ExamStatus.published and used < att.exam.attempts_allowed
                           and utcnow() < att.exam.closes_at)
