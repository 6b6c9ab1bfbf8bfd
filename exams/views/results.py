"""An exam's results: the results table with the score histogram and item statistics, the attempts as they
come in, one answer sheet, and offline (paper) results typed in or imported."""
from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exams import attempts, imports, integrity, queries, results, stats
from exams.forms import OfflineResultForm, UploadForm
from exams.models import Attempt, AttemptStatus, Exam
from exams.views import MANAGERS, STAFF, XLSX, all_or_nothing, bp, flashed, search_text
from lms import sheets
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import Page, paginate

PER_PAGE = 50


@bp.route("/manage/<int:exam_id>/results")
@roles_required(*STAFF)
def exam_results(exam_id: int):
    """The counting result of every trainee of the exam, the score histogram and per-question statistics."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    q = search_text()
    table = queries.results_table(db.session, exam, q)
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    page = Page(items=table.rows[(page_no - 1) * PER_PAGE: page_no * PER_PAGE], page=page_no, per_page=PER_PAGE,
                total=len(table.rows))
    return render_template("exams/results.html", exam=exam, page=page, q=q,
                           chart=stats.distribution_svg(stats.distribution(table.scores), exam.effective_pass_mark),
                           items=stats.item_statistics(db.session, exam), scored=len(table.scores),
                           passed=table.passed, mean=table.mean, real_name=results.real_name,
                           in_progress=queries.attempt_count(db.session, exam, AttemptStatus.open))


@bp.route("/manage/<int:exam_id>/attempts")
@roles_required(*STAFF)
def exam_attempts(exam_id: int):
    """Every attempt of the exam, newest first, with its state: staff watch the results come in."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    page = paginate(db.session, queries.exam_attempts(exam, request.args.get("status")), per_page=PER_PAGE)
    return render_template("exams/attempts.html", exam=exam, page=page, AttemptStatus=AttemptStatus,
                           real_name=results.real_name)


@bp.route("/manage/attempts/<int:attempt_id>")
@roles_required(*STAFF)
def attempt_sheet(attempt_id: int):
    """One trainee's answer sheet as graded (staff only; a trainee sees their own through the review)."""
    att = get_visible(db.session, Attempt, attempt_id, current_user)
    return render_template("exams/sheet.html", attempt=att, exam=att.exam,
                           answers=attempts.saved_answers(db.session, att), real_name=results.real_name,
                           events=integrity.events_of(db.session, att))


def _import_results(exam: Exam, upload: UploadForm):
    """The sheet of offline results: all rows or none; back to the results once imported."""
    if not (upload.validate_on_submit() and upload.file.data):
        upload.form_errors.append(_("请选择要导入的文件（.xlsx、.xls 或 CSV）"))
        return None
    data, filename = upload.file.data.read(), upload.file.data.filename or ""
    return submit(upload, lambda: all_or_nothing(
        lambda: imports.import_results(db.session, current_user, exam, data, filename),
        lambda m: _("导入失败，成绩未作任何改动：%(m)s", m=m)), domain_errors="form",
        redirect_to=lambda n: flashed(_("已导入 %(n)d 条线下考试成绩", n=n),
                                      url_for("exams.exam_results", exam_id=exam.id)))


@bp.route("/manage/<int:exam_id>/offline", methods=["GET", "POST"])
@body_limit(sheets.MAX_BYTES + FORM_ROOM)
@roles_required(*MANAGERS)
def offline_results(exam_id: int):
    """Offline (paper) results: one typed in with the form, or a sheet of them imported."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    form, upload = OfflineResultForm(prefix="one"), UploadForm(prefix="xls")
    done, status = None, 200
    if request.method == "POST" and request.form.get("kind") == "file":
        done, status = _import_results(exam, upload), 422
    elif request.method == "POST" and form.validate_on_submit():
        done = submit(form, lambda: results.record_offline_result(
            db.session, current_user, exam, form.username.data, form.score.data, form.note.data or "",
            form.taken_on.data), success=_("线下考试成绩已录入"),
            redirect_to=url_for("exams.offline_results", exam_id=exam.id), domain_errors="form")
    if done is None and request.method == "POST" and (form.errors or form.form_errors):
        status = 422
    chosen = upload.file.data.filename if status == 422 and upload.file.data else ""
    return done or (render_template("exams/offline.html", exam=exam, form=form, upload=upload, chosen=chosen), status)


@bp.route("/manage/<int:exam_id>/offline/template.xlsx")
@roles_required(*MANAGERS)
def offline_template(exam_id: int):
    """A sheet of the exam's trainees with blank score cells, to fill in and import."""
    exam = get_visible(db.session, Exam, exam_id, current_user)
    return Response(imports.results_template(db.session, exam), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=offline-results-{exam.id}.xlsx"})
