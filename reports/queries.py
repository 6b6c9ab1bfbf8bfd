"""The read models of reporting, shared by the pages, the Excel exports, the API and the services: the
province's reporting rules, a class's filing, results report and roster, the review lists and home-page counts,
annual figures and who is late, an import's progress, and the regulator's statistics for its region and below
(trainees per tier, pass rates, certificates by status, the talent pool, and the appointment rate (聘任率)
against the bureau's targets). Reads only: nothing here writes."""
from __future__ import annotations

import datetime as dt
import json
import zlib

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, distinct, extract, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from certificates.models import Certificate, CertificateStatus
from courses import gates
from courses.attendance import attendance_rate
from courses.models import ClassSession, Enrollment, EnrollmentStatus, Programme, TrainingClass
from exams.models import Exam, ExamResult, ExamStatus
from exams.results import exam_outcome, real_name
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import SizeClass, Tier
from lms.errors import DomainError
from lms.orgs.models import Enterprise, Institution, Region, Regulator
from lms.orgs.services import province_of
from lms.orgs.tiers import bureau_for_tier
from lms.scoping import visible
from lms.templating import SHANGHAI
from reports.models import (AnnualWorkReport, AppointmentTarget, ClassFiling, ComplianceFigure, CountFigure,
                            ReportingSettings, ResultImport, ResultsReport, ReviewStatus, TargetCategory)
from talent.models import Appointment, PoolStatus, RegistrationStatus, TalentEntry
from talent.services import RegionCompliance, compliance_by_region

TREND_YEARS = 5
PLAN_FIGURES = ("plan_trained", "plan_enterprises", "plan_held")  # kept per plan row: (trained, enterprises, held)
FILED_FIELDS = {"programme": _l("培训方案"), "place": _l("地点"), "capacity": _l("招收人数"), "start_date": _l("开始日期"),
                "end_date": _l("结束日期"), "teachers": _l("授课教师"), "sessions": _l("课表")}


# ------------------------------------------------------------------ the province's rules
def settings_for(session: Session, region: Region) -> ReportingSettings:
    """The reporting rules of the region's province (defaults, unsaved, when the province set none)."""
    province = province_of(session, region)
    row = session.scalar(select(ReportingSettings).where(ReportingSettings.province_id == province.id))
    return row or ReportingSettings(province_id=province.id, hold_certificates_until_report=False, key_industries=[],
                                    key_industries_basis="", annual_report_due="01-31")


def due_date(session: Session, region: Region, year: int) -> dt.date:
    """The annual report for ``year`` is due on the province's day (MM-DD) of the following year."""
    month, day = (int(x) for x in settings_for(session, region).annual_report_due.split("-"))
    return dt.date(year + 1, month, day)


def targets_of(session: Session, region_id: int) -> list[AppointmentTarget]:
    """The appointment-rate targets a bureau has set for its own region, newest year first."""
    return list(session.scalars(select(AppointmentTarget).where(AppointmentTarget.region_id == region_id)
                                .order_by(AppointmentTarget.year.desc(), AppointmentTarget.category)))


# ------------------------------------------------------------------ a class's filing and results
def filing_of(session: Session, klass: TrainingClass) -> ClassFiling | None:
    """The class's filing, if it was ever filed."""
    return session.scalar(select(ClassFiling).where(ClassFiling.class_id == klass.id))


def results_of(session: Session, klass: TrainingClass) -> ResultsReport | None:
    """The class's results report, if one was ever submitted."""
    return session.scalar(select(ResultsReport).where(ResultsReport.class_id == klass.id))


def sessions_of(session: Session, klass: TrainingClass) -> list[ClassSession]:
    """The class's timetable in order (an import's 课次 numbers count in this order)."""
    return list(session.scalars(select(ClassSession).where(ClassSession.class_id == klass.id)
                                .order_by(ClassSession.starts_at, ClassSession.id)))


def bureau_of_class(session: Session, klass: TrainingClass) -> Regulator:
    """The bureau a class is filed with: the one supervising its programme's tier where the class is held."""
    bureau = bureau_for_tier(session, klass.region, klass.programme.tier)
    if bureau is None:
        raise DomainError(_("找不到负责%(tier)s培训的监管部门，无法报备", tier=klass.programme.tier.label))
    return bureau


def snapshot(session: Session, klass: TrainingClass) -> dict:
    """What is filed: programme, timetable, teachers, capacity (times in Beijing time)."""
    p = klass.programme
    return {
        "class_name": klass.name, "programme": p.name, "tier": p.tier.value, "tier_label": p.tier.label,
        "year": p.year, "total_hours": p.total_hours, "place": klass.place, "capacity": klass.capacity,
        "start_date": klass.start_date.isoformat(), "end_date": klass.end_date.isoformat(),
        "enrol_opens_on": klass.enrol_opens_on.isoformat(), "enrol_closes_on": klass.enrol_closes_on.isoformat(),
        "teachers": [t.strip() for t in (klass.teachers or "").splitlines() if t.strip()],
        "sessions": [{"starts_at": s.starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                      "ends_at": s.ends_at.astimezone(SHANGHAI).strftime("%H:%M"), "hours": s.hours,
                      "topic": s.topic, "place": s.place or klass.place} for s in sessions_of(session, klass)],
    }


def changed_since_filed(record: ClassFiling, current: dict) -> list[str]:
    """What the class no longer matches of what was filed (the bureau reviewed the filed version), as labels."""
    return [str(label) for k, label in FILED_FIELDS.items() if (record.snapshot or {}).get(k) != current.get(k)]


def roster(session: Session, klass: TrainingClass, now: dt.datetime | None = None) -> tuple[list[dict], dict]:
    """The class's admitted trainees with attendance rate, counting exam result and certificate, as the system
    holds them now (offline results included once imported), and the totals: what a results report holds."""
    now = now or utcnow()
    enrollments = session.scalars(select(Enrollment).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.approved).order_by(Enrollment.id)).all()
    certs = {c.enrollment_id: c for c in session.scalars(select(Certificate).where(
        Certificate.class_id == klass.id, Certificate.current_for_enrollment_id.is_not(None)))}
    rows = []
    for e in enrollments:
        outcome = exam_outcome(session, e)
        cert = certs.get(e.id)
        rows.append({
            "enrollment_id": e.id, "username": e.user.username, "name": real_name(e.user),
            "attendance_rate": attendance_rate(session, e, so_far=False, now=now),
            "score": outcome.score if outcome else None, "passed": outcome.passed if outcome else None,
            "exam_source": outcome.source if outcome else None,
            "certificate": cert.number if cert else None, "certificate_status": cert.status.value if cert else None,
        })
    min_rate = klass.programme.min_attendance_rate
    totals = {
        "trainees": len(rows),
        "attendance_met": sum(1 for r in rows if r["attendance_rate"] >= min_rate),
        "assessed": sum(1 for r in rows if r["score"] is not None),
        "passed": sum(1 for r in rows if r["passed"]),
        "certificates": sum(1 for r in rows if r["certificate"]),
    }
    totals["pass_rate"] = round(totals["passed"] / totals["assessed"], 4) if totals["assessed"] else None
    return rows, totals


def results_shown(session: Session, klass: TrainingClass) -> tuple[list[dict], dict]:
    """The roster the results page and its Excel export show: the report as submitted, or (none yet, or
    returned) the roster as the system holds it now."""
    report = results_of(session, klass)
    if report is not None and report.status != ReviewStatus.returned:
        return report.rows, report.totals
    return roster(session, klass)


def class_exam(session: Session, klass: TrainingClass) -> Exam | None:
    """The exam that offline scores of the class go to: its latest published counting exam."""
    return session.scalar(select(Exam).where(
        Exam.counts_for_completion.is_(True), Exam.status == ExamStatus.published,
        (Exam.class_id == klass.id) | (Exam.class_id.is_(None) & (Exam.programme_id == klass.programme_id)
                                       & (Exam.institution_id == klass.institution_id)),
    ).order_by(Exam.class_id.is_(None), Exam.closes_at.desc(), Exam.id.desc()).limit(1))


def latest_import(session: Session, klass: TrainingClass) -> ResultImport | None:
    """The class's most recent offline-results import (its progress is shown on the results page)."""
    return session.scalar(select(ResultImport).where(ResultImport.class_id == klass.id)
                          .order_by(ResultImport.id.desc()).limit(1))


def import_progress(imp: ResultImport) -> dict:
    """How far an import has got, as the results page's progress bar and its JSON poll show it."""
    return {"import_id": imp.id, "status": imp.status, "total": imp.total, "done": imp.done,
            "percent": round(100 * imp.done / imp.total) if imp.total else 100, "message": imp.message,
            "attendance": (imp.summary or {}).get("attendance", 0), "scores": (imp.summary or {}).get("scores", 0)}


def class_status(session: Session, klass: TrainingClass) -> dict:
    """A class's filing and results report and what its gates allow now (the API's ClassReportStatus)."""
    f = filing_of(session, klass)
    r = results_of(session, klass)
    return {
        "class_id": klass.id, "class_name": klass.name,
        "filing": None if f is None else {"status": f.status.value, "bureau": f.bureau.name,
                                          "submitted_at": f.submitted_at.isoformat(), "return_reason": f.return_reason},
        "results": None if r is None else {"status": r.status.value, "bureau": r.bureau.name,
                                           "submitted_at": r.submitted_at.isoformat(), "return_reason": r.return_reason,
                                           "totals": r.totals},
        "can_enrol": gates.refusal(session, klass, gates.ENROL) is None,
        "can_issue_certificates": gates.refusal(session, klass, gates.CERTIFY) is None,
    }


# ------------------------------------------------------------------ lists
def report_classes(user: User) -> Select:
    """The classes whose filings and reports ``user`` may see, newest first (the staff list and the API)."""
    return visible(TrainingClass, user).order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())


def records_of_classes(session: Session, class_ids: list[int]) -> tuple[dict, dict]:
    """The filings and the results reports of these classes, by class id."""
    ids = class_ids or [0]
    filings = {f.class_id: f for f in session.scalars(select(ClassFiling).where(ClassFiling.class_id.in_(ids)))}
    results = {r.class_id: r for r in session.scalars(select(ResultsReport).where(ResultsReport.class_id.in_(ids)))}
    return filings, results


def review_list(user: User, kind: str, status: str, q: str) -> Select:
    """The filings (``kind="filings"``) or results reports a bureau sees, newest first, by status and class name."""
    model = ResultsReport if kind == "results" else ClassFiling
    stmt = (visible(model, user).join(TrainingClass, TrainingClass.id == model.class_id)
            .order_by(model.submitted_at.desc(), model.id.desc()))
    if status in {s.value for s in ReviewStatus}:
        stmt = stmt.where(model.status == status)
    if q:
        stmt = stmt.where(TrainingClass.name.contains(q, autoescape=True))
    return stmt


def waiting_for(session: Session, actor: User) -> dict:
    """Counts for a bureau's home page: filings and results reports waiting for its decision."""
    bureau = session.scalar(select(Regulator).where(Regulator.region_id == actor.region_id))
    if bureau is None:
        return {"filings": 0, "results": 0}
    f = session.scalar(select(func.count(ClassFiling.id)).where(ClassFiling.bureau_id == bureau.id,
                                                                ClassFiling.status == ReviewStatus.submitted)) or 0
    r = session.scalar(select(func.count(ResultsReport.id)).where(ResultsReport.bureau_id == bureau.id,
                                                                  ResultsReport.status == ReviewStatus.submitted)) or 0
    return {"filings": f, "results": r}


def returned_filings(session: Session, user: User) -> list[ClassFiling]:
    """The filings of the staff member's institution that the bureau returned (to be filed again)."""
    return list(session.scalars(visible(ClassFiling, user).where(ClassFiling.status == ReviewStatus.returned)))


# ------------------------------------------------------------------ annual work reports
def annual_reports(user: User) -> Select:
    """The annual work reports ``user`` may see, newest year first."""
    return visible(AnnualWorkReport, user).order_by(AnnualWorkReport.year.desc(), AnnualWorkReport.id)


def annual_figures(session: Session, institution: Institution, year: int) -> dict:
    """The institution's year: classes starting in it, trainees admitted, pass rate among those assessed
    (a pass in any counting result), certificates first issued in the year."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    classes = select(TrainingClass.id).where(TrainingClass.institution_id == institution.id,
                                             TrainingClass.start_date.between(start, end))
    n_classes = session.scalar(select(func.count()).select_from(classes.subquery())) or 0
    trainees = select(Enrollment.id).where(Enrollment.class_id.in_(classes.scalar_subquery()),
                                           Enrollment.status == EnrollmentStatus.approved)
    n_trainees = session.scalar(select(func.count()).select_from(trainees.subquery())) or 0
    assessed = session.scalar(select(func.count(distinct(ExamResult.enrollment_id))).where(
        ExamResult.enrollment_id.in_(trainees.scalar_subquery()))) or 0
    passed = session.scalar(select(func.count(distinct(ExamResult.enrollment_id))).where(
        ExamResult.enrollment_id.in_(trainees.scalar_subquery()), ExamResult.passed.is_(True))) or 0
    certs = session.scalar(select(func.count(Certificate.id)).where(
        Certificate.institution_id == institution.id, Certificate.issued_on.between(start, end),
        Certificate.supersedes_id.is_(None))) or 0
    return {"classes": n_classes, "trainees": n_trainees, "assessed": assessed, "passed": passed,
            "pass_rate": round(passed / assessed, 4) if assessed else None, "certificates": certs}


def annual_report_of(session: Session, institution: Institution, year: int) -> AnnualWorkReport | None:
    """The institution's annual work report for ``year``, if filed."""
    return session.scalar(select(AnnualWorkReport).where(AnnualWorkReport.institution_id == institution.id,
                                                         AnnualWorkReport.year == year))


def annual_status_for_region(session: Session, actor: User, year: int, today: dt.date) -> list[dict]:
    """Every active institution the bureau sees, with its report for the year or whether it is late, and the
    reporting rule its due date comes from."""
    institutions = session.scalars(visible(Institution, actor).where(Institution.is_active.is_(True))
                                   .order_by(Institution.name)).all()
    reports = {r.institution_id: r for r in session.scalars(select(AnnualWorkReport).where(
        AnnualWorkReport.year == year, AnnualWorkReport.institution_id.in_([i.id for i in institutions] or [0])))}
    out = []
    for inst in institutions:
        due = due_date(session, inst.region, year)
        report = reports.get(inst.id)
        if report is not None:
            state = "late_filed" if report.late else "filed"
        else:
            state = "late" if today > due else "pending"
        # The rule the due date comes from, so the page labels it with its basis (issue 15).
        out.append({"institution": inst, "report": report, "due": due, "state": state,
                    "rule": settings_for(session, inst.region)})
    return out


# ------------------------------------------------------------------ the regulator's statistics
# Issue 20: the dashboard reads each figure once for the region's whole subtree, grouped by the region of the
# record (and by year for the trend), and adds the groups up per row in Python over the few regions: a constant
# number of statements however many regions, years or people. The single-region functions below (``training``,
# ``appointment``, ``pool``) are the same grouped reads narrowed to one region.
def _subtree(region: Region, own_only: bool = False):
    """Ids of the region and everything below it; with ``own_only``, of the region itself (本级: records
    attached to a city or province directly rather than to one of its counties)."""
    if own_only:
        return select(Region.id).where(Region.id == region.id).scalar_subquery()
    return select(Region.id).where(Region.path.startswith(region.path)).scalar_subquery()


def children(session: Session, region: Region) -> list[Region]:
    """The region's direct subregions, by code (the dashboard's rows)."""
    return list(session.scalars(select(Region).where(Region.parent_id == region.id).order_by(Region.code)))


def as_of(year: int, today: dt.date) -> dt.date:
    """The day a year's standing figures are read on: the year's last day, or today for the current year."""
    return min(today, dt.date(year, 12, 31))


class _Scope:
    """A region and the ids of the regions below it (``ids(r)``: ``r`` and its subtree, or ``r`` alone for its
    own level), read once a page."""

    def __init__(self, session: Session, region: Region):
        self.region = region
        self.paths = dict(session.execute(select(Region.id, Region.path).where(Region.path.startswith(region.path))).all())

    def ids(self, region: Region, own_only: bool = False) -> set[int]:
        if own_only:
            return {region.id}
        return {rid for rid, path in self.paths.items() if path.startswith(region.path)}


def _sum(groups: dict, ids: set[int], *key) -> int:
    """The sum of ``groups[(region_id, *key)]`` over the regions ``ids``."""
    return sum(groups.get((rid, *key), 0) for rid in ids)


# ------------------------------------------------------------------ training
def _year_of(column):
    """The year of a date column as an integer, on either database (SQLite's strftime, PostgreSQL's EXTRACT)."""
    return cast(extract("year", column), Integer)


def training_groups(session: Session, region_ids, years: list[int]) -> dict[str, dict]:
    """Per (record's region, year, tier): trainees admitted to classes starting in the year (``trained``), those
    with an exam result (``assessed``), those who passed (``passed``; a pass in any counting result) and
    certificates first issued in the year (``certificates``); two grouped statements for every year and region."""
    start, end = dt.date(min(years), 1, 1), dt.date(max(years), 12, 31)
    year = _year_of(TrainingClass.start_date)
    passed = case((ExamResult.passed.is_(True), ExamResult.enrollment_id))
    enrolments = (select(TrainingClass.region_id, year, Programme.tier, func.count(distinct(Enrollment.id)),
                         func.count(distinct(ExamResult.enrollment_id)), func.count(distinct(passed)))
                  .select_from(Enrollment)
                  .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
                  .join(Programme, Programme.id == TrainingClass.programme_id)
                  .outerjoin(ExamResult, ExamResult.enrollment_id == Enrollment.id)
                  .where(Enrollment.status == EnrollmentStatus.approved, TrainingClass.region_id.in_(region_ids),
                         TrainingClass.start_date.between(start, end))
                  .group_by(TrainingClass.region_id, year, Programme.tier))
    out: dict[str, dict] = {"trained": {}, "assessed": {}, "passed": {}}
    for rid, y, tier, n, a, p in session.execute(enrolments).all():
        key = (rid, int(y), tier)
        out["trained"][key], out["assessed"][key], out["passed"][key] = n, a, p
    issued = _year_of(Certificate.issued_on)
    out["certificates"] = {(rid, int(y), tier): n for rid, y, tier, n in session.execute(
        select(Certificate.region_id, issued, Certificate.tier, func.count(Certificate.id)).where(
            Certificate.region_id.in_(region_ids), Certificate.issued_on.between(start, end),
            Certificate.supersedes_id.is_(None)).group_by(Certificate.region_id, issued, Certificate.tier)).all()}
    return out


def _training_figures(groups: dict[str, dict], ids: set[int], year: int) -> dict[str, dict]:
    out = {}
    for tier in Tier:
        a, p = _sum(groups["assessed"], ids, year, tier), _sum(groups["passed"], ids, year, tier)
        out[tier.value] = {"trained": _sum(groups["trained"], ids, year, tier), "assessed": a, "passed": p,
                           "pass_rate": round(p / a, 4) if a else None,
                           "certificates": _sum(groups["certificates"], ids, year, tier)}
    t = {k: sum(v[k] for v in out.values()) for k in ("trained", "assessed", "passed", "certificates")}
    t["pass_rate"] = round(t["passed"] / t["assessed"], 4) if t["assessed"] else None
    out["total"] = t
    return out


def training(session: Session, region: Region, year: int, own_only: bool = False) -> dict[str, dict]:
    """Per tier: trainees admitted to classes starting in ``year`` in the region (``trained``), those with an
    exam result (``assessed``) and those who passed (``passed``; a pass in any counting result), and
    certificates first issued in the year (reissues are not counted again)."""
    groups = training_groups(session, _subtree(region, own_only), [year])
    return _training_figures(groups, set(_all_regions(groups)), year)


def _all_regions(groups: dict[str, dict]) -> set[int]:
    return {k[0] for g in groups.values() for k in g}


# ------------------------------------------------------------------ the talent pool and CE compliance
def status_groups(session: Session, region_ids) -> dict:
    """Pool entries per (entry's region, status) today."""
    return {(rid, status): n for rid, status, n in session.execute(
        select(TalentEntry.region_id, TalentEntry.status, func.count(TalentEntry.id))
        .where(TalentEntry.region_id.in_(region_ids)).group_by(TalentEntry.region_id, TalentEntry.status)).all()}


def _pool_figures(statuses: dict, compliance: dict, ids: set[int], computed_at: dt.datetime | None) -> dict:
    members = sum(compliance[r].members for r in ids if r in compliance)
    compliant = sum(compliance[r].compliant for r in ids if r in compliance)
    return {
        "statuses": {s.value: _sum(statuses, ids, s) for s in PoolStatus},
        "members": members, "compliant": compliant, "rate": round(compliant / members, 4) if members else None,
        "hours_short": sum(compliance[r].hours_short for r in ids if r in compliance),
        "report_missing": sum(compliance[r].report_missing for r in ids if r in compliance),
        "computed_at": computed_at,
    }


def pool(session: Session, region: Region, year: int, own_only: bool = False) -> dict:
    """The talent pool of the region by status today, and its members' continuing-education compliance for
    ``year`` by the province's rule (``talent.services.compliance_by_region``, the roll-up's own definition),
    computed now; with ``own_only``, of the region's own level (本级) only, so that the dashboard's county rows
    add up. (The dashboard reads the figures its job keeps: ``dashboard``.)"""
    ids = _subtree(region, own_only)
    statuses, compliance = status_groups(session, ids), compliance_by_region(session, year, region_ids=ids)
    return _pool_figures(statuses, compliance, set(compliance) | {k[0] for k in statuses}, None)


def _compliance(session: Session, region: Region, year: int) -> tuple[dict, dt.datetime | None]:
    """The dashboard's compliance figures per region of the subtree: those the job kept (``reports.services.figures``)
    with their time, or, for a year the job has not computed yet, live (time None)."""
    ids = _subtree(region)
    kept = kept_compliance(session, year, ids)
    if kept is not None:
        return kept
    return compliance_by_region(session, year, region_ids=ids), None


def kept_compliance(session: Session, year: int, region_ids) -> tuple[dict[int, RegionCompliance], dt.datetime | None] | None:
    """The figures of ``year`` the job kept for the regions ``region_ids`` (a subquery) and when they were computed
    (the oldest stamp among them); None when the job has not computed the year yet."""
    rows = session.execute(select(ComplianceFigure.region_id, ComplianceFigure.members, ComplianceFigure.compliant,
                                  ComplianceFigure.hours_short, ComplianceFigure.report_missing,
                                  ComplianceFigure.computed_at)
                           .where(ComplianceFigure.year == year, ComplianceFigure.region_id.in_(region_ids))).all()
    if rows:
        return ({r.region_id: RegionCompliance(r.members, r.compliant, r.hours_short, r.report_missing) for r in rows},
                min(r.computed_at for r in rows))
    # No member in these regions: the year was computed (a row elsewhere), or not yet.
    stamp = session.scalar(select(func.min(ComplianceFigure.computed_at)).where(ComplianceFigure.year == year))
    return ({}, stamp) if stamp is not None else None


CERTIFICATE_KEYS = (CertificateStatus.valid.value, CertificateStatus.suspended.value, CertificateStatus.revoked.value,
                    CertificateStatus.expired.value)


def certificate_groups(session: Session, region_ids, today: dt.date) -> dict:
    """Current certificates (not replaced by a newer one) per (region, status a verifier sees today)."""
    past = func.sum(case((Certificate.valid_until < today, 1), else_=0))
    out: dict = {}
    for rid, status, n, n_past in session.execute(
            select(Certificate.region_id, Certificate.status, func.count(Certificate.id), past).where(
                Certificate.region_id.in_(region_ids), Certificate.current_for_enrollment_id.is_not(None))
            .group_by(Certificate.region_id, Certificate.status)).all():
        if status == CertificateStatus.valid:  # a valid one past its date is expired to a verifier already
            out[(rid, CertificateStatus.valid.value)] = out.get((rid, CertificateStatus.valid.value), 0) + n - (n_past or 0)
            out[(rid, CertificateStatus.expired.value)] = out.get((rid, CertificateStatus.expired.value), 0) + (n_past or 0)
        elif status.value in CERTIFICATE_KEYS:
            out[(rid, status.value)] = out.get((rid, status.value), 0) + n
    return out


def certificate_statuses(session: Session, region: Region, today: dt.date) -> dict[str, int]:
    """Current certificates (not replaced by a newer one) of classes in the region, by the status a verifier
    sees today."""
    groups = certificate_groups(session, _subtree(region), today)
    return {k: _sum(groups, {g[0] for g in groups}, k) for k in CERTIFICATE_KEYS}


def kept_counts(session: Session, region_ids, years: list[int]) -> tuple[dict, dt.datetime] | None:
    """The counts the dashboard's job kept (``CountFigure``) for the regions ``region_ids`` (a subquery): training
    groups of ``years`` (as ``training_groups``), today's pool and certificate statuses (as ``status_groups``,
    ``certificate_groups``), the appointment groups (as ``appointment_groups``, with ``appointment_rules``: per
    province, the ``rule_key`` of the key industries they were counted with), and when they were computed; None
    when the job has not kept these years (yet)."""
    kept = {k: (lo, hi, at) for k, lo, hi, at in session.execute(
        select(CountFigure.key, func.min(CountFigure.value), func.max(CountFigure.value), func.min(CountFigure.computed_at))
        .where(CountFigure.figure == "range").group_by(CountFigure.key)).all()}
    if "from" not in kept or "to" not in kept or min(years) < kept["from"][1] or max(years) > kept["to"][0]:
        return None
    out: dict = {"training": {"trained": {}, "assessed": {}, "passed": {}, "certificates": {}}, "pool": {},
                 "certificates": {}, "appointment": {}}
    for figure, year, rid, key, value in session.execute(
            select(CountFigure.figure, CountFigure.year, CountFigure.region_id, CountFigure.key, CountFigure.value)
            .where(CountFigure.region_id.in_(region_ids), CountFigure.figure != "range",
                   or_(CountFigure.year.in_(years), CountFigure.year == 0))).all():
        if figure in out["training"]:
            out["training"][figure][(rid, year, Tier(key))] = value
        elif figure == "pool_status":
            out["pool"][(rid, PoolStatus(key))] = value
        elif figure == "certificate_status":
            out["certificates"][(rid, key)] = value
        elif figure == "appointment_enterprises":
            out["appointment"][(rid, TargetCategory(key))] = value
        elif figure == "appointment_appointed":
            out["appointment"][(rid, TargetCategory(key), year)] = value
    out["appointment_rules"] = {int(k.split(":", 1)[1]): lo for k, (lo, _hi, _at) in kept.items() if k.startswith("rule:")}
    return out, min(kept["from"][2], kept["to"][2])


def kept_plan_done(session: Session, year: int) -> dict[tuple[int, str], tuple[int, int, int]]:
    """The plans' done figures of ``year`` the dashboard's job kept (``figures.PLAN_FIGURES``): (people trained,
    enterprises covered, classes held) by (county id, "county") and (city id, "city") for the city-wide lines."""
    parts: dict[tuple[int, str], dict[str, int]] = {}
    for figure, rid, key, value in session.execute(
            select(CountFigure.figure, CountFigure.region_id, CountFigure.key, CountFigure.value)
            .where(CountFigure.figure.in_(PLAN_FIGURES), CountFigure.year == year)).all():
        parts.setdefault((rid, key), {})[figure] = value
    return {k: tuple(v[f] for f in PLAN_FIGURES) for k, v in parts.items() if len(v) == len(PLAN_FIGURES)}


def plan_done_kept_for(kept: dict[tuple[int, str], tuple[int, int, int]], city_id: int) -> dict:
    """``kept_plan_done`` as ``courses.services.plans.plan_vs_done`` takes it for a plan of ``city_id``: by county
    id, and None for the city-wide row."""
    out: dict = {rid: v for (rid, key), v in kept.items() if key == "county"}
    if (city_id, "city") in kept:
        out[None] = kept[(city_id, "city")]
    return out


# ------------------------------------------------------------------ appointment rate
def appointed_enterprise_ids(on: dt.date):
    """THE rule for "this enterprise has appointed a CQO" on a day, as a subquery of enterprise ids: the bureau
    has accepted an appointment registration (聘任登记, seed 002 §4(3)) of the enterprise that is in force that
    day (appointed on or before it, not ended on or before it). Certificates do not count: seed 002 sets its
    targets on 「首席质量官聘任率」, enterprises that have appointed (聘任) a CQO, and a person trained or
    certified has not thereby been appointed by anyone."""

    return select(Appointment.enterprise_id).where(_in_force(on)).scalar_subquery()


def _in_force(on: dt.date):
    """An accepted appointment in force on ``on`` (the rule of ``appointed_enterprise_ids``)."""
    return and_(Appointment.status == RegistrationStatus.accepted, Appointment.appointed_on <= on,
                or_(Appointment.ended_on.is_(None), Appointment.ended_on > on))


def _appointed_by_day(on_days: dict[int, dt.date]):
    """Per enterprise with an accepted appointment, a column ``y<year>`` that is 1 when one is in force on that
    year's reading day (``appointed_enterprise_ids``' rule), in one pass over the accepted appointments (issue 20:
    an IN subquery per category and year read them all ten times a dashboard, 0.8 s at 140,000 appointments)."""
    return (select(Appointment.enterprise_id.label("eid"),
                   *[func.max(case((_in_force(on), 1), else_=0)).label(f"y{year}") for year, on in on_days.items()])
            .where(Appointment.status == RegistrationStatus.accepted)
            .group_by(Appointment.enterprise_id).subquery())


# Seed 002 §1: 「重点行业中小微企业首席质量官聘任率」: medium, small and micro firms, by the size class on the
# enterprise's record, in the industries the province lists (an above-size medium firm counts in both).
SMALL_MEDIUM_MICRO = (SizeClass.medium, SizeClass.small, SizeClass.micro)


def category_condition(session: Session, region: Region, category: TargetCategory, settings: ReportingSettings | None = None):
    """The SQL condition on Enterprise for a target category: above-size firms (规模以上, the flag on the
    enterprise's record), or medium, small and micro firms in the province's key industries."""
    if category == TargetCategory.above_size:
        return Enterprise.above_designated_size.is_(True)
    industries = (settings or settings_for(session, region)).key_industries or []
    return and_(Enterprise.size_class.in_(SMALL_MEDIUM_MICRO), Enterprise.industry.in_(industries))


class _Targets:
    """The targets set for a set of regions and years and the regions above them, read in one statement; ``of``
    answers as ``target_of`` does (the region's own target, else the nearest one set above it)."""

    def __init__(self, session: Session, regions: list[Region], years: list[int]):
        codes = {c for r in regions for c in r.path.strip("/").split("/") if c}
        self.by_code = {(code, t.year, t.category): (t, name) for code, name, t in session.execute(
            select(Region.code, Region.name, AppointmentTarget).join(Region, Region.id == AppointmentTarget.region_id)
            .where(Region.code.in_(codes), AppointmentTarget.year.in_(years))).all()}

    def of(self, region: Region, year: int, category: TargetCategory) -> tuple[AppointmentTarget, str] | None:
        for code in reversed([c for c in region.path.strip("/").split("/") if c]):
            if (code, year, category) in self.by_code:
                return self.by_code[(code, year, category)]
        return None


def target_of(session: Session, region: Region, year: int, category: TargetCategory) -> AppointmentTarget | None:
    """The target set for the region for the year, or the nearest one set above it (a city's own target
    wins over the province's); None when no bureau up the line set one."""
    found = _Targets(session, [region], [year]).of(region, year, category)
    return found[0] if found is not None else None


def target_for(session: Session, region: Region, year: int, category: TargetCategory) -> float | None:
    """The rate of ``target_of`` (0..1), or None."""
    target = target_of(session, region, year, category)
    return target.rate if target is not None else None


def rule_key(settings: ReportingSettings) -> int:
    """A number standing for the province's key industries (the small and micro category's definition): the
    dashboard uses the appointment counts its job kept only when they were counted under the same list."""
    return zlib.crc32(json.dumps(sorted(settings.key_industries or []), ensure_ascii=False).encode()) & 0x7FFFFFFF


def appointment_groups(session: Session, region: Region, region_ids, on_days: dict[int, dt.date],
                       settings: ReportingSettings) -> dict:
    """Per enterprise region: the enterprises of each target category (``(rid, category)``) and those with an
    appointment in force on each year's reading day (``(rid, category, year)``), in one grouped statement (a pass
    over the accepted appointments: the dashboard reads what its job kept of it, ``kept_counts``)."""
    cols, keys = [], []
    appointed = _appointed_by_day(on_days)
    for category in TargetCategory:
        cond = category_condition(session, region, category, settings)
        cols.append(func.sum(case((cond, 1), else_=0)))
        keys.append((category,))
        for year in on_days:
            cols.append(func.sum(case((and_(cond, appointed.c[f"y{year}"] == 1), 1), else_=0)))
            keys.append((category, year))
    out = {}
    stmt = (select(Enterprise.region_id, *cols).outerjoin(appointed, appointed.c.eid == Enterprise.id)
            .where(Enterprise.region_id.in_(region_ids)).group_by(Enterprise.region_id))
    for rid, *values in session.execute(stmt).all():
        for key, n in zip(keys, values):
            out[(rid, *key)] = int(n or 0)
    return out


def _appointment_figures(groups: dict, ids: set[int], targets: _Targets, region: Region, year: int,
                         settings: ReportingSettings) -> dict[str, dict]:
    out = {}
    for category in TargetCategory:
        total, appointed = _sum(groups, ids, category), _sum(groups, ids, category, year)
        found = targets.of(region, year, category)
        target, target_region = found if found is not None else (None, "")
        out[category.value] = {"label": category.label, "enterprises": total, "appointed": appointed,
                               "rate": round(appointed / total, 4) if total else None,
                               "target": target.rate if target is not None else None,
                               "target_basis": target.basis if target is not None else "",
                               "target_region": target_region}
    out["key_industries"] = settings.key_industries or []
    out["key_industries_basis"] = settings.key_industries_basis or ""
    return out


def appointment(session: Session, region: Region, year: int, today: dt.date, own_only: bool = False) -> dict[str, dict]:
    """Per target category: enterprises of the region, those with an appointment in force on the year's reading
    day (``appointed_enterprise_ids``), the rate, the target and where the target comes from; and the
    province's key industries with their basis."""
    settings = settings_for(session, region)
    ids = _subtree(region, own_only)
    groups = appointment_groups(session, region, ids, {year: as_of(year, today)}, settings)
    return _appointment_figures(groups, {k[0] for k in groups}, _Targets(session, [region], [year]), region, year,
                                settings)


# ------------------------------------------------------------------ the dashboard
def dashboard(session: Session, region: Region, year: int, today: dt.date) -> dict:
    """Everything the dashboard shows for ``region`` (already checked to be in the reader's scope): each figure
    read once for the subtree, grouped by region (and year), then added up per row: the region's own level
    (本级: what belongs to it and to none of its subregions, so that the rows add up to the total) and each
    subregion. The counts that grow with the people (training, today's statuses, the appointment rate's
    enterprises and appointments) are those the job ``reports-dashboard-figures`` keeps (``counted_at``), the
    continuing-education compliance too (``pool.computed_at``); what it does not keep is counted now (time None),
    and so is the appointment rate when the province's key industries changed after the job's run."""
    scope = _Scope(session, region)
    subs = children(session, region)
    rows = ([(region, True)] if subs else []) + [(child, False) for child in subs]
    years = list(range(year - TREND_YEARS + 1, year + 1))
    settings = settings_for(session, region)
    ids = _subtree(region)
    kept = kept_counts(session, ids, years)
    appointed = appointment_counted_at = None
    if kept is not None:
        (counts, counted_at) = kept
        trained, statuses, certificates = counts["training"], counts["pool"], counts["certificates"]
        if counts["appointment_rules"].get(settings.province_id) == rule_key(settings):
            appointed, appointment_counted_at = counts["appointment"], counted_at
    else:  # a year the job does not keep (or before its first run): counted now
        trained, statuses = training_groups(session, ids, years), status_groups(session, ids)
        certificates, counted_at = certificate_groups(session, ids, today), None
    if appointed is None:  # not kept, or kept under key industries the province has changed since: counted now
        appointed = appointment_groups(session, region, ids, {y: as_of(y, today) for y in years}, settings)
    targets = _Targets(session, [region] + subs, years)
    compliance, computed_at = _compliance(session, region, year)

    def appointment_of(r: Region, y: int, own_only: bool = False):
        return _appointment_figures(appointed, scope.ids(r, own_only), targets, r, y, settings)

    children_rows = [{"region": r, "own": own, "training": _training_figures(trained, scope.ids(r, own), year),
                      "appointment": appointment_of(r, year, own),
                      "pool": _pool_figures(statuses, compliance, scope.ids(r, own), computed_at)} for r, own in rows]
    everything = scope.ids(region)
    trend = [{"year": y, "training": _training_figures(trained, everything, y),
              "appointment": appointment_of(region, y) if y <= today.year else None} for y in years]
    return {
        "region": region, "year": year, "as_of": as_of(year, today), "counted_at": counted_at,
        "appointment_counted_at": appointment_counted_at,
        "training": _training_figures(trained, everything, year),
        "statuses": {k: _sum(certificates, everything, k) for k in CERTIFICATE_KEYS},
        "pool": _pool_figures(statuses, compliance, everything, computed_at),
        "appointment": appointment_of(region, year),
        "children": children_rows, "trend": trend,
    }
