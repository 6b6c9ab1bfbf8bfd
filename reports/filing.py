"""Class filings (报备) and results reports: the institution files a class with the bureau of its tier before
it starts and reports its results after it ends; the bureau accepts or returns each with a reason. The
gates registered here keep an unaccepted class from enrolling trainees or issuing certificates."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import gates
from courses.attendance import attendance_rate
from courses.models import ClassSession, Enrollment, EnrollmentStatus, TrainingClass
from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.orgs.models import Region, Regulator
from lms.orgs.services import bureau_for_tier
from reports.models import ClassFiling, ReportingSettings, ResultsReport, ReviewStatus
from lms.templating import SHANGHAI


# ------------------------------------------------------------------ province rules
def province_of(session: Session, region: Region) -> Region:
    code = region.province_code
    return region if region.code == code else session.scalar(select(Region).where(Region.code == code))


def settings_for(session: Session, region: Region) -> ReportingSettings:
    """The reporting rules of the region's province (defaults, unsaved, when the province set none)."""
    province = province_of(session, region)
    row = session.scalar(select(ReportingSettings).where(ReportingSettings.province_id == province.id))
    return row or ReportingSettings(province_id=province.id, hold_certificates_until_report=False, key_industries=[],
                                    annual_report_due="01-31")


def save_settings(session: Session, actor: User, *, hold_certificates: bool, key_industries: list[str],
                  annual_report_due: str) -> ReportingSettings:
    """A province bureau sets its province's reporting rules."""
    if actor.role != Role.regulator_admin or actor.region is None or actor.region.parent_id is not None:
        raise Forbidden(_("只有省级监管部门可以设置本省的报备规则"))
    try:
        month, day = (int(x) for x in (annual_report_due or "").split("-"))
        dt.date(2025, month, day)
    except ValueError:
        raise ValidationFailed({"annual_report_due": _("请按“月-日”填写，如 01-31")})
    industries = sorted({i.strip() for i in key_industries if i.strip()})
    if any(len(i) > 64 for i in industries):
        raise ValidationFailed({"key_industries": _("行业名称不能超过 64 字")})
    row = session.scalar(select(ReportingSettings).where(ReportingSettings.province_id == actor.region.id))
    if row is None:
        row = ReportingSettings(province_id=actor.region.id)
        session.add(row)
    row.hold_certificates_until_report = bool(hold_certificates)
    row.key_industries = industries
    row.annual_report_due = f"{month:02d}-{day:02d}"
    session.flush()
    audit.record(session, actor, "reporting_settings.save", row, hold=row.hold_certificates_until_report,
                 industries=len(industries))
    return row


# ------------------------------------------------------------------ who may do what
def _require_staff_of(actor: User, klass: TrainingClass) -> None:
    if actor.role != Role.institution_staff or actor.institution_id != klass.institution_id:
        raise Forbidden(_("只有开班机构的工作人员可以报备本培训班"))


def _require_bureau(actor: User, bureau: Regulator) -> None:
    if actor.role != Role.regulator_admin or actor.region_id != bureau.region_id:
        raise Forbidden(_("只有%(b)s可以审核", b=bureau.name))


def can_decide(actor: User, record) -> bool:
    return (actor.role == Role.regulator_admin and record.status == ReviewStatus.submitted
            and actor.region_id == record.bureau.region_id)


def bureau_of_class(session: Session, klass: TrainingClass) -> Regulator:
    bureau = bureau_for_tier(session, klass.region, klass.programme.tier)
    if bureau is None:
        raise DomainError(_("找不到负责%(tier)s培训的监管部门，无法报备", tier=klass.programme.tier.label))
    return bureau


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 500:
        raise ValidationFailed({"reason": _("退回须填写 2-500 字的原因")})
    return reason


# ------------------------------------------------------------------ filing
def filing_of(session: Session, klass: TrainingClass) -> ClassFiling | None:
    return session.scalar(select(ClassFiling).where(ClassFiling.class_id == klass.id))


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


FILED_FIELDS = {"programme": _l("培训方案"), "place": _l("地点"), "capacity": _l("招收人数"), "start_date": _l("开始日期"),
                "end_date": _l("结束日期"), "teachers": _l("授课教师"), "sessions": _l("课表")}


def changed_since_filed(record: ClassFiling, current: dict) -> list[str]:
    """What the class no longer matches of what was filed (the bureau reviewed the filed version), as labels."""
    return [str(label) for k, label in FILED_FIELDS.items() if (record.snapshot or {}).get(k) != current.get(k)]


def file_class(session: Session, actor: User, klass: TrainingClass, today: dt.date,
               teachers: str | None = None) -> ClassFiling:
    """The institution files a class with the bureau of its tier, before the class starts. A returned filing
    is filed again (the bureau's reason stays in the audit log); a filing under review or accepted is not
    filed twice. ``teachers`` (one a line), when given, replaces the class's teachers first."""
    _require_staff_of(actor, klass)
    existing = filing_of(session, klass)
    if existing is not None and existing.status == ReviewStatus.accepted:
        raise Conflict(_("该培训班的报备已被接收，无需重复报备"))
    if existing is not None and existing.status == ReviewStatus.submitted:
        raise Conflict(_("该培训班已报备，正在等待%(b)s审核", b=existing.bureau.name))
    if teachers is not None:
        if len(teachers) > 2000:
            raise ValidationFailed({"teachers": _("授课教师不能超过 2000 字")})
        klass.teachers = teachers.strip()
    errors = {}
    if today >= klass.start_date:
        errors["class"] = _("培训班须在开班（%(d)s）之前报备", d=klass.start_date.isoformat())
    if not (klass.teachers or "").strip():
        errors["teachers"] = _("请先填写授课教师")
    if not sessions_of(session, klass):
        errors["sessions"] = _("请先添加课表（至少一个课次）")
    if errors:
        raise ValidationFailed(errors)
    bureau = bureau_of_class(session, klass)
    filing = existing or ClassFiling(class_id=klass.id)
    filing.institution_id, filing.region_id, filing.bureau_id = klass.institution_id, klass.region_id, bureau.id
    filing.status, filing.snapshot = ReviewStatus.submitted, snapshot(session, klass)
    filing.submitted_at, filing.submitted_by_id = utcnow(), actor.id
    filing.decided_at = filing.decided_by_id = None
    filing.return_reason = ""
    session.add(filing)
    session.flush()
    audit.record(session, actor, "class_filing.submit", filing, class_id=klass.id, bureau_id=bureau.id)
    return filing


def decide_filing(session: Session, actor: User, filing: ClassFiling, accept: bool, reason: str = "") -> ClassFiling:
    """The bureau of the class's tier accepts the filing, or returns it with a reason the institution sees."""
    _require_bureau(actor, filing.bureau)
    if filing.status != ReviewStatus.submitted:
        raise DomainError(_("该报备当前为“%(s)s”，不能审核", s=filing.status.label))
    filing.return_reason = "" if accept else _reason(reason)
    filing.status = ReviewStatus.accepted if accept else ReviewStatus.returned
    filing.decided_at, filing.decided_by_id = utcnow(), actor.id
    session.flush()
    audit.record(session, actor, "class_filing." + ("accept" if accept else "return"), filing, class_id=filing.class_id)
    return filing


@gates.register_filing_recorder
def record_accepted_filing(session: Session, klass: TrainingClass, note: str = "") -> ClassFiling:
    """Record a class as filed and accepted without the review steps: for demo data and for classes that were
    filed on paper before the system existed. Idempotent."""
    filing = filing_of(session, klass)
    if filing is not None and filing.status == ReviewStatus.accepted:
        return filing
    bureau = bureau_of_class(session, klass)
    filing = filing or ClassFiling(class_id=klass.id)
    filing.institution_id, filing.region_id, filing.bureau_id = klass.institution_id, klass.region_id, bureau.id
    filing.status, filing.snapshot = ReviewStatus.accepted, snapshot(session, klass)
    filing.submitted_at = filing.decided_at = utcnow()
    filing.return_reason = note
    session.add(filing)
    session.flush()
    return filing


# ------------------------------------------------------------------ results report
def results_of(session: Session, klass: TrainingClass) -> ResultsReport | None:
    return session.scalar(select(ResultsReport).where(ResultsReport.class_id == klass.id))


def roster(session: Session, klass: TrainingClass, now: dt.datetime | None = None) -> tuple[list[dict], dict]:
    """The class's admitted trainees with attendance rate, counting exam result and certificate, as the system
    holds them now (offline results included once imported), and the totals."""
    from certificates.models import Certificate
    from exams.results import exam_outcome, real_name

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


def submit_results(session: Session, actor: User, klass: TrainingClass, today: dt.date, note: str = "") -> ResultsReport:
    """After the class, the institution submits its results report, filled in from the system. A returned
    report is submitted again with fresh figures."""
    _require_staff_of(actor, klass)
    filing = filing_of(session, klass)
    if filing is None or filing.status != ReviewStatus.accepted:
        raise DomainError(_("该培训班的报备尚未被接收，不能提交结果报告"))
    if today < klass.end_date:
        raise DomainError(_("培训班于 %(d)s 结束，结束后才能提交结果报告", d=klass.end_date.isoformat()))
    report = results_of(session, klass)
    if report is not None and report.status == ReviewStatus.accepted:
        raise Conflict(_("该培训班的结果报告已被接收"))
    if report is not None and report.status == ReviewStatus.submitted:
        raise Conflict(_("结果报告已提交，正在等待%(b)s审核", b=report.bureau.name))
    if len(note or "") > 2000:
        raise ValidationFailed({"note": _("说明不能超过 2000 字")})
    rows, totals = roster(session, klass)
    if not rows:
        raise DomainError(_("该培训班没有已录取的学员，无需提交结果报告"))
    report = report or ResultsReport(class_id=klass.id)
    report.institution_id, report.region_id, report.bureau_id = klass.institution_id, klass.region_id, filing.bureau_id
    report.status, report.rows, report.totals, report.note = ReviewStatus.submitted, rows, totals, (note or "").strip()
    report.submitted_at, report.submitted_by_id = utcnow(), actor.id
    report.decided_at = report.decided_by_id = None
    report.return_reason = ""
    session.add(report)
    session.flush()
    audit.record(session, actor, "results_report.submit", report, class_id=klass.id, trainees=totals["trainees"])
    return report


def decide_results(session: Session, actor: User, report: ResultsReport, accept: bool, reason: str = "") -> ResultsReport:
    """The bureau accepts the results report (held certificates may then be issued) or returns it."""
    _require_bureau(actor, report.bureau)
    if report.status != ReviewStatus.submitted:
        raise DomainError(_("该结果报告当前为“%(s)s”，不能审核", s=report.status.label))
    report.return_reason = "" if accept else _reason(reason)
    report.status = ReviewStatus.accepted if accept else ReviewStatus.returned
    report.decided_at, report.decided_by_id = utcnow(), actor.id
    session.flush()
    audit.record(session, actor, "results_report." + ("accept" if accept else "return"), report, class_id=report.class_id)
    return report


# ------------------------------------------------------------------ the gates
@gates.register_class_gate("filing")
def _filing_gate(session: Session, klass: TrainingClass, action: str) -> str | None:
    filing = filing_of(session, klass)
    if filing is None or filing.status != ReviewStatus.accepted:
        state = _("未报备") if filing is None else filing.status.label
        if action == gates.ENROL:
            return _("该培训班的报备尚未被监管部门接收（%(s)s），暂不能报名或录取", s=state)
        return _("该培训班的报备尚未被监管部门接收（%(s)s），不能发证", s=state)
    if action == gates.CERTIFY and settings_for(session, klass.region).hold_certificates_until_report:
        report = results_of(session, klass)
        if report is None or report.status != ReviewStatus.accepted:
            return _("按本省规定，培训班的结果报告被监管部门接收后才能发证")
    return None


@gates.register_enrollable_condition
def _accepted_filing_condition():
    return TrainingClass.id.in_(select(ClassFiling.class_id).where(ClassFiling.status == ReviewStatus.accepted))


def class_ids_needing_action(session: Session, actor: User) -> dict:
    """Counts for home pages: filings and reports waiting for this bureau."""
    from sqlalchemy import func

    if actor.role != Role.regulator_admin:
        return {}
    bureau = session.scalar(select(Regulator).where(Regulator.region_id == actor.region_id))
    if bureau is None:
        return {"filings": 0, "results": 0}
    f = session.scalar(select(func.count(ClassFiling.id)).where(ClassFiling.bureau_id == bureau.id,
                                                                ClassFiling.status == ReviewStatus.submitted)) or 0
    r = session.scalar(select(func.count(ResultsReport.id)).where(ResultsReport.bureau_id == bureau.id,
                                                                  ResultsReport.status == ReviewStatus.submitted)) or 0
    return {"filings": f, "results": r}


def sessions_of(session: Session, klass: TrainingClass) -> list[ClassSession]:
    return list(session.scalars(select(ClassSession).where(ClassSession.class_id == klass.id)
                                .order_by(ClassSession.starts_at, ClassSession.id)))
