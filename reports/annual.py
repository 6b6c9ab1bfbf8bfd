"""Annual work reports (年度工作情况报告): one per institution per year, the year's figures filled in by the
system plus the institution's narrative; the bureau sees who has filed and who is late."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.orgs.models import Institution, Region
from reports.filing import settings_for
from reports.models import AnnualWorkReport


def figures(session: Session, institution: Institution, year: int) -> dict:
    """The institution's year: classes starting in it, trainees admitted, pass rate among those assessed
    (a pass in any counting result), certificates first issued in the year."""
    from certificates.models import Certificate
    from exams.models import ExamResult

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


def due_date(session: Session, region: Region, year: int) -> dt.date:
    """The report for ``year`` is due on the province's day (MM-DD) of the following year."""
    month, day = (int(x) for x in settings_for(session, region).annual_report_due.split("-"))
    return dt.date(year + 1, month, day)


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
    if session.scalar(select(AnnualWorkReport.id).where(AnnualWorkReport.institution_id == inst.id, AnnualWorkReport.year == year)):
        raise Conflict(_("本机构 %(y)d 年度的工作报告已提交", y=year))
    report = AnnualWorkReport(institution_id=inst.id, region_id=inst.region_id, year=year,
                          figures=figures(session, inst, year), narrative=narrative, submitted_at=utcnow(),
                          submitted_by_id=actor.id, late=today > due_date(session, inst.region, year))
    session.add(report)
    session.flush()
    audit.record(session, actor, "annual_report.submit", report, year=year, late=report.late)
    return report


def status_for_region(session: Session, actor: User, year: int, today: dt.date) -> list[dict]:
    """Every active institution the bureau sees, with its report for the year or whether it is late."""
    from lms.scoping import visible

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
        out.append({"institution": inst, "report": report, "due": due, "state": state})
    return out



