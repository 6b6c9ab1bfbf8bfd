"""Pages of the cities' yearly training plans (issue 15): the list, drafting and publishing a plan, a plan with
its plan vs done per county, and the province's plan settings."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from courses import plan_form, plan_report
from courses.forms import EmptyForm, PlanForm, PlanSettingsForm
from courses.models import PlanStatus, TrainingPlan
from courses.services import plans
from courses.views import ADMINS, bp
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import RegionLevel, Role
from lms.errors import Forbidden
from lms.forms import submit
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.scoping import get_visible, get_writable, visible
from lms.templating import paginate, today_local


def is_city_bureau(user) -> bool:
    """Does ``user`` draft its city's plans (a city-level bureau's admin)?"""
    return user.role == Role.regulator_admin and user.region is not None and user.region.level == RegionLevel.city


@bp.route("/plans")
@login_required
def plans_list():
    """The training plans the user sees (its city's and those below or above it; published ones for others)."""
    stmt = visible(TrainingPlan, current_user).order_by(TrainingPlan.year.desc(), TrainingPlan.city_id)
    return render_template("courses/plans.html", page=paginate(db.session, stmt), can_draft=is_city_bureau(current_user),
                           can_set=current_user.role == Role.system_admin or (
                               current_user.role == Role.regulator_admin and current_user.region is not None
                               and current_user.region.level == RegionLevel.province))


def _counties(city: Region) -> list[Region]:
    return list(db.session.scalars(select(Region).where(Region.parent_id == city.id).order_by(Region.code)))


def _render_form(form: PlanForm, plan: TrainingPlan | None, city: Region, data: plans.PlanData | None):
    counties = _counties(city)
    lines = list(data.lines if data else (plan_form_lines(plan) if plan else []))
    goals = {g.county_id: g for g in (data.goals if data else (plan.goals if plan else []))}
    settings = plans.plan_settings(db.session, province_of(db.session, city).id)
    return render_template("courses/plan_form.html", form=form, plan=plan, city=city, counties=counties,
                           lines=lines + [None] * plan_form.BLANK_LINES, goals=goals, settings=settings)


def plan_form_lines(plan: TrainingPlan) -> list:
    """A stored plan's lines as the form shows them."""
    return plans.plan_data(plan).lines


@bp.route("/plans/new", methods=["GET", "POST"])
@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@roles_required(Role.regulator_admin)
def plan_edit(plan_id: int | None = None):
    """Draft (or edit a draft of) the city's yearly plan: syllabus, lines and county goals."""
    plan = get_writable(db.session, TrainingPlan, plan_id, current_user) if plan_id else None
    if not is_city_bureau(current_user):
        raise Forbidden(_("只有本市市级监管部门可以制定和发布本市的培训计划"))
    city = current_user.region
    form = PlanForm(obj=plan)
    if request.method == "GET" and plan is None:
        form.year.data = today_local().year + (1 if today_local().month >= 10 else 0)
    data = None
    if form.validate_on_submit():
        data = plan_form.from_form(city.id, request.form)
        done = submit(form, lambda: plans.save_plan(db.session, current_user, data, plan),
                      success=_("培训计划已保存（草稿），核对后请发布"), domain_errors="form",
                      redirect_to=lambda p: url_for("courses.plan_detail", plan_id=p.id))
        if done:
            return done
    elif request.method == "POST":
        data = plan_form.from_form(city.id, request.form)
    return _render_form(form, plan, city, data)


@bp.route("/plans/<int:plan_id>")
@login_required
def plan_detail(plan_id: int):
    """A plan: syllabus, lines, goals and plan vs done per county."""
    plan = get_visible(db.session, TrainingPlan, plan_id, current_user)
    progress = plans.plan_vs_done(db.session, plan, today_local())
    return render_template("courses/plan.html", plan=plan, progress=progress, empty=EmptyForm(),
                           progress_chart=plan_report.chart("chart-plan-progress", _("%(y)d 年计划完成情况（按区县）", y=plan.year), progress),
                           plan_row_name=plan_report.row_name, line_label=plans.line_label, table_id="plan-progress",
                           may_edit=is_city_bureau(current_user) and current_user.region_id == plan.city_id
                           and plan.status == PlanStatus.draft)


@bp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@roles_required(Role.regulator_admin)
def plan_publish(plan_id: int):
    """Publish a draft plan: institutions then open classes against its lines."""
    plan = get_writable(db.session, TrainingPlan, plan_id, current_user)
    if EmptyForm().validate_on_submit():
        submit(None, lambda: plans.publish_plan(db.session, current_user, plan), success=_("培训计划已发布"))
    return redirect(url_for("courses.plan_detail", plan_id=plan.id))


def _settings_province() -> Region:
    if current_user.role == Role.system_admin:
        wanted = request.args.get("province", type=int)
        rows = list(db.session.scalars(select(Region).where(Region.level == RegionLevel.province).order_by(Region.code)))
        found = next((r for r in rows if r.id == wanted), rows[0] if rows else None)
        if found is None:
            raise Forbidden(_("还没有省份"))
        return found
    if current_user.region is None or current_user.region.level != RegionLevel.province:
        raise Forbidden(_("只有本省省级监管部门可以修改培训计划设置"))
    return current_user.region


@bp.route("/plan-settings", methods=["GET", "POST"])
@roles_required(*ADMINS)
def plan_settings():
    """The province's plan settings: whether cities hold their own programmes, the fewest classes a plan lists."""
    province = _settings_province()
    settings = plans.plan_settings(db.session, province.id)
    form = PlanSettingsForm(obj=settings)
    if request.method == "GET":
        basis = plans.setting_basis(db.session, settings, "min_plan_classes")
        form.basis_kind.data, form.basis_source.data = basis.kind.value, basis.source
    if form.validate_on_submit():
        done = submit(form, lambda: plans.save_plan_settings(
            db.session, current_user, province, form.city_programmes.data, form.min_plan_classes.data,
            form.basis_kind.data or "province", form.basis_source.data or ""),
            success=_("培训计划设置已保存"), redirect_to=url_for("courses.plan_settings", province=province.id))
        if done:
            return done
    return render_template("courses/plan_settings.html", form=form, province=province, settings=settings)
