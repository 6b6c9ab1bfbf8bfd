"""Annual work reports (年度工作情况报告): one per institution per year, the year's figures filled in by the
system (``queries.annual_figures``) plus the institution's narrative; the bureau sees who has filed and who is
late (``queries.annual_status_for_region``)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from reports.models import AnnualWorkReport
from reports.queries import annual_figures, annual_report_of, due_date


def submit(session: Session, actor: User, year: int, narrative: str, today: dt.date) -> AnnualWorkReport:
    """The institution files its report for a year that has ended (or is ending: from December on)."""
    if actor.role != Role.institution_staff or actor.institution is None:
        raise Forbidden(_("只有培训机构的工作人员可以提交年度工作报告"))
    inst = actor.institution
    errors = {}
    if not year or year > today.year or (year == today.year and today.month < 12) or year < 2000:
        errors["year"] = _("只能提交已结束年度（或当年 12 月起的本年度）的报告")
    narrative = (narrative or "").strip()
    if not 20 <= len(narrative) <= 10000:
        errors["narrative"] = _("请填写 20-10000 字的年度工作情况")
    if errors:
        raise ValidationFailed(errors)
    if annual_report_of(session, inst, year) is not None:
        raise Conflict(_("本机构 %(y)d 年度的工作报告已提交", y=year))
    report = AnnualWorkReport(institution_id=inst.id, region_id=inst.region_id, year=year,
                              figures=annual_figures(session, inst, year), narrative=narrative, submitted_at=utcnow(),
                              submitted_by_id=actor.id, late=today > due_date(session, inst.region, year))
    session.add(report)
    session.flush()
    audit.record(session, actor, "annual_report.submit", report, year=year, late=report.late)
    return report
