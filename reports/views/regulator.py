"""The regulator's pages: the dashboard for its region (drill-down, by year, exported to Excel), the yearly
appointment-rate targets, and the province's reporting rules."""
from __future__ import annotations

import io

from flask import abort, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from courses import plan_report
from courses import queries as course_queries
from courses.services import plans as course_plans
from lms import charts
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import RegionLevel, Role, Tier
from lms.forms import submit
from lms.orgs.models import Region
from lms.scoping import get_visible
from lms.templating import today_local
from reports import export, queries
from reports.forms import SettingsForm, TargetForm
from reports.services import rules
from reports.views import BUREAU, XLSX, bp
from talent.models import PoolStatus


def _region_asked() -> Region:
    """The region in the link, if the reader may see it (404 otherwise); else the reader's own (an
    administrator's: the first province)."""
    region_id = request.args.get("region", type=int)
    if current_user.role != Role.system_admin:
        return get_visible(db.session, Region, region_id, current_user) if region_id else current_user.region
    region = db.session.get(Region, region_id) if region_id else None
    region = region or db.session.scalar(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
    if region is None:
        abort(404)
    return region


def _dashboard_data():
    """The dashboard's figures for the region and year in the link (a year out of range: this year)."""
    today = today_local()
    region = _region_asked()
    year = request.args.get("year", type=int) or today.year
    if not 2000 <= year <= today.year:
        year = today.year
    return queries.dashboard(db.session, region, year, today), today


def _charts(data: dict) -> list[Markup]:
    """The dashboard's six charts: this year by subregion (trained, pass rate, appointment rate against the
    target, continuing-education compliance) and the trends of the appointment rate and of the trained."""
    names = [_("%(r)s本级", r=c["region"].name) if c["own"] else c["region"].name for c in data["children"]] \
        or [data["region"].name]
    source = data["children"] or [{"region": data["region"], "training": data["training"],
                                   "appointment": data["appointment"], "pool": data["pool"]}]
    trend = data["trend"]
    years = [str(t["year"]) for t in trend]

    def above(t, key):
        return (t["appointment"] or {}).get("above_size", {}).get(key)

    return [
        charts.bar_chart("chart-trained", _("%(y)d 年培训人数（按层级）", y=data["year"]), names,
                         [(t.label, [c["training"][t.value]["trained"] for c in source]) for t in Tier]),
        charts.bar_chart("chart-pass", _("%(y)d 年考核合格率", y=data["year"]), names,
                         [(_("合格率"), [c["training"]["total"]["pass_rate"] for c in source])], percent=True),
        charts.bar_chart("chart-appointment", _("规模以上企业聘任率与目标"), names,
                         [(_("聘任率"), [c["appointment"]["above_size"]["rate"] for c in source])], percent=True,
                         targets=[c["appointment"]["above_size"]["target"] for c in source], target_label=_("目标")),
        charts.bar_chart("chart-ce", _("%(y)d 年度继续教育达标率", y=data["year"]), names,
                         [(_("达标率"), [c["pool"]["rate"] for c in source])], percent=True),
        charts.line_chart("chart-trend", _("历年规模以上企业聘任率与目标"), years,
                          [(_("聘任率"), [above(t, "rate") for t in trend])], percent=True,
                          targets=[above(t, "target") for t in trend], target_label=_("目标")),
        charts.line_chart("chart-trained-trend", _("历年培训人数"), years,
                          [(t.label, [y["training"][t.value]["trained"] for y in trend]) for t in Tier]),
    ]


def _crumbs(region: Region) -> list[Region]:
    """The way down to ``region`` from the top the reader may see (a bureau: its own region)."""
    crumbs = []
    top = current_user.region if current_user.role == Role.regulator_admin else None
    node = region
    while node is not None:
        crumbs.insert(0, node)
        if top is not None and node.id == top.id:
            break
        node = node.parent
    return crumbs


def _plan_sections(region: Region, year: int, today) -> list[dict]:
    """Issue 15: plan vs done per county for each plan of the year the dashboard's region shows (a county's
    dashboard: its own row of its city's plan), each with its chart; the done figures are those the job
    ``reports-dashboard-figures`` keeps (issue 20), live for a row it has not kept."""
    sections = []
    plans = db.session.scalars(course_queries.plans_for_region(current_user, region, year)).all()
    kept = queries.kept_plan_done(db.session, year) if plans else {}
    for plan in plans:
        done = course_plans.plan_vs_done(db.session, plan, today, queries.plan_done_kept_for(kept, plan.city_id))
        rows = [r for r in done
                if region.level != RegionLevel.county or (r.county is not None and r.county.id == region.id)]
        sections.append({"plan": plan, "rows": rows, "chart": plan_report.chart(
            f"chart-plan-{plan.id}", _("%(c)s %(y)d 年培训计划完成情况", c=plan.city.name, y=plan.year), rows)})
    return sections


@bp.route("/reports/dashboard")
@roles_required(BUREAU, Role.system_admin)
def dashboard():
    """The statistics of a region the reader sees, for a year: tables, charts and drill-down; plan vs done per
    county and the classes whose timetable falls short of their programme's hours (issue 15)."""
    data, today = _dashboard_data()
    return render_template("reports/dashboard.html", d=data, tiers=list(Tier), crumbs=_crumbs(data["region"]),
                           today=today, PoolStatus=PoolStatus, years=list(range(today.year, today.year - 6, -1)),
                           charts=_charts(data), key_rule=queries.settings_for(db.session, data["region"]),
                           plan_sections=_plan_sections(data["region"], data["year"], today),
                           plan_row_name=plan_report.row_name,
                           short_classes=course_queries.classes_short_of_hours(db.session, data["region"], today))


@bp.route("/reports/dashboard.xlsx")
@roles_required(BUREAU, Role.system_admin)
def dashboard_export():
    """The dashboard's figures as Excel."""
    data, _today = _dashboard_data()
    return send_file(io.BytesIO(export.dashboard_workbook(data)), as_attachment=True,
                     download_name=f"statistics-{data['region'].code}-{data['year']}.xlsx", mimetype=XLSX)


@bp.route("/reports/targets", methods=["GET", "POST"])
@roles_required(BUREAU)
def targets():
    """The bureau's appointment-rate targets for its region, and the form to set one."""
    form = TargetForm(data={"year": today_local().year})
    if form.validate_on_submit():
        done = submit(form, lambda: rules.set_target(db.session, current_user, form.year.data, form.category.data,
                                                     float(form.rate.data), form.basis.data),
                      success=_("目标已保存"), domain_errors="form", redirect_to=url_for("reports.targets"))
        if done is not None:
            return done
    return render_template("reports/targets.html", form=form, rows=queries.targets_of(db.session, current_user.region_id))


@bp.route("/reports/settings", methods=["GET", "POST"])
@roles_required(BUREAU)
def settings():
    """The province's reporting rules (a province bureau sets them; others read them)."""
    current = queries.settings_for(db.session, current_user.region)
    form = SettingsForm(data={"hold_certificates": current.hold_certificates_until_report,
                              "key_industries": "\n".join(current.key_industries or []),
                              "key_industries_basis": current.key_industries_basis,
                              "annual_report_due": current.annual_report_due})
    if form.validate_on_submit():
        done = submit(form, lambda: rules.save_settings(
            db.session, current_user, hold_certificates=form.hold_certificates.data,
            key_industries=(form.key_industries.data or "").splitlines(), annual_report_due=form.annual_report_due.data,
            key_industries_basis=form.key_industries_basis.data),
            success=_("报备规则已保存"), domain_errors="form", redirect_to=url_for("reports.settings"))
        if done is not None:
            return done
    return render_template("reports/settings.html", form=form)
