"""The regulator's pages: the dashboard for its region (drill-down, by year, exported to Excel), the yearly
appointment-rate targets, and the province's reporting rules."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.auth.views import roles_required
from lms.db import db
from lms.domain import Role
from lms.errors import DomainError
from lms.orgs.models import Region
from lms import charts
from reports import export, filing, stats
from reports.forms import SettingsForm, TargetForm
from reports.models import AppointmentTarget
from reports.views import BUREAU, _fail, bp
from lms.scoping import get_visible
from lms.templating import today_local


def _dashboard_data():
    today = today_local()
    region_id = request.args.get("region", type=int)
    if current_user.role == Role.system_admin:
        region = db.session.get(Region, region_id) if region_id else None
        if region is None:
            region = db.session.scalar(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
            if region is None:
                abort(404)
    else:
        region = get_visible(db.session, Region, region_id, current_user) if region_id else current_user.region
    year = request.args.get("year", type=int) or today.year
    if not 2000 <= year <= today.year:
        year = today.year
    return stats.dashboard(db.session, region, year, today), today


@bp.route("/reports/dashboard")
@roles_required(BUREAU, Role.system_admin)
def dashboard():
    from lms.domain import Tier

    data, today = _dashboard_data()
    tiers = list(Tier)
    names = [_("%(r)s本级", r=c["region"].name) if c["own"] else c["region"].name for c in data["children"]] \
        or [data["region"].name]
    source = data["children"] or [{"region": data["region"], "training": data["training"],
                                   "appointment": data["appointment"]}]
    trained_chart = charts.bar_chart(
        "chart-trained", _("%(y)d 年培训人数（按层级）", y=data["year"]), names,
        [(t.label, [c["training"][t.value]["trained"] for c in source]) for t in tiers])
    pass_chart = charts.bar_chart(
        "chart-pass", _("%(y)d 年考核合格率", y=data["year"]), names,
        [(_("合格率"), [c["training"]["total"]["pass_rate"] for c in source])], percent=True)
    appoint_chart = charts.bar_chart(
        "chart-appointment", _("规模以上企业聘任率与目标"), names,
        [(_("聘任率"), [c["appointment"]["above_size"]["rate"] for c in source])], percent=True,
        targets=[c["appointment"]["above_size"]["target"] for c in source], target_label=_("目标"))
    years = [str(t["year"]) for t in data["trend"]]
    trend_chart = charts.line_chart(
        "chart-trend", _("历年规模以上企业聘任率与目标"), years,
        [(_("聘任率"), [(t["appointment"] or {}).get("above_size", {}).get("rate") for t in data["trend"]])],
        percent=True, targets=[(t["appointment"] or {}).get("above_size", {}).get("target") for t in data["trend"]],
        target_label=_("目标"))
    trained_trend = charts.line_chart(
        "chart-trained-trend", _("历年培训人数"), years,
        [(t.label, [y["training"][t.value]["trained"] for y in data["trend"]]) for t in tiers])
    crumbs = []
    node = data["region"]
    top = current_user.region if current_user.role == Role.regulator_admin else None
    while node is not None:
        crumbs.insert(0, node)
        if top is not None and node.id == top.id:
            break
        node = node.parent
    from talent.models import PoolStatus

    return render_template("reports/dashboard.html", d=data, tiers=tiers, crumbs=crumbs, today=today, PoolStatus=PoolStatus,
                           years=list(range(today.year, today.year - 6, -1)),
                           charts=[trained_chart, pass_chart, appoint_chart, trend_chart, trained_trend])


@bp.route("/reports/dashboard.xlsx")
@roles_required(BUREAU, Role.system_admin)
def dashboard_export():
    data, _today = _dashboard_data()
    return send_file(io.BytesIO(export.dashboard_workbook(data)), as_attachment=True,
                     download_name=f"statistics-{data['region'].code}-{data['year']}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/reports/targets", methods=["GET", "POST"])
@roles_required(BUREAU)
def targets():
    form = TargetForm(data={"year": today_local().year})
    if form.validate_on_submit():
        try:
            stats.set_target(db.session, current_user, form.year.data, form.category.data, float(form.rate.data))
        except DomainError as exc:
            _fail(exc, form)
        else:
            db.session.commit()
            flash(_("目标已保存"), "success")
            return redirect(url_for("reports.targets"))
    rows = db.session.scalars(select(AppointmentTarget).where(AppointmentTarget.region_id == current_user.region_id)
                              .order_by(AppointmentTarget.year.desc(), AppointmentTarget.category)).all()
    return render_template("reports/targets.html", form=form, rows=rows)


@bp.route("/reports/settings", methods=["GET", "POST"])
@roles_required(BUREAU)
def settings():
    current = filing.settings_for(db.session, current_user.region)
    form = SettingsForm(data={"hold_certificates": current.hold_certificates_until_report,
                              "key_industries": "\n".join(current.key_industries or []),
                              "annual_report_due": current.annual_report_due})
    if form.validate_on_submit():
        try:
            filing.save_settings(db.session, current_user, hold_certificates=form.hold_certificates.data,
                                 key_industries=(form.key_industries.data or "").splitlines(),
                                 annual_report_due=form.annual_report_due.data)
        except DomainError as exc:
            _fail(exc, form)
        else:
            db.session.commit()
            flash(_("报备规则已保存"), "success")
            return redirect(url_for("reports.settings"))
    return render_template("reports/settings.html", form=form)
