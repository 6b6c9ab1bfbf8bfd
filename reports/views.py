"""Reporting pages: institutions file classes, import offline results, submit results reports and annual work
reports; bureaus review them, watch who is late, read the dashboard and set targets."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses.models import TrainingClass
from lms.auth.views import roles_required
from lms.core_views import add_home_panel
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.forms import apply_errors
from reports import annual, export, filing, import_jobs, imports
from reports import api  # noqa: F401  (registers the API routes)
from reports import demo  # noqa: F401  (registers the demo seed hook)
from reports.forms import AnnualForm, DecisionForm, FileClassForm, ImportForm, SubmitResultsForm
from reports.models import AnnualWorkReport, ClassFiling, ResultImport, ResultsReport, ReviewStatus
from lms.scoping import get_visible, visible
from lms.templating import add_nav, paginate, today_local

bp = Blueprint("reports", __name__, template_folder="templates", static_folder="static",
               static_url_path="/reports/static")
STAFF = Role.institution_staff
BUREAU = Role.regulator_admin
READERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)


@add_nav
def _nav(user):
    if user.role == Role.institution_staff:
        return [("reports.index", _("报备")), ("reports.annual_page", _("年度报告"))]
    if user.role == Role.regulator_admin:
        items = [("reports.index", _("报备审核")), ("reports.dashboard", _("统计")), ("reports.annual_page", _("年度报告"))]
        if user.region is not None and user.region.parent_id is None:
            items.append(("reports.settings", _("报备规则")))
        return items
    return []


@add_home_panel
def _home(session, user) -> list[dict]:
    if user.role == Role.regulator_admin:
        n = filing.class_ids_needing_action(session, user)
        return [{"title": _("待审核的报备"), "url": url_for("reports.index"),
                 "items": [_("开班报备 %(n)d 件", n=n.get("filings", 0)), _("结果报告 %(n)d 件", n=n.get("results", 0))]}]
    if user.role == Role.institution_staff:
        returned = session.scalars(visible(ClassFiling, user).where(ClassFiling.status == ReviewStatus.returned)).all()
        items = [_("“%(c)s”的报备被退回：%(r)s", c=f.snapshot.get("class_name", ""), r=f.return_reason) for f in returned]
        panels = [{"title": _("报备"), "url": url_for("reports.index"), "items": items or [_("没有被退回的报备")]}]
        inst = user.institution
        if inst is not None:
            today = today_local()
            year = today.year - 1
            filed = session.scalar(select(AnnualWorkReport.id).where(AnnualWorkReport.institution_id == inst.id,
                                                                 AnnualWorkReport.year == year))
            due = annual.due_date(session, inst.region, year)
            state = _("已提交") if filed else (_("已逾期") if today > due else _("未提交"))
            panels.append({"title": _("年度工作报告"), "url": url_for("reports.annual_page", year=year),
                           "items": [_("%(y)d 年度：%(s)s（截止 %(d)s）", y=year, s=state, d=due.isoformat())]})
        return panels
    return []


def _class(class_id: int) -> TrainingClass:
    return get_visible(db.session, TrainingClass, class_id, current_user)


def _fail(exc: DomainError, form=None) -> None:
    """Undo the request's work and show the service's message: on the form when there is one."""
    db.session.rollback()
    if form is None:
        flash(exc.message, "danger")
    elif isinstance(exc, ValidationFailed):
        apply_errors(form, exc)
    else:
        form.form_errors.append(exc.message)


# ------------------------------------------------------------------ lists
@bp.route("/reports")
@roles_required(*READERS)
def index():
    status = request.args.get("status") or ""
    if current_user.role == Role.institution_staff:
        stmt = visible(TrainingClass, current_user).order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())
        page = paginate(db.session, stmt)
        ids = [k.id for k in page.items] or [0]
        filings = {f.class_id: f for f in db.session.scalars(select(ClassFiling).where(ClassFiling.class_id.in_(ids)))}
        results = {r.class_id: r for r in db.session.scalars(select(ResultsReport).where(ResultsReport.class_id.in_(ids)))}
        return render_template("reports/index_staff.html", page=page, filings=filings, results=results)
    kind = "results" if request.args.get("kind") == "results" else "filings"
    model = ResultsReport if kind == "results" else ClassFiling
    stmt = (visible(model, current_user).join(TrainingClass, TrainingClass.id == model.class_id)
            .order_by(model.submitted_at.desc(), model.id.desc()))
    if status in {s.value for s in ReviewStatus}:
        stmt = stmt.where(model.status == status)
    q = (request.args.get("q") or "").strip()[:64]
    if q:
        stmt = stmt.where(TrainingClass.name.contains(q))
    return render_template("reports/index_bureau.html", page=paginate(db.session, stmt), kind=kind, status=status,
                           q=q, statuses=ReviewStatus.choices())


# ------------------------------------------------------------------ filing
@bp.route("/reports/classes/<int:class_id>/filing", methods=["GET", "POST"])
@roles_required(*READERS)
def filing_page(class_id: int):
    klass = _class(class_id)
    record = filing.filing_of(db.session, klass)
    form = FileClassForm(data={"teachers": klass.teachers})
    if request.method == "POST":
        if current_user.role != STAFF:
            abort(403)
        if form.validate_on_submit():
            try:
                filing.file_class(db.session, current_user, klass, today_local(), teachers=form.teachers.data)
            except DomainError as exc:
                _fail(exc, form)
            else:
                db.session.commit()
                flash(_("已报备，等待监管部门审核"), "success")
                return redirect(url_for("reports.filing_page", class_id=class_id))
    preview = filing.snapshot(db.session, klass)
    changed = record is not None and record.status != ReviewStatus.returned and filing.changed_since_filed(record, preview)
    try:
        bureau = filing.bureau_of_class(db.session, klass)
    except DomainError:
        bureau = None
    return render_template("reports/filing.html", klass=klass, record=record, form=form, preview=preview,
                           bureau=bureau, decision=DecisionForm(), changed=changed,
                           can_decide=record is not None and filing.can_decide(current_user, record))


@bp.route("/reports/filings/<int:filing_id>/decide", methods=["POST"])
@roles_required(BUREAU)
def filing_decide(filing_id: int):
    record = get_visible(db.session, ClassFiling, filing_id, current_user)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        filing.decide_filing(db.session, current_user, record, form.decision.data == "accept", form.reason.data or "")
    except DomainError as exc:
        _fail(exc)
    else:
        db.session.commit()
        flash(_("已接收报备") if record.status == ReviewStatus.accepted else _("已退回报备"), "success")
    return redirect(url_for("reports.filing_page", class_id=record.class_id))


# ------------------------------------------------------------------ results
def _results_context(klass, import_form=None, submit_form=None):
    report = filing.results_of(db.session, klass)
    rows, totals = (report.rows, report.totals) if report is not None and report.status != ReviewStatus.returned \
        else filing.roster(db.session, klass)
    last = db.session.scalar(select(ResultImport).where(ResultImport.class_id == klass.id)
                             .order_by(ResultImport.id.desc()).limit(1)) if current_user.role == STAFF else None
    return dict(klass=klass, report=report, rows=rows, totals=totals, record=filing.filing_of(db.session, klass),
                import_form=import_form or ImportForm(), submit_form=submit_form or SubmitResultsForm(),
                decision=DecisionForm(), last_import=last, last_progress=import_jobs.progress(last) if last else None,
                can_decide=report is not None and filing.can_decide(current_user, report),
                ended=today_local() >= klass.end_date)


@bp.route("/reports/classes/<int:class_id>/results", methods=["GET", "POST"])
@roles_required(*READERS)
def results_page(class_id: int):
    klass = _class(class_id)
    form = SubmitResultsForm()
    if request.method == "POST":
        if current_user.role != STAFF:
            abort(403)
        if form.validate_on_submit():
            try:
                filing.submit_results(db.session, current_user, klass, today_local(), form.note.data or "")
            except DomainError as exc:
                _fail(exc, form)
            else:
                db.session.commit()
                flash(_("结果报告已提交，等待监管部门审核"), "success")
                return redirect(url_for("reports.results_page", class_id=class_id))
    return render_template("reports/results.html", **_results_context(klass, submit_form=form))


@bp.route("/reports/classes/<int:class_id>/results/import", methods=["POST"])
@roles_required(STAFF)
def results_import(class_id: int):
    klass = _class(class_id)
    form = ImportForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [_("请选择文件")]
        return render_template("reports/results.html", **_results_context(klass, import_form=form)), 422
    data = upload.read(imports.MAX_BYTES + 1)
    try:
        imp, created = imports.start_import(db.session, current_user, klass, upload.filename, data, utcnow())
    except DomainError as exc:
        db.session.rollback()
        form.form_errors = [exc.errors.get("file", exc.message) if isinstance(exc, ValidationFailed) else exc.message]
        return render_template("reports/results.html", **_results_context(klass, import_form=form)), 422
    try:
        db.session.commit()
    except IntegrityError:  # the same file, uploaded twice at once: the other request stored it
        db.session.rollback()
        flash(_("该文件已导入过，本次未重复导入，数据未改变"), "warning")
        return redirect(url_for("reports.results_page", class_id=class_id))
    if not created:
        flash(_("该文件已于 %(t)s 导入过，本次未重复导入，数据未改变",
                t=imp.created_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")), "warning")
        return redirect(url_for("reports.results_page", class_id=class_id))
    _launch(imp.id)
    flash(_("文件检查通过，共 %(n)d 行，正在导入", n=imp.total), "info")
    return redirect(url_for("reports.results_page", class_id=class_id))


def _launch(import_id: int) -> None:
    if current_app.config.get("REPORT_IMPORT_INLINE"):
        # Tests share one connection between request and worker: work in the request instead of a thread.
        import_jobs.process_import(current_app.extensions["lms_db"].sessionmaker, import_id)
    else:
        import_jobs.run_in_thread(current_app._get_current_object(), import_id)


@bp.route("/reports/imports/<int:import_id>.json")
@roles_required(STAFF, Role.system_admin)
def import_progress(import_id: int):
    return jsonify(import_jobs.progress(get_visible(db.session, ResultImport, import_id, current_user)))


@bp.route("/reports/classes/<int:class_id>/results/template.xlsx")
@roles_required(STAFF)
def results_template(class_id: int):
    import io

    klass = _class(class_id)
    return send_file(io.BytesIO(export.template(db.session, klass)), as_attachment=True,
                     download_name=f"offline-results-{klass.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/reports/classes/<int:class_id>/results.xlsx")
@roles_required(*READERS)
def results_export(class_id: int):
    import io

    ctx = _results_context(_class(class_id))
    data = export.roster_workbook(ctx["klass"].name, ctx["rows"], ctx["totals"])
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"results-{class_id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/reports/results/<int:report_id>/decide", methods=["POST"])
@roles_required(BUREAU)
def results_decide(report_id: int):
    report = get_visible(db.session, ResultsReport, report_id, current_user)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        filing.decide_results(db.session, current_user, report, form.decision.data == "accept", form.reason.data or "")
    except DomainError as exc:
        _fail(exc)
    else:
        db.session.commit()
        flash(_("已接收结果报告") if report.status == ReviewStatus.accepted else _("已退回结果报告"), "success")
    return redirect(url_for("reports.results_page", class_id=report.class_id))


# ------------------------------------------------------------------ annual reports
@bp.route("/reports/annual", methods=["GET", "POST"])
@roles_required(*READERS)
def annual_page():
    today = today_local()
    default_year = today.year if today.month == 12 else today.year - 1
    year = request.args.get("year", type=int) or default_year
    if not 2000 <= year <= today.year:  # a typed or stale link: show the year the page would open on
        year = default_year
    if current_user.role == STAFF:
        form = AnnualForm(data={"year": year})
        if form.validate_on_submit():
            try:
                annual.submit(db.session, current_user, form.year.data, form.narrative.data, today)
            except DomainError as exc:
                _fail(exc, form)
            else:
                db.session.commit()
                flash(_("年度工作报告已提交"), "success")
                return redirect(url_for("reports.annual_page", year=form.year.data))
        inst = current_user.institution
        reports = db.session.scalars(visible(AnnualWorkReport, current_user).order_by(AnnualWorkReport.year.desc())).all()
        return render_template("reports/annual_staff.html", form=form, year=form.year.data or year, reports=reports,
                               figures=annual.figures(db.session, inst, form.year.data or year),
                               due=annual.due_date(db.session, inst.region, form.year.data or year))
    rows = annual.status_for_region(db.session, current_user, year, today)
    return render_template("reports/annual_bureau.html", rows=rows, year=year)


@bp.route("/reports/annual/<int:report_id>")
@roles_required(*READERS)
def annual_detail(report_id: int):
    report = get_visible(db.session, AnnualWorkReport, report_id, current_user)
    return render_template("reports/annual_detail.html", report=report)


from reports import views_regulator  # noqa: E402,F401  (the dashboard, targets and settings pages)
