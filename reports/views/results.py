"""Results reports: the roster filled in from the system, offline results imported from a file (applied in the
background, with a progress bar), the Excel export and template, submission and the bureau's decision."""
from __future__ import annotations

import io

from flask import abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from courses.models import TrainingClass
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db, utcnow
from lms.domain import Role
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import SHANGHAI, today_local
from reports import export, jobs, queries
from reports.forms import DecisionForm, ImportForm, SubmitResultsForm
from reports.models import ResultImport, ResultsReport
from reports.services import filing, imports
from reports.views import BUREAU, READERS, STAFF, XLSX, bp, visible_class


def _results_context(klass: TrainingClass, import_form=None, submit_form=None) -> dict:
    """What the results page shows: the roster, the report, the latest import's progress and the forms."""
    report = queries.results_of(db.session, klass)
    rows, totals = queries.results_shown(db.session, klass)
    last = queries.latest_import(db.session, klass) if current_user.role == STAFF else None
    return dict(klass=klass, report=report, rows=rows, totals=totals, record=queries.filing_of(db.session, klass),
                import_form=import_form or ImportForm(), submit_form=submit_form or SubmitResultsForm(),
                decision=DecisionForm(), last_import=last, last_progress=queries.import_progress(last) if last else None,
                can_decide=report is not None and filing.can_decide(current_user, report),
                ended=today_local() >= klass.end_date)


@bp.route("/reports/classes/<int:class_id>/results", methods=["GET", "POST"])
@roles_required(*READERS)
def results_page(class_id: int):
    """A class's results report: the roster, the import of offline results, submission and the decision."""
    klass = visible_class(class_id)
    form = SubmitResultsForm()
    if form.is_submitted():
        if current_user.role != STAFF:
            abort(403)
        if form.validate_on_submit():
            done = submit(form, lambda: filing.submit_results(db.session, current_user, klass, today_local(),
                                                              form.note.data or ""),
                          success=_("结果报告已提交，等待监管部门审核"), domain_errors="form",
                          redirect_to=url_for("reports.results_page", class_id=class_id))
            if done is not None:
                return done
    return render_template("reports/results.html", **_results_context(klass, submit_form=form))


def _after_upload(started: tuple[ResultImport, bool]) -> str:
    """Once the upload is committed: apply a new import in the background, or say the file came before."""
    imp, created = started
    if created:
        jobs.launch_import(current_app._get_current_object(), imp.id)
        flash(_("文件检查通过，共 %(n)d 行，正在导入", n=imp.total), "info")
    else:
        flash(_("该文件已于 %(t)s 导入过，本次未重复导入，数据未改变",
                t=imp.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")), "warning")
    return url_for("reports.results_page", class_id=imp.class_id)


@bp.route("/reports/classes/<int:class_id>/results/import", methods=["POST"])
@body_limit(imports.MAX_BYTES + FORM_ROOM)
@roles_required(STAFF)
def results_import(class_id: int):
    """Staff upload offline results: the whole file is checked here, then applied in the background."""
    klass = visible_class(class_id)
    form = ImportForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [_("请选择文件")]
    else:
        data = upload.read(imports.MAX_BYTES + 1)
        done = submit(form, lambda: imports.start_import(db.session, current_user, klass, upload.filename, data,
                                                         utcnow()),
                      domain_errors="form", redirect_to=_after_upload)
        if done is not None:
            return done
    return render_template("reports/results.html", **_results_context(klass, import_form=form)), 422


@bp.route("/reports/imports/<int:import_id>.json")
@roles_required(STAFF, Role.system_admin)
def import_progress(import_id: int):
    """An import's progress, polled by the results page."""
    return jsonify(queries.import_progress(get_visible(db.session, ResultImport, import_id, current_user)))


@bp.route("/reports/classes/<int:class_id>/results/template.xlsx")
@roles_required(STAFF)
def results_template(class_id: int):
    """The offline-results template: the class's roster, one row per trainee and session."""
    klass = visible_class(class_id)
    return send_file(io.BytesIO(export.template(db.session, klass)), as_attachment=True,
                     download_name=f"offline-results-{klass.id}.xlsx", mimetype=XLSX)


@bp.route("/reports/classes/<int:class_id>/results.xlsx")
@roles_required(*READERS)
def results_export(class_id: int):
    """The results roster the page shows, as Excel."""
    klass = visible_class(class_id)
    rows, totals = queries.results_shown(db.session, klass)
    return send_file(io.BytesIO(export.roster_workbook(klass.name, rows, totals)), as_attachment=True,
                     download_name=f"results-{class_id}.xlsx", mimetype=XLSX)


@bp.route("/reports/results/<int:report_id>/decide", methods=["POST"])
@roles_required(BUREAU)
def results_decide(report_id: int):
    """The bureau accepts a results report, or returns it with a reason."""
    report = get_visible(db.session, ResultsReport, report_id, current_user)
    class_id = report.class_id
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    accept = form.decision.data == "accept"
    submit(None, lambda: filing.decide_results(db.session, current_user, report, accept, form.reason.data or ""),
           success=_("已接收结果报告") if accept else _("已退回结果报告"))
    return redirect(url_for("reports.results_page", class_id=class_id))
