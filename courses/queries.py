"""Read models of courses that the pages, exports and the API share: the class list, the roll of a session, its
attendance sheet and live list. Each returns what both the HTML view and its API twin render."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from courses import gates
from courses.attendance import Rates, rates
from courses.models import (AttendanceRecord, ClassSession, Enrollment, EnrollmentStatus, Programme, TrainingClass,
                            TrainingPlan)
from courses.services.classes import hours_short
from courses.services.enrolment import enrolment_open_condition
from lms.auth.models import User
from lms.domain import Role, Tier
from lms.orgs.models import Region
from lms.scoping import visible

DEVICE_FLAG_AT = 2  # one phone checking in two people is already suspicious
ADDRESS_FLAG_AT = 4  # a classroom shares one Wi-Fi address, so a few per address is normal


def class_list(user, today: dt.date, *, q: str = "", tier: str | None = None, state: str = "") -> Select:
    """The classes ``user`` may see, filtered by text, tier and state (enrolment open, running, ended); a trainee
    sees only classes on offer (cleared by the gates) and, without a state, those not yet ended."""
    stmt = visible(TrainingClass, user).join(Programme, Programme.id == TrainingClass.programme_id)
    if q:
        stmt = stmt.where(or_(TrainingClass.name.contains(q, autoescape=True), TrainingClass.place.contains(q, autoescape=True)))
    if tier in Tier.__members__:
        stmt = stmt.where(Programme.tier == Tier(tier))
    if state == "open":
        stmt = stmt.where(enrolment_open_condition(today))
    elif state == "running":
        stmt = stmt.where(TrainingClass.start_date <= today, TrainingClass.end_date >= today)
    elif state == "ended":
        stmt = stmt.where(TrainingClass.end_date < today)
    if user.role == Role.trainee:
        stmt = stmt.where(*gates.enrollable_conditions())  # a class not yet cleared (e.g. filed) is not on offer
        if not state:
            stmt = stmt.where(TrainingClass.end_date >= today)  # trainees look for classes to join
    return stmt.order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())


def status_counts(session: Session, klass: TrainingClass) -> dict[str, int]:
    """How many enrolments of the class are in each status, by status value (every status present)."""
    found = dict(session.execute(select(Enrollment.status, func.count(Enrollment.id))
                                 .where(Enrollment.class_id == klass.id).group_by(Enrollment.status)).all())
    return {s.value: found.get(s, 0) for s in EnrollmentStatus}


def roster_query(cs: ClassSession, q: str = "") -> Select:
    """The admitted trainees of the session's class, by username; ``q`` matches a name or a whole username."""
    stmt = select(Enrollment).join(User, User.id == Enrollment.user_id).where(
        Enrollment.class_id == cs.class_id, Enrollment.status == EnrollmentStatus.approved,
    ).order_by(User.username)
    if q:
        stmt = stmt.where(or_(User.display_name.contains(q, autoescape=True), User.username == q))
    return stmt


def roster(session: Session, cs: ClassSession) -> list[Enrollment]:
    """Every admitted trainee of the session's class (the roll the import and the template work on)."""
    return list(session.scalars(roster_query(cs)))


def shared_fingerprints(session: Session, cs: ClassSession) -> tuple[set[str], set[str]]:
    """Device hashes used by at least DEVICE_FLAG_AT people and address hashes by ADDRESS_FLAG_AT."""
    def shared(column, threshold):
        return set(session.scalars(
            select(column).where(AttendanceRecord.session_id == cs.id, column != "")
            .group_by(column).having(func.count(func.distinct(AttendanceRecord.enrollment_id)) >= threshold)))

    return shared(AttendanceRecord.device_hash, DEVICE_FLAG_AT), shared(AttendanceRecord.address_hash, ADDRESS_FLAG_AT)


@dataclass
class SheetRow:
    """One admitted trainee on a session's attendance sheet: their record (if any), rates and flags."""

    enrollment: Enrollment
    record: AttendanceRecord | None
    rates: Rates
    device_flag: bool
    address_flag: bool


@dataclass
class AttendanceSheet:
    """The attendance of a session for some of its roll; ``flagged`` when any device or address of the session
    checked in several people."""

    rows: list[SheetRow]
    flagged: bool


def attendance_sheet(session: Session, cs: ClassSession, enrollments: list[Enrollment],
                     now: dt.datetime) -> AttendanceSheet:
    """The session's attendance for ``enrollments`` (a page of ``roster_query``): what the attendance page and the
    API's attendance listing both show."""
    ids = [e.id for e in enrollments]
    records = {r.enrollment_id: r for r in session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.session_id == cs.id, AttendanceRecord.enrollment_id.in_(ids or [0])))}
    dev, addr = shared_fingerprints(session, cs)
    rows = []
    for e in enrollments:
        r = records.get(e.id)
        rows.append(SheetRow(e, r, rates(session, e, now), bool(r and r.device_hash and r.device_hash in dev),
                             bool(r and r.address_hash and r.address_hash in addr)))
    return AttendanceSheet(rows, bool(dev or addr))


@dataclass
class LiveRow:
    """A record on the projector's live list, with the trainee's name and its flags."""

    record: AttendanceRecord
    name: str
    device_flag: bool
    address_flag: bool


def live_list(session: Session, cs: ClassSession) -> list[LiveRow]:
    """The session's attendance records, newest first, with a flag on any record whose device or address
    checked in several people."""
    records = list(session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == cs.id)
                                   .order_by(AttendanceRecord.recorded_at.desc(), AttendanceRecord.id.desc())))
    dev, addr = shared_fingerprints(session, cs)
    return [LiveRow(r, r.enrollment.user.display_name, bool(r.device_hash and r.device_hash in dev),
                    bool(r.address_hash and r.address_hash in addr)) for r in records]


def classes_short_of_hours(session: Session, region, today):
    """Classes held in ``region`` or below that have not ended, whose timetable does not reach their programme's
    hours (issue 15): ``(class, services.HoursShort)`` pairs, soonest first; the shortfall is computed by
    ``services.hours_short`` for each."""
    stmt = (select(TrainingClass).join(Region, Region.id == TrainingClass.region_id)
            .where(Region.path.startswith(region.path), TrainingClass.end_date >= today)
            .options(selectinload(TrainingClass.sessions), selectinload(TrainingClass.programme))
            .order_by(TrainingClass.start_date, TrainingClass.id))
    return [(k, short) for k in session.scalars(stmt) if (short := hours_short(k)) is not None]


def plans_for_region(user, region, year: int) -> Select:
    """The plans of ``year`` the dashboard of ``region`` shows, among those ``user`` sees: the plans of the cities
    in the region, or of the city it is in (a county's dashboard)."""
    parts = region.path.rstrip("/").split("/")
    above = ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]
    return visible(TrainingPlan, user).join(Region, Region.id == TrainingPlan.city_id).where(
        TrainingPlan.year == year, Region.path.startswith(region.path) | Region.path.in_(above)).order_by(Region.code)

