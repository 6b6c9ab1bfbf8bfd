"""The regulator's statistics for its own region and below, by year: trainees trained per tier, pass rates,
certificates issued, certificates by status, and the appointment rate (聘任率) against the bureau's targets."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
from lms import audit
from lms.auth.models import User
from lms.domain import Role, SizeClass, Tier
from lms.errors import Forbidden, ValidationFailed
from lms.orgs.models import Enterprise, Region
from reports.filing import settings_for
from reports.models import AppointmentTarget, TargetCategory

TREND_YEARS = 5


def _subtree(region: Region, own_only: bool = False):
    """Ids of the region and everything below it; with ``own_only``, of the region itself (本级: records
    attached to a city or province directly rather than to one of its counties)."""
    if own_only:
        return select(Region.id).where(Region.id == region.id).scalar_subquery()
    return select(Region.id).where(Region.path.startswith(region.path)).scalar_subquery()


def children(session: Session, region: Region) -> list[Region]:
    return list(session.scalars(select(Region).where(Region.parent_id == region.id).order_by(Region.code)))


def as_of(year: int, today: dt.date) -> dt.date:
    """The day a year's standing figures are read on: the year's last day, or today for the current year."""
    return min(today, dt.date(year, 12, 31))


# ------------------------------------------------------------------ training
def training(session: Session, region: Region, year: int, own_only: bool = False) -> dict[str, dict]:
    """Per tier: trainees admitted to classes starting in ``year`` in the region (``trained``), those with an
    exam result (``assessed``) and those who passed (``passed``; a pass in any counting result), and
    certificates first issued in the year (reissues are not counted again)."""
    from certificates.models import Certificate
    from exams.models import ExamResult

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    base = (select(Programme.tier, func.count(distinct(Enrollment.id)))
            .select_from(Enrollment)
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
            .join(Programme, Programme.id == TrainingClass.programme_id)
            .where(Enrollment.status == EnrollmentStatus.approved, TrainingClass.region_id.in_(_subtree(region, own_only)),
                   TrainingClass.start_date.between(start, end))
            .group_by(Programme.tier))
    trained = dict(session.execute(base).all())
    assessed = dict(session.execute(base.join(ExamResult, ExamResult.enrollment_id == Enrollment.id)).all())
    passed = dict(session.execute(base.join(ExamResult, and_(ExamResult.enrollment_id == Enrollment.id,
                                                             ExamResult.passed.is_(True)))).all())
    certs = dict(session.execute(
        select(Certificate.tier, func.count(Certificate.id)).where(
            Certificate.region_id.in_(_subtree(region, own_only)), Certificate.issued_on.between(start, end),
            Certificate.supersedes_id.is_(None)).group_by(Certificate.tier)).all())
    out = {}
    for tier in Tier:
        a, p = assessed.get(tier, 0), passed.get(tier, 0)
        out[tier.value] = {"trained": trained.get(tier, 0), "assessed": a, "passed": p,
                           "pass_rate": round(p / a, 4) if a else None, "certificates": certs.get(tier, 0)}
    t = {k: sum(v[k] for v in out.values()) for k in ("trained", "assessed", "passed", "certificates")}
    t["pass_rate"] = round(t["passed"] / t["assessed"], 4) if t["assessed"] else None
    out["total"] = t
    return out


def pool(session: Session, region: Region, year: int) -> dict:
    """The talent pool of the region by status today, and its members' continuing-education compliance for
    ``year`` by the province's rule (talent.services.standings, the roll-up's own definition)."""
    from talent.models import PoolStatus, TalentEntry
    from talent.services import standings

    counts = dict(session.execute(select(TalentEntry.status, func.count(TalentEntry.id))
                                  .where(TalentEntry.region_id.in_(_subtree(region))).group_by(TalentEntry.status)).all())
    rows = standings(session, year, region_ids=_subtree(region))
    members, compliant = len(rows), sum(1 for r in rows if r.compliant)
    return {
        "statuses": {s.value: counts.get(s, 0) for s in PoolStatus},
        "members": members, "compliant": compliant, "rate": round(compliant / members, 4) if members else None,
        "hours_short": sum(1 for r in rows if not r.hours_ok), "report_missing": sum(1 for r in rows if not r.report_filed),
    }


def certificate_statuses(session: Session, region: Region, today: dt.date) -> dict[str, int]:
    """Current certificates (not replaced by a newer one) of classes in the region, by the status a verifier
    sees today."""
    from certificates.models import Certificate, CertificateStatus

    past = func.sum(case((Certificate.valid_until < today, 1), else_=0))
    rows = session.execute(select(Certificate.status, func.count(Certificate.id), past).where(
        Certificate.region_id.in_(_subtree(region)), Certificate.current_for_enrollment_id.is_not(None))
        .group_by(Certificate.status)).all()
    out = {s.value: 0 for s in (CertificateStatus.valid, CertificateStatus.suspended, CertificateStatus.revoked,
                                CertificateStatus.expired)}
    for status, n, n_past in rows:
        if status == CertificateStatus.valid:  # a valid one past its date is expired to a verifier already
            out[CertificateStatus.valid.value] += n - (n_past or 0)
            out[CertificateStatus.expired.value] += n_past or 0
        elif status.value in out:
            out[status.value] += n
    return out


# ------------------------------------------------------------------ appointment rate
def appointed_enterprise_ids(on: dt.date):
    """THE rule for "this enterprise has appointed a CQO" on a day, as a subquery of enterprise ids: the bureau
    has accepted its appointment registration (聘任登记) dated on or before that day, or one of its people
    (by trainee profile) holds a certificate in force that day (an enterprise that sent its CQO to be trained
    has appointed one, registered or not yet)."""
    from certificates.models import Certificate, CertificateStatus
    from lms.people.models import TraineeProfile
    from talent.models import Appointment, RegistrationStatus

    end_of_day = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(0), tzinfo=dt.timezone.utc)
    certified = (select(TraineeProfile.enterprise_id)
                 .join(Certificate, Certificate.holder_user_id == TraineeProfile.user_id)
                 .where(TraineeProfile.enterprise_id.is_not(None), Certificate.issued_on <= on,
                        Certificate.valid_until >= on,
                        or_(Certificate.status == CertificateStatus.valid, Certificate.status_changed_at >= end_of_day)))
    registered = select(Appointment.enterprise_id).where(Appointment.status == RegistrationStatus.accepted,
                                                         Appointment.appointed_on <= on)
    return certified.union(registered).scalar_subquery()


def category_condition(session: Session, region: Region, category: TargetCategory):
    if category == TargetCategory.above_size:
        return Enterprise.above_designated_size.is_(True)
    industries = settings_for(session, region).key_industries or []
    return and_(Enterprise.size_class.in_([SizeClass.small, SizeClass.micro]), Enterprise.industry.in_(industries))


def target_for(session: Session, region: Region, year: int, category: TargetCategory) -> float | None:
    """The target set for the region for the year, or the nearest one set above it (a city's own target
    wins over the province's)."""
    codes = [c for c in region.path.strip("/").split("/") if c]
    rows = session.execute(select(Region.code, AppointmentTarget.rate).join(Region, Region.id == AppointmentTarget.region_id)
                           .where(Region.code.in_(codes), AppointmentTarget.year == year,
                                  AppointmentTarget.category == category)).all()
    by_code = dict(rows)
    for code in reversed(codes):
        if code in by_code:
            return by_code[code]
    return None


def appointment(session: Session, region: Region, year: int, today: dt.date, own_only: bool = False) -> dict[str, dict]:
    on = as_of(year, today)
    out = {}
    for category in TargetCategory:
        cond = category_condition(session, region, category)
        scope = (Enterprise.region_id.in_(_subtree(region, own_only)), cond)
        total = session.scalar(select(func.count(Enterprise.id)).where(*scope)) or 0
        appointed = session.scalar(select(func.count(Enterprise.id)).where(
            *scope, Enterprise.id.in_(appointed_enterprise_ids(on)))) or 0
        out[category.value] = {"label": category.label, "enterprises": total, "appointed": appointed,
                               "rate": round(appointed / total, 4) if total else None,
                               "target": target_for(session, region, year, category)}
    out["key_industries"] = settings_for(session, region).key_industries or []
    return out


def set_target(session: Session, actor: User, year: int, category: str, rate_percent: float) -> AppointmentTarget:
    """A bureau sets its region's appointment-rate target for a year (as a percentage)."""
    if actor.role != Role.regulator_admin or actor.region is None:
        raise Forbidden(_("只有监管部门可以设置目标"))
    errors = {}
    try:
        cat = TargetCategory(category)
    except ValueError:
        errors["category"] = _("请选择企业类别")
    if not 2000 <= (year or 0) <= 2100:
        errors["year"] = _("年份无效")
    if rate_percent is None or not 0 <= rate_percent <= 100:
        errors["rate"] = _("目标须在 0 到 100 之间")
    if errors:
        raise ValidationFailed(errors)
    row = session.scalar(select(AppointmentTarget).where(AppointmentTarget.region_id == actor.region_id,
                                                         AppointmentTarget.year == year, AppointmentTarget.category == cat))
    if row is None:
        row = AppointmentTarget(region_id=actor.region_id, year=year, category=cat)
        session.add(row)
    row.rate, row.set_by_id = round(float(rate_percent) / 100, 4), actor.id
    session.flush()
    audit.record(session, actor, "appointment_target.set", row, year=year, category=cat.value, rate=row.rate)
    return row


# ------------------------------------------------------------------ the dashboard
def dashboard(session: Session, region: Region, year: int, today: dt.date) -> dict:
    """Everything the dashboard shows for ``region`` (already checked to be in the reader's scope)."""
    rows = []
    subs = children(session, region)
    if subs:
        # What belongs to the region itself and to none of its subregions (a city's own institutions,
        # enterprises registered at city level), so that the rows add up to the total.
        rows.append({"region": region, "own": True, "training": training(session, region, year, own_only=True),
                     "appointment": appointment(session, region, year, today, own_only=True)})
    for child in subs:
        rows.append({"region": child, "own": False, "training": training(session, child, year),
                     "appointment": appointment(session, child, year, today)})
    trend = []
    for y in range(year - TREND_YEARS + 1, year + 1):
        t = training(session, region, y)
        a = appointment(session, region, y, today) if y <= today.year else None
        trend.append({"year": y, "training": t, "appointment": a})
    return {
        "region": region, "year": year, "as_of": as_of(year, today),
        "training": training(session, region, year),
        "statuses": certificate_statuses(session, region, today),
        "pool": pool(session, region, year),
        "appointment": appointment(session, region, year, today),
        "children": rows, "trend": trend,
    }
