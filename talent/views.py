"""The talent pool for bureaus, the CQO's own entry and registrations, public notices (公示, the
``public_`` views need no login), the evaluation indicator tree and evaluations."""
from __future__ import annotations


from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms import audit
from lms.auth.views import roles_required
from lms.core_views import add_home_panel
from credits import services as credit_services
from lms.db import db
from lms.domain import Role, Tier
from lms.errors import DomainError, NotFound, ValidationFailed
from lms.extensions import limiter
from lms.forms import apply_errors
from lms.orgs.models import Region
from lms.scoping import get_visible, visible
from talent import services
from talent.forms import AppointmentForm, DecisionForm, EvaluateForm, ImportForm, IndicatorForm, NoticeForm, StatusForm
from talent.models import (
    Appointment, Evaluation, Indicator, Notice, NoticeEntry, PoolStatus, RegistrationStatus, TalentEntry, TalentEvent,
)
from lms.templating import add_nav, paginate, today_local


from talent import demo as _demo  # noqa: E402,F401  (registers the demo seed hook)

bp = Blueprint("talent", __name__, url_prefix="/talent", template_folder="templates")
ADMINS = (Role.regulator_admin, Role.system_admin)
PUBLIC_LIMIT = "30/minute"


@add_nav
def _nav(user):
    if user.role in ADMINS:
        return [("talent.pool", _("人才库")), ("talent.appointments", _("任命登记")), ("talent.notices", _("公示")),
                ("talent.indicators", _("评价指标"))]
    if user.role == Role.trainee:
        return [("talent.me", _("我的人才库信息"))]
    return []


@add_home_panel
def _panel(session, user):
    if user.role in ADMINS:
        from sqlalchemy import func

        base = visible(TalentEntry, user).subquery()
        rows = dict(session.execute(select(base.c.status, func.count()).group_by(base.c.status)).all())
        pending = session.scalar(select(func.count()).select_from(
            visible(Appointment, user).where(Appointment.status == RegistrationStatus.submitted).subquery())) or 0
        return [{"title": _("人才库"), "items": [f"{s.label} {rows.get(s, 0) or rows.get(s.value, 0)}" for s in PoolStatus]
                 + [_("待审核登记 %(n)d 份", n=pending)], "url": url_for("talent.pool")}]
    if user.role == Role.trainee:
        entry = session.scalar(visible(TalentEntry, user))
        if entry is None:
            return []
        return [{"title": _("人才库"), "items": [_("状态：%(s)s", s=entry.status.label)], "url": url_for("talent.me")}]
    return []


def _pool_stmt():
    q = (request.args.get("q") or "").strip()[:64]
    stmt = services.pool_filter(db.session, current_user, q=q, status=request.args.get("status"),
                                tier=request.args.get("tier"), region_id=request.args.get("region", type=int),
                                stars=request.args.get("stars", type=int), enterprise=request.args.get("enterprise") or "")
    return stmt, q


@bp.route("/pool")
@roles_required(*ADMINS)
def pool():
    stmt, q = _pool_stmt()
    regions = db.session.scalars(visible(Region, current_user).order_by(Region.path)).all()
    page = services.pool_page(db.session, stmt, request.args.get("page", 1, type=int) or 1, services.POOL_PAGE_SIZE)
    # Labels translated once a page, not once a row (each ``.label`` builds its enum's lazy strings).
    return render_template("talent/pool.html", page=page, q=q, PoolStatus=PoolStatus, Tier=Tier,
                           status_labels={s: s.label for s in PoolStatus}, tier_labels={t: t.label for t in Tier},
                           regions=regions, args=request.args, year=today_local().year)


@bp.route("/pool/export")
@roles_required(*ADMINS)
def pool_export():
    import io

    stmt, _q = _pool_stmt()
    entries = db.session.scalars(stmt.limit(20000)).all()
    data = services.export_pool(db.session, entries, today_local())
    audit.record(db.session, current_user, "talent.export", object_type="TalentEntry", rows=len(entries))
    db.session.commit()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"talent-pool-{today_local():%Y%m%d}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/entries/<int:entry_id>")
@roles_required(Role.trainee, *ADMINS)
def entry(entry_id: int):
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    return _entry_page(e)


def _entry_page(e: TalentEntry, form: StatusForm | None = None):
    today = today_local()
    events = db.session.scalars(visible(TalentEvent, current_user).where(TalentEvent.entry_id == e.id)
                                .order_by(TalentEvent.id.desc())).all()
    evaluations = db.session.scalars(visible(Evaluation, current_user).where(Evaluation.entry_id == e.id)
                                     .order_by(Evaluation.id.desc())).all()
    appointments = db.session.scalars(visible(Appointment, current_user).where(Appointment.user_id == e.user_id)
                                      .order_by(Appointment.id.desc())).all()
    current = credit_services.progress(db.session, e.user_id, today.year, e.province_id)
    return render_template("talent/entry.html", e=e, events=events, evaluations=evaluations, appointments=appointments,
                           standings=services.standings_of(db.session, e.user_id), current=current, today=today,
                           form=form or (StatusForm(status=e.status.value) if current_user.role in ADMINS else None))


@bp.route("/entries/<int:entry_id>/status", methods=["POST"])
@roles_required(*ADMINS)
def entry_status(entry_id: int):
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            services.manual_status(db.session, current_user, e, form.status.data, form.reason.data, today_local(),
                                   disqualify=form.disqualify.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("状态已更新"), "success")
            return redirect(url_for("talent.entry", entry_id=e.id))
    return _entry_page(e, form)


@bp.route("/me")
@roles_required(Role.trainee)
def me():
    e = db.session.scalar(visible(TalentEntry, current_user))
    if e is not None:
        return _entry_page(e)
    appointments = db.session.scalars(visible(Appointment, current_user).order_by(Appointment.id.desc())).all()
    return render_template("talent/me_empty.html", appointments=appointments)


# ------------------------------------------------------------------ appointments
@bp.route("/appointments/new", methods=["GET", "POST"])
@roles_required(Role.trainee)
def appointment_new():
    from lms.people.models import TraineeProfile

    prof = db.session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == current_user.id))
    form = AppointmentForm()
    if form.validate_on_submit():
        f = request.files.get("letter")
        data = services.AppointmentData(
            kind=form.kind.data, appointed_on=form.appointed_on.data, enterprise_head=form.enterprise_head.data,
            enterprise_head_phone=form.enterprise_head_phone.data, quality_head=form.quality_head.data,
            quality_head_phone=form.quality_head_phone.data, cv=form.cv.data, awards=form.awards.data,
            opinion=form.opinion.data, opinion_date=form.opinion_date.data)
        try:
            services.submit_appointment(db.session, current_user, data, f.read() if f else b"", f.filename if f else "",
                                        current_app.config["UPLOAD_DIR"], today_local())
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("登记表已提交，等待监管部门审核"), "success")
            return redirect(url_for("talent.me"))
    elif request.method == "GET" and prof is not None:
        form.opinion.data = _("我单位任命 %(n)s 同志为企业首席质量官。", n=prof.real_name)
    return render_template("talent/appointment_form.html", form=form, prof=prof)


@bp.route("/appointments")
@roles_required(*ADMINS)
def appointments():
    status = request.args.get("status", "submitted")
    stmt = visible(Appointment, current_user).order_by(Appointment.submitted_at)
    if status in RegistrationStatus.__members__:
        stmt = stmt.where(Appointment.status == RegistrationStatus(status))
    return render_template("talent/appointments.html", page=paginate(db.session, stmt), status=status,
                           RegistrationStatus=RegistrationStatus)


@bp.route("/appointments/<int:appt_id>", methods=["GET", "POST"])
@roles_required(Role.trainee, *ADMINS)
def appointment(appt_id: int):
    appt = get_visible(db.session, Appointment, appt_id, current_user)
    form = DecisionForm() if current_user.role in ADMINS else None
    if form is not None and form.validate_on_submit():
        try:
            services.review_appointment(db.session, current_user, appt, accept=form.decision.data == "accept",
                                        reason=form.reason.data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("审核结果已保存"), "success")
            return redirect(url_for("talent.appointments"))
    elif request.method == "POST":
        abort(403)
    from lms.people.models import TraineeProfile

    prof = db.session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == appt.user_id))
    return render_template("talent/appointment.html", appt=appt, prof=prof, form=form)


@bp.route("/appointments/<int:appt_id>/letter")
@roles_required(Role.trainee, *ADMINS)
def appointment_letter(appt_id: int):
    from lms.web import send_upload

    appt = get_visible(db.session, Appointment, appt_id, current_user)
    return send_upload(appt.letter_path, appt.letter_mime, appt.letter_name)


# ------------------------------------------------------------------ notices (公示)
@bp.route("/notices", methods=["GET", "POST"])
@roles_required(*ADMINS)
def notices():
    form = NoticeForm() if current_user.role == Role.regulator_admin else None
    if form is not None and request.method == "GET":
        form.title.data = _("%(r)s首席质量官人才库公示（%(d)s）", r=current_user.region.name, d=today_local().isoformat())
    if form is not None and form.validate_on_submit():
        try:
            n = services.publish_notice(db.session, current_user, title=form.title.data, objection_days=form.objection_days.data,
                                        contact=form.contact.data, today=today_local())
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("公示已发布"), "success")
            return redirect(url_for("talent.public_notice", notice_id=n.id))
    stmt = visible(Notice, current_user).order_by(Notice.published_on.desc(), Notice.id.desc())
    return render_template("talent/notices.html", page=paginate(db.session, stmt), form=form)


@bp.route("/public/notices")
@limiter.limit(PUBLIC_LIMIT)
def public_notices():
    stmt = services.published_notices(today_local())
    return render_template("talent/public_notices.html", page=paginate(db.session, stmt, per_page=10), today=today_local())


@bp.route("/public/notices/<int:notice_id>")
@limiter.limit(PUBLIC_LIMIT)
def public_notice(notice_id: int):
    today = today_local()
    notice = db.session.scalar(services.published_notices(today).where(Notice.id == notice_id))
    if notice is None:
        raise NotFound(_("公示不存在"))
    name = (request.args.get("name") or "").strip()[:64]
    cert = (request.args.get("certificate") or "").strip()[:64]
    page, error = None, None
    if name or cert:
        try:
            page = paginate(db.session, services.public_search_stmt(notice.id, name=name, certificate=cert), per_page=10)
        except ValidationFailed as exc:
            error = exc.message
    from sqlalchemy import func

    count = db.session.scalar(select(func.count()).where(NoticeEntry.notice_id == notice.id)) or 0
    return render_template("talent/public_notice.html", notice=notice, page=page, name=name, cert=cert, error=error,
                           count=count, today=today)


# ------------------------------------------------------------------ indicators and evaluations
def _province_for_tree() -> Region | None:
    if current_user.role == Role.system_admin:
        pid = request.args.get("province", type=int)
        return db.session.get(Region, pid) if pid else db.session.scalar(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
    return credit_services.province_of(db.session, current_user.region_id)


@bp.route("/indicators", methods=["GET", "POST"])
@roles_required(*ADMINS)
def indicators():
    province = _province_for_tree()
    can_edit = current_user.role == Role.system_admin or current_user.region_id == province.id
    form = ImportForm(prefix="imp") if can_edit else None
    node_form = IndicatorForm(prefix="node") if can_edit else None
    if request.method == "POST" and not can_edit:
        abort(403)
    rows = None
    if form is not None and request.form.get("action") == "import" and form.validate_on_submit():
        f = request.files.get("imp-file")
        try:
            rows = services.parse_indicator_xlsx(f.read() if f else b"")
        except ValidationFailed as exc:
            for msg in exc.errors.values():
                flash(msg, "danger")
    elif node_form is not None and request.form.get("action") == "node" and node_form.validate_on_submit():
        d = node_form
        rows = [services.IndicatorRow(code=d.code.data, parent=d.parent.data or "", name=d.name.data or "",
                                      weight=float(d.weight.data) if d.weight.data is not None else None,
                                      max_points=float(d.max_points.data) if d.max_points.data is not None else None,
                                      evidence_type=d.evidence_type.data or "")]
    if rows is not None:
        try:
            n = services.save_indicators(db.session, current_user, province.id, rows)
        except ValidationFailed as exc:
            db.session.rollback()
            for msg in exc.errors.values():
                flash(msg, "danger")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("已保存 %(n)d 项指标", n=n), "success")
            return redirect(url_for("talent.indicators", province=province.id))
    tree = services.indicator_tree(db.session, province.id)
    return render_template("talent/indicators.html", tree=tree, province=province, form=form, node_form=node_form)


@bp.route("/indicators/<int:node_id>/delete", methods=["POST"])
@roles_required(*ADMINS)
def indicator_delete(node_id: int):
    node = get_visible(db.session, Indicator, node_id, current_user)
    if EvaluateForm().validate_on_submit():
        try:
            services.delete_indicator(db.session, current_user, node)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("指标已删除"), "success")
    return redirect(url_for("talent.indicators", province=node.province_id))


@bp.route("/entries/<int:entry_id>/evaluate", methods=["GET", "POST"])
@roles_required(*ADMINS)
def evaluate(entry_id: int):
    e = get_visible(db.session, TalentEntry, entry_id, current_user)
    tree = services.indicator_tree(db.session, e.province_id)
    form = EvaluateForm()
    errors: dict = {}
    if form.validate_on_submit():
        scores = {}
        for leaf in services.leaves(tree):
            raw = request.form.get(f"s{leaf.id}", "").strip()
            try:
                scores[leaf.id] = float(raw) if raw else None
            except ValueError:
                scores[leaf.id] = None
        try:
            ev = services.evaluate(db.session, current_user, e, scores, today_local(), form.notes.data)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("评价已保存：%(g)s，%(s)d 星", g=ev.grade, s=ev.stars), "success")
            return redirect(url_for("talent.entry", entry_id=e.id))
    return render_template("talent/evaluate.html", e=e, tree=tree, form=form, errors=errors, values=request.form)
