"""Class filings (报备) and results reports: the institution files a class with the bureau of its tier before
it starts and reports its results after it ends; the bureau accepts or returns each with a reason. The gate
functions here (registered in ``courses.gates`` by ``reports.wiring``) keep an unaccepted class from enrolling
trainees or issuing certificates."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import gates
from courses.models import TrainingClass
from courses.services import require_class_staff
from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.notifications.services import link, notify_institution
from lms.orgs.models import Regulator
from reports.models import ClassFiling, ResultsReport, ReviewStatus
from reports.queries import bureau_of_class, filing_of, results_of, roster, sessions_of, settings_for, snapshot

# ------------------------------------------------------------------ who may do what
def _require_bureau(actor: User, bureau: Regulator) -> None:
    if actor.role != Role.regulator_admin or actor.region_id != bureau.region_id:
        raise Forbidden(_("只有%(b)s可以审核", b=bureau.name))


def can_decide(actor: User, record: ClassFiling | ResultsReport) -> bool:
    """May ``actor`` accept or return this filing or results report now (its bureau, while it is under review)?"""
    return (actor.role == Role.regulator_admin and record.status == ReviewStatus.submitted
            and actor.region_id == record.bureau.region_id)


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 500:
        raise ValidationFailed({"reason": _("退回须填写 2-500 字的原因")})
    return reason


# ------------------------------------------------------------------ filing
def _check_fileable(session: Session, klass: TrainingClass, existing: ClassFiling | None, today: dt.date,
                    teachers: str | None) -> None:
    """Refuse a second filing under review or accepted, and a class that has started or lacks teachers or a
    timetable; ``teachers`` (one a line), when given, replaces the class's teachers first."""
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


def file_class(session: Session, actor: User, klass: TrainingClass, today: dt.date,
               teachers: str | None = None) -> ClassFiling:
    """The institution files a class with the bureau of its tier, before the class starts. A returned filing
    is filed again (the bureau's reason stays in the audit log); a filing under review or accepted is not
    filed twice. ``teachers`` (one a line), when given, replaces the class's teachers first."""
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以报备本培训班"))
    existing = filing_of(session, klass)
    _check_fileable(session, klass, existing, today, teachers)
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
    name = filing.training_class.name
    notify_institution(session, filing.institution_id, "class_filing",
                       _("培训班报备已接收：%(c)s", c=name) if accept else _("培训班报备被退回：%(c)s", c=name),
                       _("%(b)s已接收报备，可以开始报名。", b=filing.bureau.name) if accept
                       else _("%(b)s退回了报备，原因：%(r)s", b=filing.bureau.name, r=filing.return_reason),
                       link("reports.filing_page", class_id=filing.class_id))
    return filing


def record_accepted_filing(session: Session, klass: TrainingClass, note: str = "") -> ClassFiling:
    """Record a class as filed and accepted without the review steps: for demo data and for classes that were
    filed on paper before the system existed (``courses.gates.record_filed``). Idempotent."""
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
def _check_reportable(session: Session, klass: TrainingClass, today: dt.date) -> tuple[ClassFiling, ResultsReport | None]:
    """The class's accepted filing and its report so far, or why a results report cannot be submitted now."""
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
    return filing, report


def submit_results(session: Session, actor: User, klass: TrainingClass, today: dt.date, note: str = "") -> ResultsReport:
    """After the class, the institution submits its results report, filled in from the system (``roster``).
    A returned report is submitted again with fresh figures."""
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以报备本培训班"))
    filing, report = _check_reportable(session, klass, today)
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
    name = report.training_class.name
    notify_institution(session, report.institution_id, "results_report",
                       _("结果报告已接收：%(c)s", c=name) if accept else _("结果报告被退回：%(c)s", c=name),
                       _("%(b)s已接收结果报告。", b=report.bureau.name) if accept
                       else _("%(b)s退回了结果报告，原因：%(r)s", b=report.bureau.name, r=report.return_reason),
                       link("reports.results_page", class_id=report.class_id))
    return report


# ------------------------------------------------------------------ the gates (registered by reports.wiring)
def filing_gate(session: Session, klass: TrainingClass, action: str) -> str | None:
    """Why ``action`` (enrol, certify) is refused for the class: its filing is not accepted, or the province
    holds certificates until the results report is accepted; None when it may go ahead."""
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


def accepted_filing_condition():
    """The ENROL gate as SQL on TrainingClass: the class's filing has been accepted."""
    return TrainingClass.id.in_(select(ClassFiling.class_id).where(ClassFiling.status == ReviewStatus.accepted))
