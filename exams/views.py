"""Exam pages. Staff: question banks, exams and blueprints, results and statistics, grading, offline
results. Trainees: their exams, the attempt page (views_trainee). Thin: parse, call one service, commit."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from courses.models import TrainingClass
from exams import attempts as attempt_services
from exams import banks, grading, imports, papers, results, stats
from exams.forms import BankForm, ExamForm, GradeForm, OfflineResultForm, QuestionForm, SectionForm, UploadForm
from exams.models import (Answer, Attempt, AttemptStatus, Difficulty, Exam, ExamStatus, Question, QuestionBank, QuestionType)
from lms.auth.views import roles_required
from lms.core_views import add_home_panel
from lms.db import db
from lms.domain import Role
from lms.errors import DomainError, Forbidden, NotFound, ValidationFailed
from lms.forms import apply_errors
from lms.scoping import get_visible, visible
from lms.templating import SHANGHAI, add_nav, paginate

bp = Blueprint("exams", __name__, url_prefix="/exams", template_folder="templates", static_folder="static",
               static_url_path="/static")
STAFF = (Role.institution_staff, Role.regulator_admin, Role.system_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@add_nav
def _nav(user):
    if user.role == Role.trainee:
        return [("exams.my_exams", _("我的考试"))]
    items = [("exams.exam_list", _("考试")), ("exams.bank_list", _("题库"))]
    if user.role in (Role.institution_staff, Role.system_admin):
        items.append(("exams.grading_queue", _("阅卷")))
    return items


@add_home_panel
def _panels(session, user) -> list[dict]:
    if user.role == Role.trainee:
        now = dt.datetime.now(dt.timezone.utc)
        items = []
        for exam in session.scalars(attempt_services.exams_for_trainee(session, user).where(
                Exam.opens_at <= now, Exam.closes_at > now).limit(5)):
            items.append(_("%(t)s（%(c)s 截止）", t=exam.title, c=exam.closes_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")))
        return [{"title": _("正在开放的考试"), "items": items, "url": url_for("exams.my_exams")}]
    if user.role in (Role.institution_staff, Role.system_admin):
        n = session.scalar(select(func.count()).select_from(grading.grading_queue(session, user).subquery())) or 0
        return [{"title": _("待阅卷的简答题"), "items": [_("%(n)d 道待评分", n=n)] if n else [],
                 "url": url_for("exams.grading_queue")}]
    return []


def _q() -> str:
    return (request.args.get("q") or "").strip()[:64]


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=SHANGHAI).astimezone(dt.timezone.utc) if value else None


def _commit_or_form_errors(form, fn):
    """Run a service; on ValidationFailed put the messages on the form, on other refusals flash them."""
    try:
        result = fn()
    except ValidationFailed as exc:
        db.session.rollback()
        apply_errors(form, exc)
    except (Forbidden, NotFound):
        db.session.rollback()
        raise  # the error page (403 / 404), not a form message
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
    else:
        db.session.commit()
        return result
    return None


# ------------------------------------------------------------------ banks and questions
@bp.route("/banks", methods=["GET", "POST"])
@roles_required(*STAFF)
def bank_list():
    stmt = visible(QuestionBank, current_user).order_by(QuestionBank.province_id.is_(None), QuestionBank.name)
    if q := _q():
        stmt = stmt.where(QuestionBank.name.contains(q))
    page = paginate(db.session, stmt)
    counts = dict(db.session.execute(select(Question.bank_id, func.count(Question.id)).where(
        Question.bank_id.in_([b.id for b in page.items]), Question.is_active.is_(True)).group_by(Question.bank_id)).all())
    form = BankForm()
    if form.validate_on_submit():
        bank = _commit_or_form_errors(form, lambda: banks.create_bank(db.session, current_user, form.name.data,
                                                                       form.description.data))
        if bank is not None:
            flash(_("题库已建立"), "success")
            return redirect(url_for("exams.bank_detail", bank_id=bank.id))
    return render_template("exams/banks.html", page=page, q=q, counts=counts, form=form)


@bp.route("/banks/<int:bank_id>")
@roles_required(*STAFF)
def bank_detail(bank_id: int):
    bank = get_visible(db.session, QuestionBank, bank_id, current_user)
    stmt = select(Question).where(Question.bank_id == bank.id, Question.is_active.is_(True)).order_by(Question.id)
    if q := _q():
        stmt = stmt.where(or_(Question.stem.contains(q), Question.knowledge_point.contains(q)))
    if (t := request.args.get("type")) in QuestionType.__members__:
        stmt = stmt.where(Question.type == QuestionType(t))
    if (d := request.args.get("difficulty")) in Difficulty.__members__:
        stmt = stmt.where(Question.difficulty == Difficulty(d))
    if kp := (request.args.get("kp") or "").strip():
        stmt = stmt.where(Question.knowledge_point == kp)
    page = paginate(db.session, stmt)
    return render_template("exams/bank.html", bank=bank, page=page, q=q, QuestionType=QuestionType,
                           Difficulty=Difficulty, kps=banks.knowledge_points(db.session, [bank.id]),
                           can_edit=banks.can_edit_bank(current_user, bank), upload=UploadForm(),
                           answer_text=banks.answer_text)


def _question_data(form: QuestionForm) -> banks.QuestionData:
    return banks.QuestionData(type=form.type.data, stem=form.stem.data or "",
                              options=[getattr(form, f).data or "" for f in QuestionForm.OPTION_FIELDS],
                              answer=form.answer.data or "", knowledge_point=form.knowledge_point.data or "",
                              difficulty=form.difficulty.data, explanation=form.explanation.data or "")


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def question_edit(bank_id: int | None = None, question_id: int | None = None):
    question = get_visible(db.session, Question, question_id, current_user) if question_id else None
    bank = question.bank if question else get_visible(db.session, QuestionBank, bank_id, current_user)
    form = QuestionForm(obj=question)
    if question is not None and request.method == "GET":
        form.type.data, form.difficulty.data = question.type.value, question.difficulty.value
        for i, o in enumerate(question.options if question.type in (QuestionType.single, QuestionType.multiple) else []):
            getattr(form, QuestionForm.OPTION_FIELDS[i]).data = o["text"]
        form.answer.data = banks.answer_text(question)
    if form.validate_on_submit():
        saved = _commit_or_form_errors(form, lambda: banks.save_question(db.session, current_user, bank,
                                                                          _question_data(form), question))
        if saved is not None:
            flash(_("题目已保存"), "success")
            return redirect(url_for("exams.bank_detail", bank_id=bank.id))
    return render_template("exams/question_form.html", form=form, bank=bank, question=question)


@bp.route("/questions/<int:question_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def question_deactivate(question_id: int):
    question = get_visible(db.session, Question, question_id, current_user)
    try:
        banks.deactivate_question(db.session, current_user, question)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("题目已停用，不再被抽取"), "info")
    return redirect(url_for("exams.bank_detail", bank_id=question.bank_id))


@bp.route("/banks/<int:bank_id>/import", methods=["POST"])
@roles_required(*STAFF)
def bank_import(bank_id: int):
    bank = get_visible(db.session, QuestionBank, bank_id, current_user)
    form = UploadForm()
    if not form.validate_on_submit() or not form.file.data:
        flash(_("请选择要导入的 Excel 文件"), "danger")
        return redirect(url_for("exams.bank_detail", bank_id=bank.id))
    try:
        n = imports.import_questions(db.session, current_user, bank, form.file.data.read())
    except DomainError as exc:
        db.session.rollback()
        flash(_("导入失败，题库未作任何改动：%(m)s", m=exc.message), "danger")
    else:
        db.session.commit()
        flash(_("已导入 %(n)d 道题目", n=n), "success")
    return redirect(url_for("exams.bank_detail", bank_id=bank.id))


@bp.route("/banks/<int:bank_id>/export.xlsx")
@roles_required(*STAFF)
def bank_export(bank_id: int):
    bank = get_visible(db.session, QuestionBank, bank_id, current_user)
    data = imports.export_questions(db.session, bank)
    return Response(data, mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=question-bank-{bank.id}.xlsx"})


# ------------------------------------------------------------------ exams
@bp.route("/manage")
@roles_required(*STAFF)
def exam_list():
    stmt = visible(Exam, current_user).order_by(Exam.opens_at.desc())
    if q := _q():
        stmt = stmt.where(Exam.title.contains(q))
    if (s := request.args.get("status")) in ExamStatus.__members__:
        stmt = stmt.where(Exam.status == ExamStatus(s))
    page = paginate(db.session, stmt)
    return render_template("exams/exams.html", page=page, q=q, ExamStatus=ExamStatus,
                           can_create=current_user.role == Role.institution_staff)


def _class_choices() -> list[tuple[int, str]]:
    rows = db.session.scalars(select(TrainingClass).where(TrainingClass.institution_id == current_user.institution_id)
                              .order_by(TrainingClass.start_date.desc())).all()
    return [(0, _("请选择"))] + [(c.id, c.name) for c in rows]


def _programme_choices() -> list[tuple[int, str]]:
    """Programmes the institution runs classes of: a programme exam serves all of them."""
    from courses.models import Programme

    rows = db.session.scalars(select(Programme).where(Programme.id.in_(
        select(TrainingClass.programme_id).where(TrainingClass.institution_id == current_user.institution_id)))
        .order_by(Programme.year.desc(), Programme.name)).all()
    return [(0, _("不按项目"))] + [(p.id, p.name) for p in rows]


@bp.route("/manage/new", methods=["GET", "POST"])
@bp.route("/manage/<int:exam_id>/edit", methods=["GET", "POST"])
@roles_required(Role.institution_staff, Role.system_admin)
def exam_edit(exam_id: int | None = None):
    exam = get_visible(db.session, Exam, exam_id, current_user) if exam_id else None
    form = ExamForm(obj=exam)
    form.class_id.choices = _class_choices()
    form.programme_id.choices = _programme_choices()
    if exam is not None and request.method == "GET":
        form.opens_at.data = exam.opens_at.astimezone(SHANGHAI).replace(tzinfo=None)
        form.closes_at.data = exam.closes_at.astimezone(SHANGHAI).replace(tzinfo=None)
        form.class_id.data = exam.class_id or 0
        form.programme_id.data = exam.programme_id or 0
        form.counting.data, form.multiple_scoring.data = exam.counting.value, exam.multiple_scoring.value
        form.review_policy.data = exam.review_policy.value
    if form.validate_on_submit():
        data = papers.ExamData(
            title=form.title.data, class_id=form.class_id.data or None,
            programme_id=None if form.class_id.data else (form.programme_id.data or None),
            opens_at=_local(form.opens_at.data), closes_at=_local(form.closes_at.data),
            duration_minutes=form.duration_minutes.data, attempts_allowed=form.attempts_allowed.data,
            counting=form.counting.data, pass_mark=form.pass_mark.data, multiple_scoring=form.multiple_scoring.data,
            review_policy=form.review_policy.data, shuffle=form.shuffle.data,
            counts_for_completion=form.counts_for_completion.data, instructions=form.instructions.data or "")
        saved = _commit_or_form_errors(form, lambda: papers.save_exam(db.session, current_user, data, exam))
        if saved is not None:
            flash(_("考试已保存"), "success")
            return redirect(url_for("exams.exam_detail", exam_id=saved.id))
    return render_template("exams/exam_form.html", form=form, exam=exam)


@bp.route("/manage/<int:exam_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def exam_detail(exam_id: int):
    exam = get_visible(db.session, Exam, exam_id, current_user)
    form = SectionForm()
    bank_rows = db.session.scalars(visible(QuestionBank, current_user).order_by(QuestionBank.name)).all()
    form.bank_id.choices = [(b.id, b.name) for b in bank_rows]
    can_manage = papers.can_manage_exam(current_user, exam)
    if can_manage and form.validate_on_submit():
        data = papers.SectionData(bank_id=form.bank_id.data, question_type=form.question_type.data,
                                  count=form.count.data, points_each=form.points_each.data,
                                  knowledge_point=form.knowledge_point.data or "", difficulty=form.difficulty.data or "",
                                  title=form.title.data or "")
        if _commit_or_form_errors(form, lambda: papers.add_section(db.session, current_user, exam, data)) is not None:
            flash(_("组卷规则已添加"), "success")
            return redirect(url_for("exams.exam_detail", exam_id=exam.id))
    pools = {s.id: papers.available(db.session, s) for s in exam.sections}
    started = bool(db.session.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id)))
    return render_template("exams/exam.html", exam=exam, form=form, can_manage=can_manage, pools=pools, started=started,
                           kps=banks.knowledge_points(db.session, [b.id for b in bank_rows]))


@bp.route("/manage/<int:exam_id>/sections/<int:section_id>/delete", methods=["POST"])
@roles_required(Role.institution_staff, Role.system_admin)
def section_delete(exam_id: int, section_id: int):
    exam = get_visible(db.session, Exam, exam_id, current_user)
    try:
        papers.remove_section(db.session, current_user, exam, section_id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("组卷规则已删除"), "info")
    return redirect(url_for("exams.exam_detail", exam_id=exam.id))


@bp.route("/manage/<int:exam_id>/publish", methods=["POST"])
@roles_required(Role.institution_staff, Role.system_admin)
def exam_publish(exam_id: int):
    exam = get_visible(db.session, Exam, exam_id, current_user)
    try:
        papers.publish(db.session, current_user, exam)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("考试已发布，学员可在开放时间内参加"), "success")
    return redirect(url_for("exams.exam_detail", exam_id=exam.id))


@bp.route("/manage/<int:exam_id>/results")
@roles_required(*STAFF)
def exam_results(exam_id: int):
    exam = get_visible(db.session, Exam, exam_id, current_user)
    rows = results.results_by_trainee(db.session, exam)
    q = _q()
    if q:
        rows = [r for r in rows if q in r["user"].username or q in results.real_name(r["user"])]
    scores = [r["result"].score for r in rows if r["result"] is not None]
    chart = stats.distribution_svg(stats.distribution(scores), exam.effective_pass_mark)
    items = stats.item_statistics(db.session, exam)
    passed = sum(1 for r in rows if r["result"] is not None and r["result"].passed)
    per_page, page_no = 50, max(1, request.args.get("page", 1, type=int) or 1)
    from lms.templating import Page

    page = Page(items=rows[(page_no - 1) * per_page: page_no * per_page], page=page_no, per_page=per_page, total=len(rows))
    return render_template("exams/results.html", exam=exam, page=page, q=q, chart=chart, items=items,
                           scored=len(scores), passed=passed, real_name=results.real_name,
                           in_progress=db.session.scalar(select(func.count(Attempt.id)).where(
                               Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.open)) or 0,
                           mean=round(sum(scores) / len(scores), 1) if scores else None)


@bp.route("/manage/<int:exam_id>/attempts")
@roles_required(*STAFF)
def exam_attempts(exam_id: int):
    """Every attempt of the exam, newest first, with its state: staff watch the results come in."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    stmt = select(Attempt).where(Attempt.exam_id == exam.id).order_by(Attempt.started_at.desc())
    if (st := request.args.get("status")) in AttemptStatus.__members__:
        stmt = stmt.where(Attempt.status == AttemptStatus(st))
    page = paginate(db.session, stmt, per_page=50)
    return render_template("exams/attempts.html", exam=exam, page=page, AttemptStatus=AttemptStatus,
                           real_name=results.real_name)


@bp.route("/manage/attempts/<int:attempt_id>")
@roles_required(*STAFF)
def attempt_sheet(attempt_id: int):
    """One trainee's answer sheet as graded (staff only; a trainee sees their own through the review)."""
    att = get_visible(db.session, Attempt, attempt_id, current_user)
    return render_template("exams/sheet.html", attempt=att, exam=att.exam,
                           answers=attempt_services.saved_answers(db.session, att), real_name=results.real_name)


@bp.route("/manage/<int:exam_id>/offline", methods=["GET", "POST"])
@roles_required(Role.institution_staff, Role.system_admin)
def offline_results(exam_id: int):
    exam = get_visible(db.session, Exam, exam_id, current_user)
    form, upload = OfflineResultForm(prefix="one"), UploadForm(prefix="xls")
    if request.method == "POST" and request.form.get("kind") == "file":
        if upload.validate_on_submit() and upload.file.data:
            try:
                n = imports.import_results(db.session, current_user, exam, upload.file.data.read())
            except DomainError as exc:
                db.session.rollback()
                flash(_("导入失败，成绩未作任何改动：%(m)s", m=exc.message), "danger")
            else:
                db.session.commit()
                flash(_("已导入 %(n)d 条线下考试成绩", n=n), "success")
                return redirect(url_for("exams.exam_results", exam_id=exam.id))
        else:
            flash(_("请选择要导入的 Excel 文件"), "danger")
    elif request.method == "POST" and form.validate_on_submit():
        res = _commit_or_form_errors(form, lambda: results.record_offline_result(
            db.session, current_user, exam, form.username.data, form.score.data, form.note.data or "", form.taken_on.data))
        if res is not None:
            flash(_("线下考试成绩已录入"), "success")
            return redirect(url_for("exams.offline_results", exam_id=exam.id))
    return render_template("exams/offline.html", exam=exam, form=form, upload=upload)


@bp.route("/manage/<int:exam_id>/offline/template.xlsx")
@roles_required(Role.institution_staff, Role.system_admin)
def offline_template(exam_id: int):
    exam = get_visible(db.session, Exam, exam_id, current_user)
    return Response(imports.results_template(db.session, exam), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=offline-results-{exam.id}.xlsx"})


# ------------------------------------------------------------------ grading
@bp.route("/grading")
@roles_required(Role.institution_staff, Role.system_admin)
def grading_queue():
    page = paginate(db.session, grading.grading_queue(db.session, current_user))
    return render_template("exams/grading.html", page=page)


@bp.route("/grading/<int:answer_id>", methods=["GET", "POST"])
@roles_required(Role.institution_staff, Role.system_admin)
def grade(answer_id: int):
    answer = get_visible(db.session, Answer, answer_id, current_user)
    form = GradeForm()
    if form.validate_on_submit():
        done = _commit_or_form_errors(form, lambda: grading.grade_answer(db.session, current_user, answer,
                                                                          form.points.data, form.comment.data or ""))
        if done is not None:
            flash(_("评分已保存"), "success")
            nxt = db.session.scalar(grading.grading_queue(db.session, current_user).limit(1))
            return redirect(url_for("exams.grade", answer_id=nxt.id) if nxt else url_for("exams.grading_queue"))
    return render_template("exams/grade.html", answer=answer, aq=answer.attempt_question, form=form)


from exams import api, demo, jobs, views_trainee  # noqa: E402,F401  (trainee pages, API routes, job)
from lms.demo import add_seed_hook  # noqa: E402

add_seed_hook(demo.seed)
