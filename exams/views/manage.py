"""Exams and their blueprints (组卷规则): the list, the exam form, the exam page with its sections, publishing."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exams import banks, papers, queries
from exams.forms import ExamForm, SectionForm
from exams.models import Exam, ExamStatus, QuestionBank
from exams.views import MANAGERS, STAFF, bp, search_text, utc_from_local
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import Role
from lms.forms import choices, submit
from lms.scoping import get_visible, visible
from lms.templating import SHANGHAI, paginate


@bp.route("/manage")
@roles_required(*STAFF)
def exam_list():
    """The exams the user may see, by title and status."""
    q = search_text()
    page = paginate(db.session, queries.exam_list(current_user, q, request.args.get("status")))
    return render_template("exams/exams.html", page=page, q=q, ExamStatus=ExamStatus,
                           can_create=current_user.role == Role.institution_staff)


def _exam_form(exam: Exam | None) -> ExamForm:
    """The exam form with its choices; on a GET of an existing exam, its values in China's time."""
    form = ExamForm(obj=exam)
    inst = current_user.institution_id
    form.class_id.choices = choices([(0, _("请选择"))] + queries.class_choices(db.session, inst))
    form.programme_id.choices = choices([(0, _("不按项目"))] + queries.programme_choices(db.session, inst))
    if exam is not None and request.method == "GET":
        form.opens_at.data = exam.opens_at.astimezone(SHANGHAI).replace(tzinfo=None)
        form.closes_at.data = exam.closes_at.astimezone(SHANGHAI).replace(tzinfo=None)
        form.class_id.data = exam.class_id or 0
        form.programme_id.data = exam.programme_id or 0
        form.counting.data, form.multiple_scoring.data = exam.counting.value, exam.multiple_scoring.value
        form.review_policy.data = exam.review_policy.value
    return form


def _exam_data(form: ExamForm) -> papers.ExamData:
    return papers.ExamData(
        title=form.title.data, class_id=form.class_id.data or None,
        programme_id=None if form.class_id.data else (form.programme_id.data or None),
        opens_at=utc_from_local(form.opens_at.data), closes_at=utc_from_local(form.closes_at.data),
        duration_minutes=form.duration_minutes.data, attempts_allowed=form.attempts_allowed.data,
        counting=form.counting.data, pass_mark=form.pass_mark.data, multiple_scoring=form.multiple_scoring.data,
        review_policy=form.review_policy.data, shuffle=form.shuffle.data,
        counts_for_completion=form.counts_for_completion.data, instructions=form.instructions.data or "",
        max_departures=form.max_departures.data)


@bp.route("/manage/new", methods=["GET", "POST"])
@bp.route("/manage/<int:exam_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def exam_edit(exam_id: int | None = None):
    """Create or change an exam."""
    exam = get_visible(db.session, Exam, exam_id, current_user) if exam_id else None
    form = _exam_form(exam)
    if form.validate_on_submit():
        done = submit(form, lambda: papers.save_exam(db.session, current_user, _exam_data(form), exam),
                      success=_("考试已保存"), redirect_to=lambda saved: url_for("exams.exam_detail", exam_id=saved.id),
                      domain_errors="form")
        if done is not None:
            return done
    return render_template("exams/exam_form.html", form=form, exam=exam)


def _section_data(form: SectionForm) -> papers.SectionData:
    return papers.SectionData(bank_id=form.bank_id.data, question_type=form.question_type.data,
                              count=form.count.data, points_each=form.points_each.data,
                              knowledge_point=form.knowledge_point.data or "", difficulty=form.difficulty.data or "",
                              title=form.title.data or "")


@bp.route("/manage/<int:exam_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def exam_detail(exam_id: int):
    """The exam with its blueprint; its managers add sections with the form."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    form = SectionForm()
    bank_rows = db.session.scalars(visible(QuestionBank, current_user).order_by(QuestionBank.name)).all()
    form.bank_id.choices = choices((b.id, b.name) for b in bank_rows)
    can_manage = papers.can_manage_exam(current_user, exam)
    if can_manage and form.validate_on_submit():
        done = submit(form, lambda: papers.add_section(db.session, current_user, exam, _section_data(form)),
                      success=_("组卷规则已添加"), redirect_to=url_for("exams.exam_detail", exam_id=exam.id),
                      domain_errors="form")
        if done is not None:
            return done
    return render_template("exams/exam.html", exam=exam, form=form, can_manage=can_manage,
                           pools={s.id: papers.available(db.session, s) for s in exam.sections},
                           started=queries.attempt_count(db.session, exam) > 0,
                           kps=banks.knowledge_points(db.session, [b.id for b in bank_rows]))


@bp.route("/manage/<int:exam_id>/sections/<int:section_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def section_delete(exam_id: int, section_id: int):
    """Remove a rule from the blueprint (before anyone has started)."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    back = url_for("exams.exam_detail", exam_id=exam.id)
    return submit(None, lambda: papers.remove_section(db.session, current_user, exam, section_id),
                  success=_("组卷规则已删除"), redirect_to=back) or redirect(back)


@bp.route("/manage/<int:exam_id>/publish", methods=["POST"])
@roles_required(*MANAGERS)
def exam_publish(exam_id: int):
    """Open the exam to its trainees."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    back = url_for("exams.exam_detail", exam_id=exam.id)
    return submit(None, lambda: papers.publish(db.session, current_user, exam),
                  success=_("考试已发布，学员可在开放时间内参加"), redirect_to=back) or redirect(back)
