"""Question banks and their questions: list, create, edit, withdraw, Excel import and export."""
from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exams import banks, imports, queries
from exams.forms import BankForm, QuestionForm, UploadForm
from exams.models import Difficulty, Question, QuestionBank, QuestionType
from exams.views import STAFF, XLSX, all_or_nothing, bp, flashed, search_text
from lms import sheets
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import paginate


@bp.route("/banks", methods=["GET", "POST"])
@roles_required(*STAFF)
def bank_list():
    """The banks the user may see, with their active question counts; the form creates a bank."""
    q = search_text()
    page = paginate(db.session, queries.bank_list(current_user, q))
    counts = queries.active_question_counts(db.session, [b.id for b in page.items])
    form = BankForm()
    if form.validate_on_submit():
        done = submit(form, lambda: banks.create_bank(db.session, current_user, form.name.data, form.description.data),
                      success=_("题库已建立"), redirect_to=lambda bank: url_for("exams.bank_detail", bank_id=bank.id),
                      domain_errors="form")
        if done is not None:
            return done
    return render_template("exams/banks.html", page=page, q=q, counts=counts, form=form)


@bp.route("/banks/<int:bank_id>")
@roles_required(*STAFF)
def bank_detail(bank_id: int):
    """One bank's active questions, filtered by text, type, difficulty and knowledge point."""
    return _bank_page(get_visible(db.session, QuestionBank, bank_id, current_user), UploadForm())


def _bank_page(bank: QuestionBank, upload: UploadForm, chosen: str = ""):
    q = search_text()
    stmt = queries.bank_questions(bank, q, request.args.get("type"), request.args.get("difficulty"),
                                  (request.args.get("kp") or "").strip())
    return render_template("exams/bank.html", bank=bank, page=paginate(db.session, stmt), q=q,
                           QuestionType=QuestionType, Difficulty=Difficulty,
                           kps=banks.knowledge_points(db.session, [bank.id]),
                           can_edit=banks.can_edit_bank(current_user, bank), upload=upload, chosen=chosen,
                           answer_text=banks.answer_label)


def _question_data(form: QuestionForm) -> banks.QuestionData:
    return banks.QuestionData(type=form.type.data, stem=form.stem.data or "",
                              options=[getattr(form, f).data or "" for f in QuestionForm.OPTION_FIELDS],
                              answer=form.answer.data or "", knowledge_point=form.knowledge_point.data or "",
                              difficulty=form.difficulty.data, explanation=form.explanation.data or "")


def _fill_question_form(form: QuestionForm, question: Question) -> None:
    form.type.data, form.difficulty.data = question.type.value, question.difficulty.value
    for i, o in enumerate(question.options if question.type in (QuestionType.single, QuestionType.multiple) else []):
        getattr(form, QuestionForm.OPTION_FIELDS[i]).data = o["text"]
    form.answer.data = banks.answer_text(question)


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def question_edit(bank_id: int | None = None, question_id: int | None = None):
    """Add a question to a bank, or change one."""
    question = get_visible(db.session, Question, question_id, current_user) if question_id else None
    bank = question.bank if question else get_visible(db.session, QuestionBank, bank_id, current_user)
    form = QuestionForm(obj=question)
    if question is not None and request.method == "GET":
        _fill_question_form(form, question)
    if form.validate_on_submit():
        done = submit(form, lambda: banks.save_question(db.session, current_user, bank, _question_data(form), question),
                      success=_("题目已保存"), redirect_to=url_for("exams.bank_detail", bank_id=bank.id),
                      domain_errors="form")
        if done is not None:
            return done
    return render_template("exams/question_form.html", form=form, bank=bank, question=question)


@bp.route("/questions/<int:question_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def question_deactivate(question_id: int):
    """Withdraw a question from future draws."""
    question = get_visible(db.session, Question, question_id, current_user)
    back = url_for("exams.bank_detail", bank_id=question.bank_id)
    return submit(None, lambda: banks.deactivate_question(db.session, current_user, question),
                  success=_("题目已停用，不再被抽取"), redirect_to=back) or redirect(back)


@bp.route("/banks/<int:bank_id>/import", methods=["POST"])
@body_limit(sheets.MAX_BYTES + FORM_ROOM)
@roles_required(*STAFF)
def bank_import(bank_id: int):
    """Add the questions of an uploaded sheet to the bank: all of them, or none."""
    bank = get_visible(db.session, QuestionBank, bank_id, current_user)
    back = url_for("exams.bank_detail", bank_id=bank.id)
    form = UploadForm()
    if not form.validate_on_submit() or not form.file.data:
        form.form_errors.append(_("请选择要导入的文件（.xlsx、.xls 或 CSV）"))
        return _bank_page(bank, form), 422
    data, filename = form.file.data.read(), form.file.data.filename or ""
    done = submit(form, lambda: all_or_nothing(
        lambda: imports.import_questions(db.session, current_user, bank, data, filename),
        lambda m: _("导入失败，题库未作任何改动：%(m)s", m=m)), domain_errors="form",
        redirect_to=lambda n: flashed(_("已导入 %(n)d 道题目", n=n), back))
    return done or (_bank_page(bank, form, filename), 422)


@bp.route("/banks/<int:bank_id>/export.xlsx")
@roles_required(*STAFF)
def bank_export(bank_id: int):
    """The bank's active questions as a sheet in the import layout."""
    bank = get_visible(db.session, QuestionBank, bank_id, current_user)
    return Response(imports.export_questions(db.session, bank), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=question-bank-{bank.id}.xlsx"})
