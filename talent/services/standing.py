"""A member's continuing-education standing: THE definition of a compliant year (seed 002 §4(3) by default, as
SQL, shared by the regulator's dashboard, the year-end roll-up and the reminders), the standings of a year, and
the restoration of an entry on warning as soon as its year's requirement is met (on ``credits.signals``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, case, false, func, literal, not_, or_, select, true
from sqlalchemy.orm import Session

from credits import queries as credits
from credits.models import AnnualReport, CreditRecord, ProvinceRule, SubjectCategory, YearStanding
from lms.templating import today_local
from talent.models import Appointment, Cause, PoolStatus, RegistrationStatus, TalentEntry
from talent.services.status import CE_CAUSES, set_status


def restore_if_compliant(session: Session, user_id: int, year: int, today: dt.date | None = None) -> None:
    """Credits or a report were added: an entry on warning or lapsed for CE reasons becomes active again as
    soon as the year's requirement is met, by THE rule (``_standings_select`` for this one member)."""
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user_id))
    if entry is None or entry.status not in (PoolStatus.warning, PoolStatus.lapsed) or entry.status_cause not in CE_CAUSES:
        return
    row = session.execute(_standings_select(session, year, users=(user_id - 1, user_id))).first()
    if row is not None and row.met:
        set_status(session, entry, PoolStatus.active, Cause.restored, today or today_local(),
                   reason=_("%(y)d 年度继续教育已达标", y=year), year=year)


def restore_if_compliant_many(session: Session, user_ids: list[int], year: int, today: dt.date | None = None) -> None:
    """``restore_if_compliant`` for several people (credits of a batch issued in bulk, issue 20): the entries
    that could be restored found in one statement; only those are judged, one by one."""
    waiting = session.scalars(select(TalentEntry.user_id).where(
        TalentEntry.user_id.in_(user_ids), TalentEntry.status.in_([PoolStatus.warning, PoolStatus.lapsed]),
        TalentEntry.status_cause.in_(list(CE_CAUSES))))
    for user_id in list(waiting):
        restore_if_compliant(session, user_id, year, today)


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
    held: bool = True  # in office that year and not their first year (or the province prorates the first year)


def _rule_columns(session: Session):
    """The province's rule as SQL: (required hours, professional minimum, report required, report OR hours,
    prorate the first year), each falling back to the defaults (``credits.rule_for``: seed 002 §4(3)) when the
    province has no saved rule. Join ``ProvinceRule`` on the member's province (outer) for these."""
    d = credits.rule_for(session, None)
    return (func.coalesce(ProvinceRule.required_hours, literal(d.required_hours)),
            func.coalesce(ProvinceRule.professional_min_hours, literal(d.professional_min_hours)),
            func.coalesce(ProvinceRule.report_required, literal(bool(d.report_required))),
            func.coalesce(ProvinceRule.ce_either, literal(bool(d.ce_either))),
            func.coalesce(ProvinceRule.first_year, literal(d.first_year)) == literal("prorate"))


def _day_number(session: Session, value):
    """A date as a day number (for differences in days), on either database."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(value)
    return value - literal(dt.date(2000, 1, 1))


def _office(year: int, users=None):
    """Per person, their time in office during ``year`` (seed 002 §4(3) 「在任期内」): the first day of the
    accepted appointments in force at some point of the year (appointed by its end, not ended by its start)
    and the day the last of them stops (31 December + 1 while one is still in force). ``users``: the roll-up's
    chunk (low, high], so that a chunk reads its own people's appointments only."""
    start, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    stmt = (select(Appointment.user_id.label("uid"), func.min(Appointment.appointed_on).label("since"),
                   func.max(func.coalesce(Appointment.ended_on, literal(after))).label("until"))
            .where(Appointment.status == RegistrationStatus.accepted, Appointment.appointed_on < after,
                   or_(Appointment.ended_on.is_(None), Appointment.ended_on > start)))
    if users is not None:
        stmt = stmt.where(Appointment.user_id > users[0], Appointment.user_id <= users[1])
    return stmt.group_by(Appointment.user_id).subquery()


def compliance(session: Session, total, professional, report_filed, *, held, office_days, year_days):
    """THE definition of CE compliance for a year, as SQL (the province's rule joined in, see ``_rule_columns``),
    seed 002 §4(3) by default: a person held to the rule that year (``held``: in office, not the year they were
    certified or appointed unless the province prorates it) meets it with the performance report OR the hours
    (prorated: ``office_days`` of ``year_days`` in office); a province may require hours AND report instead.
    Returns the expressions (hours_ok, met, compliant): met = the rule met; compliant = not held, or met.
    Used by ``standings`` (the dashboard), the roll-up's writes and ``restore_if_compliant``."""
    required, professional_min, report_required, either, _prorate = _rule_columns(session)
    # hours ≥ required × office_days / year_days, without division
    hours_ok = and_(total * year_days >= required * office_days, professional * year_days >= professional_min * office_days)
    met = or_(and_(either == true(), or_(report_filed, hours_ok)),
              and_(either == false(), hours_ok, or_(report_filed, report_required == false())))
    as_bool = lambda cond: case((cond, true()), else_=false())  # noqa: E731
    return as_bool(hours_ok), as_bool(met), as_bool(or_(not_(held), met))


def _standings_select(session: Session, year: int, *, province_id=None, region_ids=None, users=None):

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    year_days = (end - start).days + 1
    cr = CreditRecord
    totals = (select(cr.user_id.label("uid"), func.sum(cr.hours).label("total"),
                     func.sum(case((cr.subject_category == SubjectCategory.professional, cr.hours), else_=0)).label("prof"))
              .where(cr.year == year))
    if users is not None:
        totals = totals.where(cr.user_id > users[0], cr.user_id <= users[1])
    totals = totals.group_by(cr.user_id).subquery()
    office = _office(year, users)
    # The report as an outer join on its unique (user_id, year), not EXISTS: PostgreSQL turned the EXISTS into a
    # scan of the whole year's reports for every chunk.
    filed = AnnualReport.id.is_not(None)
    prev = (select(YearStanding.compliant).where(YearStanding.user_id == TalentEntry.user_id, YearStanding.year == year - 1)
            .scalar_subquery())
    total, prof = func.coalesce(totals.c.total, 0), func.coalesce(totals.c.prof, 0)
    prorate = _rule_columns(session)[4]
    # In office: from the later of 1 January, the first appointment and (prorating the first year) the certificate,
    # to the earlier of 31 December and the day before the appointment stopped.
    since = case((office.c.since > literal(start), office.c.since), else_=literal(start))
    since = case((and_(prorate, TalentEntry.entered_on > since), TalentEntry.entered_on), else_=since)
    until = case((office.c.until <= literal(end), office.c.until), else_=literal(end + dt.timedelta(days=1)))
    office_days = _day_number(session, until) - _day_number(session, since)
    first_year = or_(TalentEntry.entered_on >= literal(start), office.c.since >= literal(start))
    held = and_(office.c.uid.is_not(None), or_(not_(first_year), prorate))
    hours_ok, met, ok = compliance(session, total, prof, filed, held=held, office_days=office_days, year_days=year_days)
    stmt = (select(TalentEntry.id.label("entry_id"), TalentEntry.user_id.label("user_id"),
                   TalentEntry.region_id.label("region_id"), TalentEntry.status.label("status"), TalentEntry.status_cause.label("cause"),
                   total.label("total"), prof.label("prof"), filed.label("filed"), hours_ok.label("hours_ok"),
                   case((held, true()), else_=false()).label("held"), met.label("met"), ok.label("ok"),
                   prev.label("prev_ok"))
            .outerjoin(totals, totals.c.uid == TalentEntry.user_id)
            .outerjoin(office, office.c.uid == TalentEntry.user_id)
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
    """Every pool member's continuing-education standing for ``year`` by the province's rule (``compliance``):
    whether they were held to it (in office, not their first year), hours, professional hours, the report. Used by the regulator's
    dashboard; the year-end roll-up writes the same figures set-based. ``region_ids`` (a subquery) narrows
    to a region."""
    rows = session.execute(_standings_select(session, year, province_id=province_id, region_ids=region_ids)).all()
    return [Standing(r.entry_id, r.user_id, r.status, r.cause, float(r.total or 0), float(r.prof or 0), bool(r.filed),
                     bool(r.hours_ok), bool(r.ok), None if r.prev_ok is None else bool(r.prev_ok), bool(r.held))
            for r in rows]


@dataclass(frozen=True)
class RegionCompliance:
    """A region's figures for a year (members held to the rule, compliant, short of hours, without the report):
    its entries' own, not its subregions'."""
    members: int
    compliant: int
    hours_short: int
    report_missing: int


def compliance_by_region(session: Session, year: int, *, region_ids=None) -> dict[int, RegionCompliance]:
    """``standings`` counted per entry region in SQL (issue 20: one GROUP BY instead of 200,000 rows in Python), by
    the same rule: only members held to it that year count (seed 002 §4(3)). ``region_ids`` (a subquery) narrows
    to a region; a region appears when it has pool entries (held to the rule or not). The dashboard's live figure and the figure its scheduled
    job keeps (reports) both come from here."""
    st = _standings_select(session, year, region_ids=region_ids).subquery()
    held = st.c.held.is_(True)
    count = lambda cond: func.coalesce(func.sum(case((cond, 1), else_=0)), 0)  # noqa: E731
    rows = session.execute(select(st.c.region_id, count(held), count(and_(held, st.c.ok.is_(True))),
                                  count(and_(held, st.c.hours_ok.is_(False))), count(and_(held, st.c.filed.is_(False))))
                           .group_by(st.c.region_id)).all()
    return {rid: RegionCompliance(int(m), int(c), int(h), int(r)) for rid, m, c, h, r in rows}
