"""The dashboard's kept figures (issue 20), computed by the scheduled job ``reports-dashboard-figures`` (reports.jobs):
the counts that grow with the people (training per year and tier, today's pool and certificate statuses, per
region: ``CountFigure``, by the dashboard's own grouped reads in ``reports.queries``) and a year's
continuing-education compliance per region, computed with THE rule (``talent.services.compliance_by_region``,
the same as the live figure and the year-end roll-up) and stored per region and year in ``ComplianceFigure``.
The live figure reads every member's credit records of the year (2,000,000 rows for a province of 200,000
people: 20-60 s), so a page cannot compute it; the job computes it in a read transaction and writes the few
rows (one a region) in a short one. The dashboard shows when they were computed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from courses.models import TrainingPlan
from courses.services import plans as course_plans

from lms.db import utcnow
from lms.orgs.models import Region
from reports import queries
from reports.models import ComplianceFigure, CountFigure
from talent.services import RegionCompliance, compliance_by_region

# The years the job keeps: the dashboard offers this year and the five before (reports.views.regulator); this
# year and last year are recomputed every run (credits and reports of last year still arrive until the roll-up
# closes it in January), older years only when they have no figures yet.
PLAN_FIGURES = queries.PLAN_FIGURES
KEPT_YEARS = 6
ALWAYS_REFRESHED = 2


def compute_counts(session: Session, this_year: int, today: dt.date) -> list[tuple[str, int, int, str, int]]:
    """Every region's counts as ``(figure, year, region_id, key, value)`` rows (a read): training for the years
    the dashboard's trends reach (the oldest year it offers and the four before it), today's statuses (year 0),
    the appointment rate's enterprises per category (year 0) and those appointed on each of those years'
    reading days (``queries.as_of`` of ``today``), as ``queries.appointment_groups`` counts them, and the plans'
    done figures (``PLAN_FIGURES``, key "county" or "city"), as ``courses.services.plans.plan_vs_done`` does."""
    everywhere = select(Region.id).scalar_subquery()
    first = this_year - KEPT_YEARS - queries.TREND_YEARS + 2
    rows = [(name, year, rid, tier.value, n) for name, groups in queries.training_groups(
        session, everywhere, list(range(first, this_year + 1))).items() for (rid, year, tier), n in groups.items() if n]
    rows += [("pool_status", 0, rid, getattr(status, "value", status), n)
             for (rid, status), n in queries.status_groups(session, everywhere).items() if n]
    rows += [("certificate_status", 0, rid, key, n)
             for (rid, key), n in queries.certificate_groups(session, everywhere, today).items() if n]
    provinces = list(session.scalars(select(Region).where(Region.parent_id.is_(None))))
    rows += [("range", 0, p.id, key, year) for p in provinces for key, year in (("from", first), ("to", this_year))]
    # The appointment rate's counts (issue 20: a pass over the ~140,000 accepted appointments of a province was
    # most of a dashboard view), per province as its key industries define the small and micro category; the
    # "rule:<province>" row says which list they were counted with (the page counts live after a change).
    on_days = {y: queries.as_of(y, today) for y in range(first, this_year + 1)}
    for province in provinces:
        settings = queries.settings_for(session, province)
        subtree = select(Region.id).where(Region.path.startswith(province.path)).scalar_subquery()
        for (rid, category, *year), n in queries.appointment_groups(session, province, subtree, on_days,
                                                                      settings).items():
            if n:
                rows.append(("appointment_appointed", year[0], rid, category.value, n) if year
                            else ("appointment_enterprises", 0, rid, category.value, n))
        rows.append(("range", 0, province.id, f"rule:{province.id}", queries.rule_key(settings)))
    # Plan vs done (issue 15) of the plans of those years: per county of a plan's city with a goal or planned
    # classes and the city's own level, people trained, enterprises covered and classes held by ``today``
    # (``courses.services.plans``: two passes over a county's enrolments each, ~25 ms a county at full scale).
    for plan in session.scalars(select(TrainingPlan).where(TrainingPlan.year.between(first, this_year))
                                .options(selectinload(TrainingPlan.goals), selectinload(TrainingPlan.lines))):
        shown = {g.county_id for g in plan.goals} | {line.county_id for line in plan.lines}
        done = [(c.id, "county", course_plans.done_in_county(session, c, plan.year, today)) for c in
                session.scalars(select(Region).where(Region.parent_id == plan.city_id, Region.id.in_(shown - {None})))]
        if None in shown:
            done.append((plan.city_id, "city", course_plans.done_at_city_level(session, plan.city_id, plan.year, today)))
        rows += [(figure, plan.year, rid, key, n) for rid, key, values in done
                 for figure, n in zip(PLAN_FIGURES, values)]
    return rows


def store_counts(session: Session, rows: list[tuple[str, int, int, str, int]], now: dt.datetime | None = None) -> int:
    """Replace every kept count by ``rows`` (``compute_counts``), stamped ``now``; flushes (the caller commits)."""
    now = now or utcnow()
    session.execute(delete(CountFigure))
    session.add_all(CountFigure(figure=f, year=y, region_id=rid, key=k, value=v, computed_at=now) for f, y, rid, k, v in rows)
    session.flush()
    return len(rows)


def compute(session: Session, year: int) -> dict[int, RegionCompliance]:
    """The year's figures per region, live (a read: no lock is taken)."""
    return compliance_by_region(session, year)


def store(session: Session, year: int, figures: dict[int, RegionCompliance], now: dt.datetime | None = None) -> int:
    """Replace the year's kept figures by ``figures`` (one row a region with pool entries, and one for every province,
    zeros if it has none, so that a computed year is known as such), all stamped ``now``; flushes (the caller
    commits). Returns the rows written."""
    now = now or utcnow()
    zero = RegionCompliance(0, 0, 0, 0)
    figures = {**{pid: zero for pid in session.scalars(select(Region.id).where(Region.parent_id.is_(None)))}, **figures}
    session.execute(delete(ComplianceFigure).where(ComplianceFigure.year == year))
    session.add_all(ComplianceFigure(year=year, region_id=rid, members=f.members, compliant=f.compliant,
                                     hours_short=f.hours_short, report_missing=f.report_missing, computed_at=now)
                    for rid, f in figures.items())
    session.flush()
    return len(figures)


def years_to_refresh(session: Session, this_year: int) -> list[int]:
    """This year and last year always; the older years the dashboard offers when they have no figures yet."""
    kept = set(session.scalars(select(ComplianceFigure.year).where(
        ComplianceFigure.year > this_year - KEPT_YEARS).group_by(ComplianceFigure.year)))
    return [y for y in range(this_year, this_year - KEPT_YEARS, -1)
            if this_year - y < ALWAYS_REFRESHED or y not in kept]
