"""Read models of continuing education, shared by the pages, the API, the home panel and the features after
credits (talent reads a member's progress): a province's rule, a member's progress for a year, the lists of
records, claims and reports, the reviewers' queue."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credits.models import AnnualReport, ClaimStatus, CreditClaim, CreditRecord, ProvinceRule
from lms.auth.models import User
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from lms.scoping import visible

YEARS_BACK = 10  # how far back a member's progress may be looked at (the page's year list shows five)

# Features after credits that know a member's province better than the profile's enterprise (talent: the
# province of the pool entry, which the year-end roll-up judges by) add ``fn(session, user_id) -> province id
# | None`` here from their wiring; the first answer wins.
_province_sources: list[Callable[[Session, int], int | None]] = []


def add_province_source(fn: Callable[[Session, int], int | None]) -> Callable[[Session, int], int | None]:
    """Register a source of a member's province (idempotent: once per process)."""
    if fn not in _province_sources:
        _province_sources.append(fn)
    return fn


def rule_for(session: Session, province_id: int | None) -> ProvinceRule:
    """The province's rule, or an unsaved one with the defaults."""
    rule = session.scalar(select(ProvinceRule).where(ProvinceRule.province_id == province_id)) if province_id else None
    return rule or ProvinceRule(province_id=province_id, required_hours=90, professional_min_hours=60,
                                report_required=True, report_due_month=12, change_registration_days=30,
                                ce_either=True, first_year="exempt")


def provinces(session: Session) -> list[Region]:
    """Every province, in code order: the rules page lists each with its rule."""
    return list(session.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)))


@dataclass
class Progress:
    year: int
    total: float
    professional: float
    public: float
    required: int
    professional_min: int
    report_required: bool
    report_filed: bool
    either: bool = True  # the province's rule: report OR hours (seed 002 §4(3)); else hours AND report
    # The rule the figures come from, so pages and the API label the required hours with their basis.
    rule: ProvinceRule | None = field(default=None, repr=False, compare=False)

    @property
    def hours_ok(self) -> bool:
        return self.total >= self.required and self.professional >= self.professional_min

    @property
    def compliant(self) -> bool:
        """The year's requirement met by the province's rule (whether the person is held to it that year —
        in office, not their first year — is talent's ``standing``, which applies this same rule in SQL)."""
        if self.either:
            return self.report_filed or self.hours_ok
        return self.hours_ok and (self.report_filed or not self.report_required)

    @property
    def missing_hours(self) -> float:
        return max(0.0, self.required - self.total)


def hours_by_category(session: Session, user_id: int, year: int) -> dict[str, float]:
    """A member's credited hours for a year by subject category (public, professional)."""
    rows = session.execute(select(CreditRecord.subject_category, func.sum(CreditRecord.hours))
                           .where(CreditRecord.user_id == user_id, CreditRecord.year == year)
                           .group_by(CreditRecord.subject_category)).all()
    out = {"public": 0.0, "professional": 0.0}
    for cat, h in rows:
        out[cat.value] = float(h or 0)
    return out


def hours_by_category_many(session: Session, user_ids: list[int], year: int) -> dict[int, dict[str, float]]:
    """``hours_by_category`` for many members in one statement (an export of the pool, issue 20)."""
    out = {uid: {"public": 0.0, "professional": 0.0} for uid in user_ids}
    for uid, cat, h in session.execute(select(CreditRecord.user_id, CreditRecord.subject_category, func.sum(CreditRecord.hours))
                                       .where(CreditRecord.user_id.in_(user_ids), CreditRecord.year == year)
                                       .group_by(CreditRecord.user_id, CreditRecord.subject_category)):
        out[uid][cat.value] = float(h or 0)
    return out


def progress(session: Session, user_id: int, year: int, province_id: int | None) -> Progress:
    """A member's progress for a year against the province's rule: hours, professional hours, the report."""
    rule = rule_for(session, province_id)
    h = hours_by_category(session, user_id, year)
    filed = session.scalar(select(AnnualReport.id).where(AnnualReport.user_id == user_id, AnnualReport.year == year)) is not None
    return Progress(year=year, total=h["public"] + h["professional"], professional=h["professional"], public=h["public"],
                    required=rule.required_hours, professional_min=rule.professional_min_hours,
                    report_required=rule.report_required, report_filed=filed, either=rule.ce_either, rule=rule)


def member_province_id(session: Session, user_id: int) -> int | None:
    """The province whose rule applies to a member: a registered source's answer (the pool entry's), else the
    province of the enterprise on the member's profile; None when neither is known (the default rule)."""
    for source in _province_sources:
        pid = source(session, user_id)
        if pid:
            return pid
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user_id))
    if prof is None or prof.enterprise is None:
        return None
    return province_of(session, prof.enterprise.region_id).id


def progress_year(year: int | None, today: dt.date) -> int:
    """The year asked for, if it is one of the last ``YEARS_BACK`` years, else this year."""
    return year if year is not None and today.year - YEARS_BACK <= year <= today.year else today.year


def member_progress(session: Session, user: User, year: int | None, today: dt.date) -> Progress:
    """The progress page's and the progress API's one answer: ``user``'s progress for the year asked for
    (``progress_year``) by the rule of their province (``member_province_id``)."""
    return progress(session, user.id, progress_year(year, today), member_province_id(session, user.id))


def records_of(session: Session, user: User, year: int) -> list[CreditRecord]:
    """The member's credit records of a year, newest first."""
    return list(session.scalars(visible(CreditRecord, user).where(CreditRecord.year == year)
                                .order_by(CreditRecord.created_at.desc())))


def claims_of(session: Session, user: User, limit: int = 50) -> list[CreditClaim]:
    """The member's latest claims, newest first."""
    return list(session.scalars(visible(CreditClaim, user).order_by(CreditClaim.submitted_at.desc()).limit(limit)))


def reports_of(session: Session, user: User) -> list[AnnualReport]:
    """The member's annual reports, latest year first."""
    return list(session.scalars(visible(AnnualReport, user).order_by(AnnualReport.year.desc())))


def review_queue(user: User, status: str):
    """The claims a reviewer sees, oldest first, narrowed to a status when it names one (a select to page)."""
    stmt = visible(CreditClaim, user).order_by(CreditClaim.submitted_at)
    if status in ClaimStatus.__members__:
        stmt = stmt.where(CreditClaim.status == ClaimStatus(status))
    return stmt
