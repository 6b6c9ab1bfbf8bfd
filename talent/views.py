"""The talent pool for bureaus, the CQO's own entry and registrations, public notices (公示, the
``public_`` views need no login), the evaluation indicator tree and evaluations. The navigation entries and
the home panel are plain functions here; ``talent.wiring`` registers them."""
from __future__ import annotations

import io

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from lms import audit, sheets, uploads
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.domain import Role
from lms.errors import ValidationFailed
from lms.extensions import limiter
from lms.forms import apply_errors, submit
from lms.auth.models import User
from lms.orgs.models import Enterprise, Region
from lms.orgs.services import province_of
from lms.scoping import get_visible, visible
from lms.templating import paginate, today_local
from lms.web import send_upload
from talent import export, pool_page, queries
from talent.forms import (AppointmentForm, AppointmentRuleForm, CloseForm, ConfirmForm, DecisionForm, EndForm, EnterpriseAccountForm,
                          EnterpriseRegisterForm, EvaluateForm,
                          ImportForm, IndicatorForm, LiftForm, NoticeForm, ObjectionForm, ResolveForm, SanctionForm, StatusForm)
from talent.models import (Appointment, Indicator, Notice, NoticeObjection, RegistrationStatus, Sanction,
                           TalentEntry)
from talent.services import appointments as appointment_services
from talent.services import accounts as account_services
from talent.services import evaluation, notices as notice_services, provincial_eval, sanctions, status as status_services

bp = Blueprint("talent", __name__, url_prefix="/talent", template_folder="templates")
ADMINS = (Role.regulator_admin, Role.system_admin)
PUBLIC_LIMIT = "30/minute"
EXPORT_MAX_ROWS = 20000  # rows an export of the pool holds at most (as before issue 20)
OBJECTION_LIMIT = "5/hour"  # objections per address (示例: an operator may change it here)


def nav(user) -> list[tuple[str, str]]:
    """The menu entries: the pool's pages for bureaus, the trainee's own entry."""
    if user.role in ADMINS:
        return [("talent.pool", _("人才库")), ("talent.appointments", _("任命登记")), ("talent.notices", _("公示")),
                ("talent.indicators", _("评价指标")), ("talent.enterprise_accounts", _("企业账号")),
                ("talent.assessments", _("评价流程")), ("talent.selections", _("评选"))]
    if user.role == Role.trainee:
        return [("talent.me", _("我的人才库信息")), ("talent.assessments", _("我的评价"))]
    if user.role == Role.enterprise:
        return [("talent.appointments", _("首席质量官登记")), ("talent.assessments", _("首席质量官评价"))]
    if user.role == Role.institution_staff:
        return [("talent.assessments", _("专家评分"))]
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
    # The region filter's choices as (id, name) rows, not ORM objects (issue 20); the list's statements and the
    # choices kept per filter shape and scope (issue 20, fifth round: talent.queries.pool_page).
    regions = queries.region_choices(db.session, current_user)
    filters = queries.pool_filters(request.args)
    page = queries.pool_page(db.session, queries.pool_query(db.session, current_user, **filters),
                             request.args.get("page", 1, type=int) or 1, queries.POOL_PAGE_SIZE)
    # The chosen filter values read once (the template compared ``args.get(...)`` on every option).
    sel = {"status": request.args.get("status") or "", "tier": request.args.get("tier") or "",
           "region": filters["region_id"], "stars": filters["stars"], "enterprise": request.args.get("enterprise", "")}
    # The filter form and the rows' markup kept per language and region options (talent.pool_page, issue 20).
    # base.html around the list kept per language and user (talent.pool_page.framed, issue 20, fifth round).
    # The export link is a value of the context, not an expression of the template: the kept content block
    # (talent.pool_page.content) fills it into a slot, so it is computed in one place.
    return pool_page.framed("talent/pool.html", dict(page=page, args=request.args,
                                                     export_url=url_for("talent.pool_export", **request.args),
                                                     filter_form=pool_page.filter_form(regions, sel, filters["q"]),
                                                     rows=pool_page.rows(page.items)))


@bp.route("/pool/export")
@roles_required(*ADMINS)
def pool_export():
    """The filtered pool list as an Excel workbook (audited), streamed as its rows are read (issue 20)."""
    stmt = _pool_stmt().limit(EXPORT_MAX_ROWS)
    rows = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(TalentEntry.id).subquery()))
    audit.record(db.session, current_user, "talent.export", object_type="TalentEntry", rows=rows)
    db.session.commit()
    return _xlsx_response(queries.export_pool(db.session, stmt, today_local()), "人才库",
                          f"talent-pool-{today_local():%Y%m%d}.xlsx")


def _xlsx_response(rows, title: str, filename: str) -> Response:
    """An .xlsx written by ``lms.sheets.stream`` while the rows are read: the first bytes leave at once."""
    return Response(stream_with_context(sheets.stream(title, rows)), headers={
        "Content-Disposition": f"attachment; filename={filename}"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/entries/<int:entry_id>")
@roles_required(Role.trainee, *ADMINS)
def entry(entry_id: int):
    """A pool entry: its data, history, standings and this year's hours."""
    return _entry_page(get_visible(db.session, TalentEntry, entry_id, current_user))


def _entry_page(e: TalentEntry, form: StatusForm | None = None, sanction_form: SanctionForm | None = None):
    today = today_local()
    admin = current_user.role in ADMINS
    return render_template("talent/entry.html", e=e, today=today, **queries.entry_history(db.session, current_user, e, today),
                           form=form or (StatusForm(status=e.status.value) if admin else None),
                           sanctions=sanctions.history(db.session, e.id) if admin else [],
                           sanction_form=sanction_form or (SanctionForm() if sanctions.can_sanction(current_user) else None),
                           lift_form=LiftForm() if sanctions.can_sanction(current_user) else None)


@bp.route("/entries/<int:entry_id>/status", methods=["POST"])
@roles_required(*ADMINS)
def entry_status(entry_id: int):
    """A bureau changes an entry's status (or disqualifies), with a reason."""
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    form = StatusForm()
    if form.validate_on_submit():
        done = submit(form, lambda: status_services.manual_status(db.session, current_user, e, form.status.data, form.reason.data,
                                                                  today_local()),
                      success=_("状态已更新"), redirect_to=url_for("talent.entry", entry_id=e.id))
        if done:
            return done
    return _entry_page(e, form)


@bp.route("/entries/<int:entry_id>/sanctions", methods=["POST"])
@roles_required(Role.regulator_admin)
def entry_sanction(entry_id: int):
    """A bureau warns, suspends or disqualifies a member, with reason, basis and evidence (the API's twin)."""
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    form = SanctionForm()
    if form.validate_on_submit():
        done = submit(form, lambda: sanctions.impose(db.session, current_user, e, kind=form.kind.data, reason=form.reason.data,
                                                     basis=form.basis.data, evidence=form.evidence.data, today=today_local()),
                      success=_("处理已记录"), redirect_to=url_for("talent.entry", entry_id=e.id))
        if done:
            return done
    return _entry_page(e, sanction_form=form)


@bp.route("/sanctions/<int:sanction_id>/lift", methods=["POST"])
@roles_required(Role.regulator_admin)
def sanction_lift(sanction_id: int):
    """A bureau lifts a warning or a suspension, with a reason."""
    sanction = get_visible(db.session, Sanction, sanction_id, current_user)
    form = LiftForm()
    if form.validate_on_submit():
        submit(form, lambda: sanctions.lift(db.session, current_user, sanction, form.lift_reason.data, today_local()),
               success=_("处理已解除"))
    for errors in form.errors.values():
        flash(errors[0], "danger")
    return redirect(url_for("talent.entry", entry_id=sanction.entry_id))


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
        opinion=form.opinion.data, opinion_date=form.opinion_date.data, id_number=form.id_number.data or "")


@bp.route("/appointments/new", methods=["GET", "POST"])
@body_limit(uploads.MAX_BYTES + FORM_ROOM)
@roles_required(Role.trainee, Role.enterprise)
def appointment_new():
    """The enterprise (or the CQO) files an appointment or change registration, with the appointment letter."""
    prof = queries.profile_of(db.session, current_user.id) if current_user.role == Role.trainee else None
    form = AppointmentForm()
    if form.validate_on_submit():
        f = request.files.get("letter")
        letter = f.read() if f else b""
        done = submit(form, lambda: appointment_services.submit_appointment(
            db.session, current_user, _appointment_data(form), letter, f.filename if f else "",
            current_app.config["UPLOAD_DIR"], today_local()),
            success=_("登记表已提交，等待监管部门审核"),
            redirect_to=url_for("talent.me" if current_user.role == Role.trainee else "talent.appointments", status="submitted"))
        if done:
            return done
    elif request.method == "GET" and prof is not None:
        form.opinion.data = _("我单位任命 %(n)s 同志为企业首席质量官。", n=prof.real_name)
    enterprise = prof.enterprise if prof is not None else queries.enterprise_of(db.session, current_user)
    return render_template("talent/appointment_form.html", form=form, prof=prof, enterprise=enterprise)


@bp.route("/appointments", methods=["GET", "POST"])
@roles_required(Role.enterprise, *ADMINS)
def appointments():
    """The registrations by status (a bureau's to review, an enterprise's own); a province bureau sets here the
    tier an appointee must hold."""
    status = request.args.get("status", "submitted")
    rule_form = None
    if current_user.role == Role.regulator_admin and current_user.region.parent_id is None:
        rule = queries.appointment_rule(db.session, current_user.region_id)
        rule_form = AppointmentRuleForm(min_tier=rule.min_tier.value if rule and rule.min_tier else "",
                                        basis=rule.basis if rule else "")
        if rule_form.validate_on_submit():
            done = submit(rule_form, lambda: appointment_services.set_appointment_rule(
                db.session, current_user, current_user.region_id, rule_form.min_tier.data, rule_form.basis.data),
                success=_("任职要求已保存"), redirect_to=url_for("talent.appointments"))
            if done:
                return done
    return render_template("talent/appointments.html", page=paginate(db.session, queries.appointment_queue(current_user, status)),
                           status=status, RegistrationStatus=RegistrationStatus, rule_form=rule_form)


@bp.route("/appointments/<int:appt_id>", methods=["GET", "POST"])
@roles_required(Role.trainee, Role.enterprise, *ADMINS)
def appointment(appt_id: int):
    """A registration: a bureau accepts or returns it, the CQO confirms it, the enterprise registers the end."""
    appt = get_visible(db.session, Appointment, appt_id, current_user)
    form, action = _appointment_form(appt)
    if form is not None and form.validate_on_submit():
        done = submit(form, action, success=_("已保存"), redirect_to=url_for("talent.appointment", appt_id=appt.id))
        if done:
            return done
    elif request.method == "POST":
        abort(403)
    return render_template("talent/appointment.html", appt=appt, prof=queries.profile_of(db.session, appt.user_id), form=form)


def _appointment_form(appt: Appointment):
    """The one form this user may post on a registration, and the service it calls."""
    today = today_local()
    if current_user.role in ADMINS:
        form = DecisionForm()
        return form, lambda: appointment_services.review_appointment(
            db.session, current_user, appt, accept=form.decision.data == "accept", reason=form.reason.data)
    if current_user.role == Role.trainee:
        return ConfirmForm(), lambda: appointment_services.confirm_appointment(db.session, current_user, appt)
    form = EndForm()
    return form, lambda: appointment_services.end_appointment(db.session, current_user, appt, form.ended_on.data, today)


@bp.route("/appointments/<int:appt_id>/letter")
@roles_required(Role.trainee, Role.enterprise, *ADMINS)
def appointment_letter(appt_id: int):
    """A registration's appointment letter."""
    appt = get_visible(db.session, Appointment, appt_id, current_user)
    return send_upload(appt.letter_path, appt.letter_mime, appt.letter_name)


@bp.route("/enterprise-accounts", methods=["GET", "POST"])
@roles_required(*ADMINS)
def enterprise_accounts():
    """The enterprise accounts of the region; a county or city bureau creates one for an enterprise of its region."""
    form = EnterpriseAccountForm() if current_user.role == Role.regulator_admin else None
    if form is not None:
        form.enterprise_id.choices = [(e.id, f"{e.name}（{e.credit_code}）") for e in db.session.scalars(
            visible(Enterprise, current_user).order_by(Enterprise.name).limit(1000))]
        if form.validate_on_submit():
            ent = get_visible(db.session, Enterprise, form.enterprise_id.data, current_user)
            done = submit(form, lambda: account_services.create_enterprise_account(
                db.session, current_user, ent, username=form.username.data, display_name=form.display_name.data,
                password=form.password.data), success=_("企业账号已创建"), redirect_to=url_for("talent.enterprise_accounts"))
            if done:
                return done
    accounts = paginate(db.session, visible(User, current_user).where(User.role == Role.enterprise).order_by(User.id.desc()))
    return render_template("talent/enterprise_accounts.html", form=form, accounts=accounts, is_pending=account_services.is_pending,
                           review_form=CloseForm(prefix="review"))


@bp.route("/enterprise-accounts/<int:user_id>/review", methods=["POST"])
@roles_required(Role.regulator_admin)
def enterprise_account_review(user_id: int):
    """The bureau approves or refuses a self-registered enterprise account."""
    user = get_visible(db.session, User, user_id, current_user)
    if CloseForm(prefix="review").validate_on_submit():
        approve = request.form.get("decision") == "approve"
        submit(None, lambda: account_services.review_enterprise_account(db.session, current_user, user, approve=approve),
               success=_("账号已启用") if approve else _("申请已拒绝"))
    return redirect(url_for("talent.enterprise_accounts"))


@bp.route("/public/enterprise-register", methods=["GET", "POST"])
@limiter.limit(OBJECTION_LIMIT, methods=["POST"])
def public_enterprise_register():
    """An enterprise registers its account with its unified social credit code; the county approves it."""
    form = EnterpriseRegisterForm()
    if form.validate_on_submit():
        done = submit(form, lambda: account_services.register_enterprise(
            db.session, credit_code=form.credit_code.data, username=form.username.data, display_name=form.display_name.data,
            password=form.password.data), success=_("申请已提交：所在县（市、区）监管部门审核通过后即可登录"),
            redirect_to=url_for("talent.public_notices"))
        if done:
            return done
    return render_template("talent/enterprise_register.html", form=form)


# ------------------------------------------------------------------ notices (公示)
@bp.route("/notices", methods=["GET", "POST"])
@roles_required(*ADMINS)
def notices():
    """The region's notices; a bureau publishes a new one here."""
    form = NoticeForm() if current_user.role == Role.regulator_admin else None
    if form is not None and request.method == "GET":
        form.title.data = _("%(r)s受聘首席质量官公示（%(d)s）", r=current_user.region.name, d=today_local().isoformat())
    if form is not None and form.validate_on_submit():
        done = submit(form, lambda: notice_services.publish_notice(
            db.session, current_user, title=form.title.data, objection_days=form.objection_days.data,
            contact=form.contact.data, today=today_local(), kind=form.kind.data),
            success=_("公示已发布"), redirect_to=lambda n: url_for("talent.public_notice", notice_id=n.id))
        if done:
            return done
    stmt = visible(Notice, current_user).order_by(Notice.published_on.desc(), Notice.id.desc())
    return render_template("talent/notices.html", page=paginate(db.session, stmt), form=form)


@bp.route("/notices/<int:notice_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def notice_admin(notice_id: int):
    """A notice for its bureau: the objections lodged, their resolution, and closing the notice."""
    notice = get_visible(db.session, Notice, notice_id, current_user)
    close_form = CloseForm(prefix="close")
    if request.method == "POST" and close_form.validate_on_submit():
        submit(close_form, lambda: notice_services.close_notice(db.session, current_user, notice, today_local()),
               success=_("公示已结束"))
        return redirect(url_for("talent.notice_admin", notice_id=notice.id))
    return render_template("talent/notice_admin.html", notice=notice, close_form=close_form, resolve_form=ResolveForm(),
                           objections=queries.objections_of(db.session, current_user, notice.id),
                           count=queries.notice_size(db.session, notice.id), today=today_local())


@bp.route("/objections/<int:objection_id>/resolve", methods=["POST"])
@roles_required(Role.regulator_admin)
def objection_resolve(objection_id: int):
    """The bureau records how an objection was resolved."""
    obj = get_visible(db.session, NoticeObjection, objection_id, current_user)
    form = ResolveForm()
    if form.validate_on_submit():
        submit(form, lambda: notice_services.resolve_objection(db.session, current_user, obj, upheld=form.outcome.data == "upheld",
                                                               resolution=form.resolution.data, today=today_local()),
               success=_("处理结果已记录"))
    for errors in form.errors.values():
        flash(errors[0], "danger")
    return redirect(url_for("talent.notice_admin", notice_id=obj.notice_id))


@bp.route("/public/notices")
@limiter.limit(PUBLIC_LIMIT)
def public_notices():
    """The published notices, for everyone."""
    stmt = queries.published_notices(today_local())
    return render_template("talent/public_notices.html", page=paginate(db.session, stmt, per_page=10), today=today_local())


def _published(notice_id: int) -> Notice:
    return queries.published_notice(db.session, notice_id, today_local())


@bp.route("/public/notices/<int:notice_id>")
@limiter.limit(PUBLIC_LIMIT)
def public_notice(notice_id: int):
    """A published notice: its list (masked), paged and printable, an exact search, and the objection form while
    the period runs."""
    return _public_notice_page(_published(notice_id))


def _public_notice_page(notice: Notice, form: ObjectionForm | None = None):
    today = today_local()
    name = (request.args.get("name") or "").strip()[:64]
    cert = (request.args.get("certificate") or "").strip()[:64]
    page, error = None, None
    if name or cert:
        try:
            page = paginate(db.session, queries.public_search_stmt(notice.id, name=name, certificate=cert), per_page=10)
        except ValidationFailed as exc:
            error = exc.message
    lines = paginate(db.session, queries.notice_lines(notice.id), per_page=50) if page is None else None
    form = form or ObjectionForm(line=request.args.get("line", type=int) or "")
    return render_template("talent/public_notice.html", notice=notice, page=page, lines=lines, name=name, cert=cert,
                           error=error, count=queries.notice_size(db.session, notice.id), today=today,
                           is_open=notice_services.is_open(notice, today), form=form)


@bp.route("/public/notices/<int:notice_id>/objections", methods=["POST"])
@limiter.limit(OBJECTION_LIMIT)
def public_notice_objection(notice_id: int):
    """Anyone lodges an objection during the period, with contact details (rate-limited per address)."""
    notice = _published(notice_id)
    form = ObjectionForm()
    if form.validate_on_submit():
        line = int(form.line.data) if (form.line.data or "").isdigit() else None
        done = submit(form, lambda: notice_services.lodge_objection(
            db.session, notice, line_id=line, text=form.text.data, contact_name=form.contact_name.data,
            contact=form.contact.data, today=today_local()),
            success=_("异议已提交，发布机关将与您联系"), redirect_to=url_for("talent.public_notice", notice_id=notice.id))
        if done:
            return done
    return _public_notice_page(notice, form), 422


@bp.route("/public/notices/<int:notice_id>.xlsx")
@limiter.limit(PUBLIC_LIMIT)
def public_notice_xlsx(notice_id: int):
    """The notice's list as an Excel workbook, streamed as its lines are read (issue 20)."""
    notice = _published(notice_id)

    def rows():  # read while the response streams, in the session the response runs in
        again = db.session.get(Notice, notice.id)
        yield from export.notice_rows(again, db.session.scalars(
            queries.notice_lines(again.id).execution_options(yield_per=1000)))

    return _xlsx_response(rows(), _("公示名单"), f"notice-{notice.id}.xlsx")


@bp.route("/public/notices/<int:notice_id>.pdf")
@limiter.limit(PUBLIC_LIMIT)
def public_notice_pdf(notice_id: int):
    """The notice on A4 as a PDF."""
    notice = _published(notice_id)
    data = export.notice_pdf(notice, db.session.scalars(queries.notice_lines(notice.id)).all())
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"notice-{notice.id}.pdf", mimetype="application/pdf")


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
                      lambda: provincial_eval.save_rows_checked(db.session, current_user, province.id, rows),
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
