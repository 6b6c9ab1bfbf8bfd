"""Continuing education: the trainee's progress, claims and report; reviewers' queue; province rules."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from lms.auth.views import roles_required
from lms.core_views import add_home_panel
from credits import services
from credits.forms import ClaimForm, ReportForm, ReviewForm, RuleForm
from credits.models import AnnualReport, ClaimStatus, CreditClaim, CreditRecord
from lms.db import db
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.forms import apply_errors
from lms.orgs.models import Institution, Region
from lms.scoping import get_visible, visible
from lms.templating import add_nav, paginate, today_local

bp = Blueprint("credits", __name__, url_prefix="/credits", template_folder="templates")
REVIEWERS = (Role.regulator_admin, Role.institution_staff, Role.system_admin)


@add_nav
def _nav(user):
    if user.role == Role.trainee:
        return [("credits.me", _("继续教育"))]
    items = [("credits.review", _("学时审核"))]
    if user.role in (Role.regulator_admin, Role.system_admin):
        items.append(("credits.rules", _("继续教育规则")))
    return items


@add_home_panel
def _panel(session, user):
    if user.role != Role.trainee:
        return []
    p = services.progress(session, user.id, today_local().year, _province_id_of(session, user))
    return [{"title": _("%(y)d 年度继续教育", y=p.year),
             "items": [_("已获 %(h)s / %(r)d 学时", h=f"{p.total:g}", r=p.required),
                       _("履职报告：%(s)s", s=_("已提交") if p.report_filed else _("未提交"))],
             "url": url_for("credits.me")}]


def _province_id_of(session, user) -> int | None:
    from lms.people.models import TraineeProfile
    from talent.models import TalentEntry

    pid = session.scalar(select(TalentEntry.province_id).where(TalentEntry.user_id == user.id))
    if pid:
        return pid
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    if prof and prof.enterprise:
        return services.province_of(session, prof.enterprise.region_id).id
    return None


@bp.route("/")
@roles_required(Role.trainee)
def me():
    today = today_local()
    year = request.args.get("year", today.year, type=int)
    if not today.year - 10 <= year <= today.year:
        year = today.year
    p = services.progress(db.session, current_user.id, year, _province_id_of(db.session, current_user))
    records = db.session.scalars(visible(CreditRecord, current_user).where(CreditRecord.year == year)
                                 .order_by(CreditRecord.created_at.desc())).all()
    claims = db.session.scalars(visible(CreditClaim, current_user).order_by(CreditClaim.submitted_at.desc()).limit(50)).all()
    reports = db.session.scalars(visible(AnnualReport, current_user).order_by(AnnualReport.year.desc())).all()
    return render_template("credits/me.html", p=p, chart=Markup(services.progress_svg(p)), records=records,
                           claims=claims, reports=reports, year=year, today=today)


@bp.route("/claims/new", methods=["GET", "POST"])
@roles_required(Role.trainee)
def claim_new():
    form = ClaimForm()
    form.institution_id.choices = [(0, _("由监管部门审核"))] + [
        (i.id, i.name) for i in db.session.scalars(select(Institution).where(Institution.is_active.is_(True)).order_by(Institution.name))]
    if form.validate_on_submit():
        f = request.files.get("evidence")
        data = services.ClaimData(user_id=current_user.id, title=form.title.data, organiser=form.organiser.data,
                                  activity_date=form.activity_date.data,
                                  hours=float(form.hours.data) if form.hours.data is not None else None,
                                  subject_category=form.subject_category.data, institution_id=form.institution_id.data or None)
        try:
            services.submit_claim(db.session, current_user, data, f.read(current_app.config.get("MAX_CONTENT_LENGTH")) if f else b"",
                                  f.filename if f else "", current_app.config["UPLOAD_DIR"], today_local())
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("申报已提交，等待审核"), "success")
            return redirect(url_for("credits.me"))
    return render_template("credits/claim_form.html", form=form)


@bp.route("/report", methods=["GET", "POST"])
@roles_required(Role.trainee)
def report():
    today = today_local()
    form = ReportForm()
    if request.method == "GET":
        form.year.data = today.year
    if form.validate_on_submit():
        try:
            services.file_report(db.session, current_user, year=form.year.data, summary=form.summary.data, today=today)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("履职报告已提交"), "success")
            return redirect(url_for("credits.me", year=form.year.data))
    return render_template("credits/report_form.html", form=form)


@bp.route("/claims/<int:claim_id>/evidence")
@roles_required(Role.trainee, *REVIEWERS)
def evidence(claim_id: int):
    from lms.web import send_upload

    claim = get_visible(db.session, CreditClaim, claim_id, current_user)
    return send_upload(claim.evidence_path, claim.evidence_mime, claim.evidence_name)


@bp.route("/review")
@roles_required(*REVIEWERS)
def review():
    status = request.args.get("status", "pending")
    stmt = visible(CreditClaim, current_user).order_by(CreditClaim.submitted_at)
    if status in ClaimStatus.__members__:
        stmt = stmt.where(CreditClaim.status == ClaimStatus(status))
    return render_template("credits/review.html", page=paginate(db.session, stmt), status=status,
                           ClaimStatus=ClaimStatus, form=ReviewForm())


@bp.route("/claims/<int:claim_id>/review", methods=["POST"])
@roles_required(*REVIEWERS)
def review_claim(claim_id: int):
    claim = get_visible(db.session, CreditClaim, claim_id, current_user)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.review_claim(db.session, current_user, claim, approve=form.decision.data == "approve",
                                  reason=form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("审核结果已保存"), "success")
    else:
        flash(_("提交无效，请重试"), "danger")
    return redirect(url_for("credits.review"))


@bp.route("/rules", methods=["GET", "POST"])
@roles_required(Role.regulator_admin, Role.system_admin)
def rules():
    provinces = db.session.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)).all()
    mine = current_user.region if current_user.role == Role.regulator_admin else None
    editable_id = mine.id if mine is not None and mine.parent_id is None else None
    if current_user.role == Role.system_admin:
        editable_id = request.args.get("province", provinces[0].id if provinces else None, type=int)
    form = None
    if editable_id:
        rule = services.rule_for(db.session, editable_id)
        form = RuleForm(obj=rule)
        if form.validate_on_submit():
            try:
                services.save_rule(db.session, current_user, editable_id, required_hours=form.required_hours.data,
                                   professional_min_hours=form.professional_min_hours.data,
                                   report_required=form.report_required.data, report_due_month=form.report_due_month.data,
                                   change_registration_days=form.change_registration_days.data)
            except ValidationFailed as exc:
                db.session.rollback()
                apply_errors(form, exc)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
            else:
                db.session.commit()
                flash(_("规则已保存"), "success")
                return redirect(url_for("credits.rules", province=editable_id))
    elif request.method == "POST":
        abort(403)
    table = [(p, services.rule_for(db.session, p.id)) for p in provinces]
    return render_template("credits/rules.html", table=table, form=form,
                           editable=db.session.get(Region, editable_id) if editable_id else None)
