"""The talent pool for bureaus, the CQO's own entry and registrations, public notices (公示, the
``public_`` views need no login), the evaluation indicator tree and evaluations. The navigation entries and
the home panel are plain functions here; ``talent.wiring`` registers them."""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms import audit, sheets, uploads
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.domain import Role, Tier
from lms.errors import NotFound, ValidationFailed
from lms.extensions import limiter
from lms.forms import apply_errors, submit
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.scoping import get_visible, visible
from lms.templating import paginate, today_local
from lms.web import send_upload
from talent import queries
from talent.forms import AppointmentForm, DecisionForm, EvaluateForm, ImportForm, IndicatorForm, NoticeForm, StatusForm
from talent.models import Appointment, Indicator, Notice, PoolStatus, RegistrationStatus, TalentEntry
from talent.services import appointments as appointment_services
from talent.services import evaluation, notices as notice_services, status as status_services

bp = Blueprint("talent", __name__, url_prefix="/talent", template_folder="templates")
ADMINS = (Role.regulator_admin, Role.system_admin)
PUBLIC_LIMIT = "30/minute"


def nav(user) -> list[tuple[str, str]]:
    """The menu entries: the pool's pages for bureaus, the trainee's own entry."""
    if user.role in ADMINS:
        return [("talent.pool", _("人才库")), ("talent.appointments", _("任命登记")), ("talent.notices", _("公示")),
                ("talent.indicators", _("评价指标"))]
    if user.role == Role.trainee:
        return [("talent.me", _("我的人才库信息"))]
    return []


def home_panel(session, user) -> list[dict]:
    """The home page panel: the pool by status and the registrations to review (bureaus), the own status (trainee)."""
    if user.role in ADMINS:
        by_status, pending = queries.pool_counts(session, user)
        return [{"title": _("人才库"), "items": [f"{s.label} {n}" for s, n in by_status.items()]
                 + [_("待审核登记 %(n)d 份", n=pending)], "url": url_for("talent.pool")}]
    if user.role == Role.trainee:
        entry = session.scalar(visible(TalentEntry, user))
        if entry is None:
            return []
        return [{"title": _("人才库"), "items": [_("状态：%(s)s", s=entry.status.label)], "url": url_for("talent.me")}]
    return []


def _pool_stmt():
    """The pool list's select for this request's filters (the same as the API's)."""
    return queries.pool_filter(db.session, current_user, **queries.pool_filters(request.args))


@bp.route("/pool")
@roles_required(*ADMINS)
def pool():
    """The pool list, filtered and paged (``/api/v1/talent/entries`` gives the same entries)."""
    regions = db.session.scalars(visible(Region, current_user).order_by(Region.path)).all()
    page = queries.pool_page(db.session, _pool_stmt(), request.args.get("page", 1, type=int) or 1, queries.POOL_PAGE_SIZE)
    # Labels translated once a page, not once a row (each ``.label`` builds its enum's lazy strings).
    return render_template("talent/pool.html", page=page, q=queries.pool_filters(request.args)["q"], PoolStatus=PoolStatus,
                           Tier=Tier, status_labels={s: s.label for s in PoolStatus}, tier_labels={t: t.label for t in Tier},
                           regions=regions, args=request.args, year=today_local().year)


@bp.route("/pool/export")
@roles_required(*ADMINS)
def pool_export():
    """The filtered pool list as an Excel workbook (audited)."""
    entries = db.session.scalars(_pool_stmt().limit(20000)).all()
    data = queries.export_pool(db.session, entries, today_local())
    audit.record(db.session, current_user, "talent.export", object_type="TalentEntry", rows=len(entries))
    db.session.commit()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"talent-pool-{today_local():%Y%m%d}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/entries/<int:entry_id>")
@roles_required(Role.trainee, *ADMINS)
def entry(entry_id: int):
    """A pool entry: its data, history, standings and this year's hours."""
    return _entry_page(get_visible(db.session, TalentEntry, entry_id, current_user))


def _entry_page(e: TalentEntry, form: StatusForm | None = None):
    today = today_local()
    return render_template("talent/entry.html", e=e, today=today, **queries.entry_history(db.session, current_user, e, today),
                           form=form or (StatusForm(status=e.status.value) if current_user.role in ADMINS else None))


@bp.route("/entries/<int:entry_id>/status", methods=["POST"])
@roles_required(*ADMINS)
def entry_status(entry_id: int):
    """A bureau changes an entry's status (or disqualifies), with a reason."""
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    form = StatusForm()
    if form.validate_on_submit():
        done = submit(form, lambda: status_services.manual_status(db.session, current_user, e, form.status.data, form.reason.data,
                                                                  today_local(), disqualify=form.disqualify.data),
                      success=_("状态已更新"), redirect_to=url_for("talent.entry", entry_id=e.id))
        if done:
            return done
    return _entry_page(e, form)


@bp.route("/me")
@roles_required(Role.trainee)
def me():
    """The trainee's own entry, or their registrations while not in the pool."""
    e = db.session.scalar(visible(TalentEntry, current_user))
    if e is not None:
        return _entry_page(e)
    return render_template("talent/me_empty.html", appointments=queries.appointments_of(db.session, current_user))


# ------------------------------------------------------------------ appointments
def _appointment_data(form: AppointmentForm) -> appointment_services.AppointmentData:
    return appointment_services.AppointmentData(
        kind=form.kind.data, appointed_on=form.appointed_on.data, enterprise_head=form.enterprise_head.data,
        enterprise_head_phone=form.enterprise_head_phone.data, quality_head=form.quality_head.data,
        quality_head_phone=form.quality_head_phone.data, cv=form.cv.data, awards=form.awards.data,
        opinion=form.opinion.data, opinion_date=form.opinion_date.data)


@bp.route("/appointments/new", methods=["GET", "POST"])
@body_limit(uploads.MAX_BYTES + FORM_ROOM)
@roles_required(Role.trainee)
def appointment_new():
    """The CQO files an appointment or change registration, with the appointment letter."""
    prof = queries.profile_of(db.session, current_user.id)
    form = AppointmentForm()
    if form.validate_on_submit():
        f = request.files.get("letter")
        letter = f.read() if f else b""
        done = submit(form, lambda: appointment_services.submit_appointment(
            db.session, current_user, _appointment_data(form), letter, f.filename if f else "",
            current_app.config["UPLOAD_DIR"], today_local()),
            success=_("登记表已提交，等待监管部门审核"), redirect_to=url_for("talent.me"))
        if done:
            return done
    elif request.method == "GET" and prof is not None:
        form.opinion.data = _("我单位任命 %(n)s 同志为企业首席质量官。", n=prof.real_name)
    return render_template("talent/appointment_form.html", form=form, prof=prof)


@bp.route("/appointments")
@roles_required(*ADMINS)
def appointments():
    """The registrations to review, by status."""
    status = request.args.get("status", "submitted")
    return render_template("talent/appointments.html", page=paginate(db.session, queries.appointment_queue(current_user, status)),
                           status=status, RegistrationStatus=RegistrationStatus)


@bp.route("/appointments/<int:appt_id>", methods=["GET", "POST"])
@roles_required(Role.trainee, *ADMINS)
def appointment(appt_id: int):
    """A registration; a bureau accepts or returns it here."""
    appt = get_visible(db.session, Appointment, appt_id, current_user)
    form = DecisionForm() if current_user.role in ADMINS else None
    if form is not None and form.validate_on_submit():
        done = submit(form, lambda: appointment_services.review_appointment(
            db.session, current_user, appt, accept=form.decision.data == "accept", reason=form.reason.data),
            success=_("审核结果已保存"), redirect_to=url_for("talent.appointments"))
        if done:
            return done
    elif request.method == "POST":
        abort(403)
    return render_template("talent/appointment.html", appt=appt, prof=queries.profile_of(db.session, appt.user_id), form=form)


@bp.route("/appointments/<int:appt_id>/letter")
@roles_required(Role.trainee, *ADMINS)
def appointment_letter(appt_id: int):
    """A registration's appointment letter."""
    appt = get_visible(db.session, Appointment, appt_id, current_user)
    return send_upload(appt.letter_path, appt.letter_mime, appt.letter_name)


# ------------------------------------------------------------------ notices (公示)
@bp.route("/notices", methods=["GET", "POST"])
@roles_required(*ADMINS)
def notices():
    """The region's notices; a bureau publishes a new one here."""
    form = NoticeForm() if current_user.role == Role.regulator_admin else None
    if form is not None and request.method == "GET":
        form.title.data = _("%(r)s首席质量官人才库公示（%(d)s）", r=current_user.region.name, d=today_local().isoformat())
    if form is not None and form.validate_on_submit():
        done = submit(form, lambda: notice_services.publish_notice(
            db.session, current_user, title=form.title.data, objection_days=form.objection_days.data,
            contact=form.contact.data, today=today_local()),
            success=_("公示已发布"), redirect_to=lambda n: url_for("talent.public_notice", notice_id=n.id))
        if done:
            return done
    stmt = visible(Notice, current_user).order_by(Notice.published_on.desc(), Notice.id.desc())
    return render_template("talent/notices.html", page=paginate(db.session, stmt), form=form)


@bp.route("/public/notices")
@limiter.limit(PUBLIC_LIMIT)
def public_notices():
    """The published notices, for everyone."""
    stmt = queries.published_notices(today_local())
    return render_template("talent/public_notices.html", page=paginate(db.session, stmt, per_page=10), today=today_local())


@bp.route("/public/notices/<int:notice_id>")
@limiter.limit(PUBLIC_LIMIT)
def public_notice(notice_id: int):
    """A published notice, searched by exact name or certificate number (never listed whole)."""
    today = today_local()
    notice = db.session.scalar(queries.published_notices(today).where(Notice.id == notice_id))
    if notice is None:
        raise NotFound(_("公示不存在"))
    name = (request.args.get("name") or "").strip()[:64]
    cert = (request.args.get("certificate") or "").strip()[:64]
    page, error = None, None
    if name or cert:
        try:
            page = paginate(db.session, queries.public_search_stmt(notice.id, name=name, certificate=cert), per_page=10)
        except ValidationFailed as exc:
            error = exc.message
    return render_template("talent/public_notice.html", notice=notice, page=page, name=name, cert=cert, error=error,
                           count=queries.notice_size(db.session, notice.id), today=today)


# ------------------------------------------------------------------ indicators and evaluations
def _province_for_tree() -> Region | None:
    """The province whose tree is shown: the one asked for (system admin), else the bureau's own province."""
    if current_user.role == Role.system_admin:
        pid = request.args.get("province", type=int)
        return db.session.get(Region, pid) if pid else db.session.scalar(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
    return province_of(db.session, current_user.region_id)


def _indicator_rows(form: ImportForm | None, node_form: IndicatorForm | None) -> list[evaluation.IndicatorRow] | None:
    """The rows this POST saves: an uploaded sheet's, or the one node of the form; None when there are none."""
    if form is not None and request.form.get("action") == "import" and form.validate_on_submit():
        f = request.files.get("imp-file")
        try:
            return evaluation.parse_indicator_xlsx(f.read() if f else b"", f.filename if f else "")
        except ValidationFailed as exc:  # the row, column and value of each problem, beside the file field
            apply_errors(form, exc)
            return None
    if node_form is not None and request.form.get("action") == "node" and node_form.validate_on_submit():
        d = node_form
        return [evaluation.IndicatorRow(code=d.code.data, parent=d.parent.data or "", name=d.name.data or "",
                                        weight=float(d.weight.data) if d.weight.data is not None else None,
                                        max_points=float(d.max_points.data) if d.max_points.data is not None else None,
                                        evidence_type=d.evidence_type.data or "")]
    return None


@bp.route("/indicators", methods=["GET", "POST"])
@body_limit(sheets.MAX_BYTES + FORM_ROOM)
@roles_required(*ADMINS)
def indicators():
    """A province's indicator tree; its own bureau (or a system admin) imports a sheet or edits a node."""
    province = _province_for_tree()
    can_edit = current_user.role == Role.system_admin or current_user.region_id == province.id
    if request.method == "POST" and not can_edit:
        abort(403)
    form = ImportForm(prefix="imp") if can_edit else None
    node_form = IndicatorForm(prefix="node") if can_edit else None
    rows = _indicator_rows(form, node_form)
    if rows is not None:
        from_file = request.form.get("action") == "import"
        done = submit(form if from_file else None,
                      lambda: evaluation.save_indicators(db.session, current_user, province.id, rows),
                      success=None, redirect_to=lambda n: _saved(n, province.id))
        if done:
            return done
    tree = evaluation.indicator_tree(db.session, province.id)
    page = render_template("talent/indicators.html", tree=tree, province=province, form=form, node_form=node_form)
    return (page, 422) if form is not None and form.file.errors else page


def _saved(n: int, province_id: int) -> str:
    """Say how many indicators were saved; the URL to go back to."""
    flash(_("已保存 %(n)d 项指标", n=n), "success")
    return url_for("talent.indicators", province=province_id)


@bp.route("/indicators/<int:node_id>/delete", methods=["POST"])
@roles_required(*ADMINS)
def indicator_delete(node_id: int):
    """Remove an unused lower-level indicator."""
    node = get_visible(db.session, Indicator, node_id, current_user)
    if EvaluateForm().validate_on_submit():
        submit(None, lambda: evaluation.delete_indicator(db.session, current_user, node), success=_("指标已删除"))
    return redirect(url_for("talent.indicators", province=node.province_id))


def _scores(tree) -> dict[int, float | None]:
    """The posted points of each leaf indicator (None when empty or not a number)."""
    scores: dict[int, float | None] = {}
    for leaf in evaluation.leaves(tree):
        raw = request.form.get(f"s{leaf.id}", "").strip()
        try:
            scores[leaf.id] = float(raw) if raw else None
        except ValueError:
            scores[leaf.id] = None
    return scores


@bp.route("/entries/<int:entry_id>/evaluate", methods=["GET", "POST"])
@roles_required(*ADMINS)
def evaluate(entry_id: int):
    """A bureau evaluates a pool member against the province's tree."""
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    tree = evaluation.indicator_tree(db.session, e.province_id)
    form = EvaluateForm()
    errors: dict = {}  # the per-indicator errors, keyed like the score inputs (the template marks each)

    def run():
        try:
            return evaluation.evaluate(db.session, current_user, e, _scores(tree), today_local(), form.notes.data)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            raise

    if form.validate_on_submit():
        done = submit(form, run, redirect_to=lambda ev: _evaluated(ev, e.id))
        if done:
            return done
    return render_template("talent/evaluate.html", e=e, tree=tree, form=form, errors=errors, values=request.form)


def _evaluated(ev, entry_id: int) -> str:
    """Say the grade and stars just given; the URL of the entry."""
    flash(_("评价已保存：%(g)s，%(s)d 星", g=ev.grade, s=ev.stars), "success")
    return url_for("talent.entry", entry_id=entry_id)
