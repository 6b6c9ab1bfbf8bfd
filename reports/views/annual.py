"""Annual work reports: staff file their institution's report with the system's figures; bureaus see who has
filed and who is late."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth.views import roles_required
from lms.db import db
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import today_local
from reports import queries
from reports.forms import AnnualForm
from reports.models import AnnualWorkReport
from reports.services import annual
from reports.views import READERS, STAFF, bp


def _year_asked(today) -> int:
    """The year in the link, or the year the page opens on (last year; this year from December)."""
    default_year = today.year if today.month == 12 else today.year - 1
    year = request.args.get("year", type=int) or default_year
    return year if 2000 <= year <= today.year else default_year  # a typed or stale link falls back


@bp.route("/reports/annual", methods=["GET", "POST"])
@roles_required(*READERS)
def annual_page():
    """Staff: the year's figures and the form to file the report. Bureaus: every institution's state."""
    today = today_local()
    year = _year_asked(today)
    if current_user.role != STAFF:
        rows = queries.annual_status_for_region(db.session, current_user, year, today)
        return render_template("reports/annual_bureau.html", rows=rows, year=year)
    form = AnnualForm(data={"year": year})
    if form.validate_on_submit():
        done = submit(form, lambda: annual.submit(db.session, current_user, form.year.data, form.narrative.data, today),
                      success=_("年度工作报告已提交"), domain_errors="form",
                      redirect_to=url_for("reports.annual_page", year=form.year.data))
        if done is not None:
            return done
    inst = current_user.institution
    shown = form.year.data or year
    reports = db.session.scalars(queries.annual_reports(current_user)).all()
    return render_template("reports/annual_staff.html", form=form, year=shown, reports=reports,
                           figures=queries.annual_figures(db.session, inst, shown),
                           due=queries.due_date(db.session, inst.region, shown),
                           due_rule=queries.settings_for(db.session, inst.region))


@bp.route("/reports/annual/<int:report_id>")
@roles_required(*READERS)
def annual_detail(report_id: int):
    """One annual work report."""
    report = get_visible(db.session, AnnualWorkReport, report_id, current_user)
    return render_template("reports/annual_detail.html", report=report)
