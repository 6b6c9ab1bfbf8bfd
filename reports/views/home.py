"""What reporting adds to the menu and to the role home pages (registered by ``reports.wiring``)."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.domain import Role
from lms.settingbasis import basis_label
from lms.templating import today_local
from reports import queries


def nav(user: User) -> list[tuple[str, str]]:
    """Menu entries: staff file and report; bureaus review, read statistics and (province) set the rules."""
    if user.role == Role.institution_staff:
        return [("reports.index", _("报备")), ("reports.annual_page", _("年度报告"))]
    if user.role == Role.regulator_admin:
        items = [("reports.index", _("报备审核")), ("reports.dashboard", _("统计")), ("reports.annual_page", _("年度报告"))]
        if user.region is not None and user.region.parent_id is None:
            items.append(("reports.settings", _("报备规则")))
        return items
    return []


def _staff_panels(session: Session, user: User) -> list[dict]:
    """Staff: returned filings, and whether last year's annual report is filed, pending or late."""
    returned = queries.returned_filings(session, user)
    items = [_("“%(c)s”的报备被退回：%(r)s", c=f.snapshot.get("class_name", ""), r=f.return_reason) for f in returned]
    panels = [{"title": _("报备"), "url": url_for("reports.index"), "items": items or [_("没有被退回的报备")]}]
    inst = user.institution
    if inst is not None:
        today = today_local()
        year = today.year - 1
        filed = queries.annual_report_of(session, inst, year) is not None
        due = queries.due_date(session, inst.region, year)
        state = _("已提交") if filed else (_("已逾期") if today > due else _("未提交"))
        panels.append({"title": _("年度工作报告"), "url": url_for("reports.annual_page", year=year),
                       "items": [_("%(y)d 年度：%(s)s（截止 %(d)s）", y=year, s=state, d=due.isoformat())
                                 + basis_label(session, queries.settings_for(session, inst.region), "annual_report_due")]})
    return panels


def home_panels(session: Session, user: User) -> list[dict]:
    """Home panels: a bureau's waiting filings and reports; staff's returned filings and last year's annual report."""
    if user.role == Role.regulator_admin:
        n = queries.waiting_for(session, user)
        return [{"title": _("待审核的报备"), "url": url_for("reports.index"),
                 "items": [_("开班报备 %(n)d 件", n=n["filings"]), _("结果报告 %(n)d 件", n=n["results"])]}]
    if user.role == Role.institution_staff:
        return _staff_panels(session, user)
    return []
