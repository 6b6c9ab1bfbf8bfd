"""A member's continuing-education standing: THE definition of a compliant year (as SQL, shared by the
regulator's dashboard and the year-end roll-up), the standings of a year, and the restoration of an entry on
warning as soon as its year's requirement is met (on ``credits.signals``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from credits import queries as credits
from credits.models import AnnualReport, CreditRecord, ProvinceRule, SubjectCategory, YearStanding
from lms.templating import today_local
from talent.models import Cause, PoolStatus, TalentEntry
from talent.services.status import CE_CAUSES, set_status


def restore_if_compliant(session: Session, user_id: int, year: int, today: dt.date | None = None) -> None:
    """Credits or a report were added: an entry on warning or lapsed for CE reasons becomes active again as
    soon as the year's requirement is met."""
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user_id))
    if entry is None or entry.status not in (PoolStatus.warning, PoolStatus.lapsed) or entry.status_cause not in CE_CAUSES:
        return
    if credits.progress(session, user_id, year, entry.province_id).compliant:
        set_status(session, entry, PoolStatus.active, Cause.restored, today or today_local(),
                   reason=_("%(y)d 年度继续教育已达标", y=year), year=year)


@dataclass(frozen=True)
class Standing:
    entry_id: int
    user_id: int
    status: "PoolStatus"
    cause: "Cause"
    hours_total: float
    hours_professional: float
    report_filed: bool
    hours_ok: bool
    compliant: bool
    previous_compliant: bool | None


def _rule_columns(session: Session):
    """The province's rule as SQL: (required hours, professional minimum, report required), each falling back
    to the defaults (``credits.rule_for``) when the province has no saved rule. Join ``ProvinceRule`` on the
    member's province (outer) for these."""
    d = credits.rule_for(session, None)
    return (func.coalesce(ProvinceRule.required_hours, literal(d.required_hours)),
            func.coalesce(ProvinceRule.professional_min_hours, literal(d.professional_min_hours)),
            func.coalesce(ProvinceRule.report_required, literal(bool(d.report_required))))


def compliance(session: Session, total, professional, report_filed):
    """THE definition of CE compliance for a year, as SQL over a member's hours, professional hours and
    whether the report is filed (the province's rule joined in, see ``_rule_columns``): returns the
    expressions (hours_ok, compliant). Used by ``standings`` (the dashboard) and by the roll-up's writes."""
    required, professional_min, report_required = _rule_columns(session)
    hours_ok = and_(total >= required, professional >= professional_min)
    compliant = and_(hours_ok, or_(report_filed, report_required == false()))
    return case((hours_ok, true()), else_=false()), case((compliant, true()), else_=false())


def _standings_select(session: Session, year: int, *, province_id=None, region_ids=None, users=None):

    end = dt.date(year, 12, 31)
    cr = CreditRecord
    totals = (select(cr.user_id.label("uid"), func.sum(cr.hours).label("total"),
                     func.sum(case((cr.subject_category == SubjectCategory.professional, cr.hours), else_=0)).label("prof"))
              .where(cr.year == year))
    if users is not None:
        totals = totals.where(cr.user_id > users[0], cr.user_id <= users[1])
    totals = totals.group_by(cr.user_id).subquery()
    # The report as an outer join on its unique (user_id, year), not EXISTS: PostgreSQL turned the EXISTS into a
    # scan of the whole year's reports for every chunk.
    filed = AnnualReport.id.is_not(None)
    prev = (select(YearStanding.compliant).where(YearStanding.user_id == TalentEntry.user_id, YearStanding.year == year - 1)
            .scalar_subquery())
    total, prof = func.coalesce(totals.c.total, 0), func.coalesce(totals.c.prof, 0)
    hours_ok, ok = compliance(session, total, prof, filed)
    stmt = (select(TalentEntry.id.label("entry_id"), TalentEntry.user_id.label("user_id"),
                   TalentEntry.status.label("status"), TalentEntry.status_cause.label("cause"),
                   total.label("total"), prof.label("prof"), filed.label("filed"), hours_ok.label("hours_ok"),
                   ok.label("ok"), prev.label("prev_ok"))
            .outerjoin(totals, totals.c.uid == TalentEntry.user_id)
            .outerjoin(AnnualReport, and_(AnnualReport.user_id == TalentEntry.user_id, AnnualReport.year == year,
                                          *((AnnualReport.user_id > users[0], AnnualReport.user_id <= users[1])
                                            if users is not None else ())))
            .outerjoin(ProvinceRule, ProvinceRule.province_id == TalentEntry.province_id)
            .where(TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on <= end))
    if province_id:
        stmt = stmt.where(TalentEntry.province_id == province_id)
    if region_ids is not None:
        stmt = stmt.where(TalentEntry.region_id.in_(region_ids))
    if users is not None:
        stmt = stmt.where(TalentEntry.user_id > users[0], TalentEntry.user_id <= users[1])
    return stmt


def standings(session: Session, year: int, *, province_id: int | None = None, region_ids=None) -> list[Standing]:
    """Every pool member's continuing-education standing for ``year`` by the province's rule: hours,
    professional hours and (where required) the annual report (``compliance``). Used by the regulator's
    dashboard; the year-end roll-up writes the same figures set-based. ``region_ids`` (a subquery) narrows
    to a region."""
    rows = session.execute(_standings_select(session, year, province_id=province_id, region_ids=region_ids)).all()
    return [Standing(r.entry_id, r.user_id, r.status, r.cause, float(r.total or 0), float(r.prof or 0), bool(r.filed),
                     bool(r.hours_ok), bool(r.ok), None if r.prev_ok is None else bool(r.prev_ok)) for r in rows]
