"""Continuing education: the trainee's progress, claims and report; reviewers' queue; province rules. The
navigation entries and the home panel are here as plain functions; ``credits.wiring`` registers them."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from credits import queries, services
from credits.forms import ClaimForm, ReportForm, ReviewForm, RuleForm
from credits.models import ClaimStatus, CreditClaim
from lms import charts, uploads
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.domain import Role
from lms.forms import choices, submit
from lms.orgs.models import Region
from lms.scoping import get_visible
from lms.settingbasis import basis_label, basis_of
from lms.templating import paginate, today_local
from lms.web import send_upload

bp = Blueprint("credits", __name__, url_prefix="/credits", template_folder="templates")
REVIEWERS = (Role.regulator_admin, Role.institution_staff, Role.system_admin)


def nav(user) -> list[tuple[str, str]]:
    """The menu entries: the trainee's own page, the reviewers' queue, the rules for bureaus."""
    if user.role == Role.trainee:
        return [("credits.me", _("继续教育"))]
    items = [("credits.review", _("学时审核"))]
    if user.role in (Role.regulator_admin, Role.system_admin):
        items.append(("credits.rules", _("继续教育规则")))
    return items


def home_panel(session, user) -> list[dict]:
    """The trainee's home page panel: this year's hours and whether the report is filed."""
    if user.role != Role.trainee:
        return []
    p = queries.member_progress(session, user, None, today_local())
    return [{"title": _("%(y)d 年度继续教育", y=p.year),
             "items": [_("已获 %(h)s / %(r)d 学时", h=f"{p.total:g}", r=p.required) + basis_label(session, p.rule, "required_hours"),
                       _("履职报告：%(s)s", s=_("已提交") if p.report_filed else _("未提交"))],
             "url": url_for("credits.me")}]


def progress_chart(p: queries.Progress) -> Markup:
    """The progress as bars: professional and public hours against their minimums, and the total."""
    rows = [(_("专业科目"), p.professional, p.professional_min), (_("公需科目"), p.public, max(0, p.required - p.professional_min)),
            (_("合计"), p.total, p.required)]
    return charts.progress_bars("ce-chart", _("%(y)d 年度继续教育进度", y=p.year),
                                [(label, done, need, _("%(d)s / %(n)s 学时", d=f"{done:g}", n=need)) for label, done, need in rows])


@bp.route("/")
@roles_required(Role.trainee)
def me():
    """The trainee's progress for a year (as the progress API gives it), records, claims and reports."""
    today = today_local()
    p = queries.member_progress(db.session, current_user, request.args.get("year", type=int), today)
    rule = queries.rule_for(db.session, queries.member_province_id(db.session, current_user.id))
    return render_template("credits/me.html", p=p, rule=rule, chart=progress_chart(p), year=p.year, today=today,
                           records=queries.records_of(db.session, current_user, p.year),
                           claims=queries.claims_of(db.session, current_user), reports=queries.reports_of(db.session, current_user))


@bp.route("/claims/new", methods=["GET", "POST"])
@body_limit(uploads.MAX_BYTES + FORM_ROOM)
@roles_required(Role.trainee)
def claim_new():
    """A trainee claims an external activity's hours, with evidence."""
    form = ClaimForm()
    reviewers = services.claim_reviewers(db.session, current_user)
    bureau = _("由%(bureau)s审核", bureau=reviewers.bureau.name) if reviewers.bureau else _("由监管部门审核")
    form.institution_id.choices = choices([(0, bureau)] + [(i.id, i.name) for i in reviewers.institutions])
    if form.validate_on_submit():
        f = request.files.get("evidence")
        data = services.ClaimData(user_id=current_user.id, title=form.title.data, organiser=form.organiser.data,
                                  activity_date=form.activity_date.data,
                                  hours=float(form.hours.data) if form.hours.data is not None else None,
                                  subject_category=form.subject_category.data, institution_id=form.institution_id.data or None)
        evidence = f.read(current_app.config["MAX_CONTENT_LENGTH"]) if f else b""
        done = submit(form, lambda: services.submit_claim(db.session, current_user, data, evidence, f.filename if f else "",
                                                          current_app.config["UPLOAD_DIR"], today_local()),
                      success=_("申报已提交，等待审核"), redirect_to=url_for("credits.me"))
        if done:
            return done
    return render_template("credits/claim_form.html", form=form)


@bp.route("/report", methods=["GET", "POST"])
@roles_required(Role.trainee)
def report():
    """A trainee files the annual report."""
    today = today_local()
    form = ReportForm()
    if request.method == "GET":
        form.year.data = today.year
    if form.validate_on_submit():
        done = submit(form, lambda: services.file_report(db.session, current_user, year=form.year.data,
                                                         summary=form.summary.data, today=today),
                      success=_("履职报告已提交"), redirect_to=url_for("credits.me", year=form.year.data))
        if done:
            return done
    return render_template("credits/report_form.html", form=form)


@bp.route("/claims/<int:claim_id>/evidence")
@roles_required(Role.trainee, *REVIEWERS)
def evidence(claim_id: int):
    """A claim's evidence, to its claimant and its reviewers."""
    claim = get_visible(db.session, CreditClaim, claim_id, current_user)
    return send_upload(claim.evidence_path, claim.evidence_mime, claim.evidence_name)


@bp.route("/review")
@roles_required(*REVIEWERS)
def review():
    """The reviewers' queue of claims, by status (pending first)."""
    status = request.args.get("status", "pending")
    return render_template("credits/review.html", page=paginate(db.session, queries.review_queue(current_user, status)),
                           status=status, ClaimStatus=ClaimStatus, form=ReviewForm())


@bp.route("/claims/<int:claim_id>/review", methods=["POST"])
@roles_required(*REVIEWERS)
def review_claim(claim_id: int):
    """Approve or return a claim."""
    claim = get_visible(db.session, CreditClaim, claim_id, current_user)
    form = ReviewForm()
    if form.validate_on_submit():
        submit(None, lambda: services.review_claim(db.session, current_user, claim, approve=form.decision.data == "approve",
                                                   reason=form.reason.data), success=_("审核结果已保存"))
    else:
        flash(_("提交无效，请重试"), "danger")
    return redirect(url_for("credits.review"))


def _editable_province_id(provinces: list[Region]) -> int | None:
    """The province whose rule the user may edit here: a province bureau's own; any one for a system admin."""
    if current_user.role == Role.system_admin:
        return request.args.get("province", provinces[0].id if provinces else None, type=int)
    mine = current_user.region
    return mine.id if mine is not None and mine.parent_id is None else None


@bp.route("/rules", methods=["GET", "POST"])
@roles_required(Role.regulator_admin, Role.system_admin)
def rules():
    """Every province's rule; the user's own province's (any for a system admin) is editable."""
    provinces = queries.provinces(db.session)
    editable_id = _editable_province_id(provinces)
    if editable_id is None and request.method == "POST":
        abort(403)
    form = RuleForm(obj=queries.rule_for(db.session, editable_id)) if editable_id else None
    if form is not None and request.method == "GET":
        basis = basis_of(db.session, queries.rule_for(db.session, editable_id), "required_hours")
        form.basis_kind.data, form.basis_source.data = basis.kind.value, basis.source
    if form is not None and form.validate_on_submit():
        done = submit(form, lambda: services.save_rule(
            db.session, current_user, editable_id, required_hours=form.required_hours.data,
            professional_min_hours=form.professional_min_hours.data, report_required=form.report_required.data,
            report_due_month=form.report_due_month.data, change_registration_days=form.change_registration_days.data,
            ce_either=form.ce_either.data, first_year=form.first_year.data, basis_kind=form.basis_kind.data or "example",
            basis_source=form.basis_source.data or ""),
            success=_("规则已保存"), redirect_to=url_for("credits.rules", province=editable_id))
        if done:
            return done
    table = [(p, queries.rule_for(db.session, p.id)) for p in provinces]
    return render_template("credits/rules.html", table=table, form=form,
                           editable=db.session.get(Region, editable_id) if editable_id else None)
