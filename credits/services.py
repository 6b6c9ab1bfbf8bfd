"""Continuing-education rules: a province's rule, awarding system credits (a certificate's class hours), claims
for external activities, the annual report. A member's progress is read in ``credits.queries``; the yearly roll-up
and the pool's reactions are talent's (it listens to ``credits.signals``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from certificates.models import Certificate
from courses.models import TrainingClass
from credits import signals
from credits.models import FIRST_YEAR_RULES, AnnualReport, ClaimStatus, CreditClaim, CreditRecord, ProvinceRule, SubjectCategory
from lms import audit, uploads
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.notifications.services import link, notify
from lms.orgs.models import Institution, Region, Regulator
from lms.orgs.services import province_of, regulator_of
from lms.people.models import TraineeProfile
from lms.settingbasis import BasisKind, set_basis

MAX_CLAIM_HOURS = 200


# ------------------------------------------------------------------ rules
def rule_errors(*, required_hours: int, professional_min_hours: int, report_due_month: int,
                change_registration_days: int, first_year: str, basis_kind: str, basis_source: str) -> dict[str, str]:
    """What is wrong with a province's CE rule, by field (empty: nothing): the bounds ``save_rule`` and the
    settings import (``credits.settings_section``) both check."""
    errors: dict[str, str] = {}
    if not 1 <= required_hours <= 500:
        errors["required_hours"] = _("年度学时须在 1 到 500 之间")
    if not 0 <= professional_min_hours <= required_hours:
        errors["professional_min_hours"] = _("专业科目学时不能超过年度总学时")
    if not 1 <= report_due_month <= 12:
        errors["report_due_month"] = _("月份须在 1 到 12 之间")
    if not 1 <= change_registration_days <= 365:
        errors["change_registration_days"] = _("期限须在 1 到 365 天之间")
    if first_year not in FIRST_YEAR_RULES:
        errors["first_year"] = _("请选择取得证书或聘任当年的处理方式")
    if basis_kind not in BasisKind.__members__:
        errors["basis_kind"] = _("请选择数值的依据：依据文件、本省自定或示例")
    elif basis_kind == BasisKind.source.value and not (basis_source or "").strip():
        errors["basis_source"] = _("选择“依据”时须填写文件名称及条款")
    return errors


def save_rule(session: Session, actor: User, province_id: int, *, required_hours: int, professional_min_hours: int,
              report_required: bool, report_due_month: int, change_registration_days: int, ce_either: bool = True,
              first_year: str = "exempt", basis_kind: str = "example", basis_source: str = "") -> ProvinceRule:
    """Save a province's rule: the province's own bureau (or a system administrator), within the bounds. The
    defaults of ``ce_either`` and ``first_year`` are seed 002 §4(3)'s (report OR CE proof; the first year not
    held against anyone); the hours, which no seed sets, carry their basis (``basis_kind``: a document and
    clause in ``basis_source``, the province's own choice, or an example)."""
    province = session.get(Region, province_id)
    if province is None or province.parent_id is not None:
        raise ValidationFailed({"province_id": _("请选择省份")})
    if actor.role != Role.system_admin and not (
            actor.role == Role.regulator_admin and actor.region_id == province.id):
        raise Forbidden(_("只有省级监管部门可以修改本省规则"))
    errors = rule_errors(required_hours=required_hours, professional_min_hours=professional_min_hours,
                         report_due_month=report_due_month, change_registration_days=change_registration_days,
                         first_year=first_year, basis_kind=basis_kind, basis_source=basis_source)
    if errors:
        raise ValidationFailed(errors)
    rule = session.scalar(select(ProvinceRule).where(ProvinceRule.province_id == province.id))
    if rule is None:
        rule = ProvinceRule(province_id=province.id)
        session.add(rule)
    rule.required_hours, rule.professional_min_hours = required_hours, professional_min_hours
    rule.report_required, rule.report_due_month = report_required, report_due_month
    rule.change_registration_days = change_registration_days
    rule.ce_either, rule.first_year = bool(ce_either), first_year
    session.flush()
    for name in ("required_hours", "professional_min_hours"):
        set_basis(session, rule, name, basis_kind, basis_source)
    audit.record(session, actor, "ce_rule.save", rule, required_hours=required_hours,
                 professional_min_hours=professional_min_hours, change_registration_days=change_registration_days,
                 ce_either=bool(ce_either), first_year=first_year, basis=basis_kind)
    return rule


# ------------------------------------------------------------------ credits
def award_system_credit(session: Session, *, user_id: int, year: int, hours: float, subject_category: str,
                        source_ref: str, title: str) -> CreditRecord:
    """Credit hours earned in this system (a completed course or class). Idempotent on ``source_ref``:
    a second call with the same reference returns the existing record unchanged."""
    existing = session.scalar(select(CreditRecord).where(CreditRecord.source_ref == source_ref))
    if existing is not None:
        return existing
    if not 0 < float(hours) <= MAX_CLAIM_HOURS:
        raise ValidationFailed({"hours": _("学时须大于 0 且不超过 %(n)d", n=MAX_CLAIM_HOURS)})
    rec = CreditRecord(user_id=user_id, year=year, hours=round(float(hours), 1),
                       subject_category=SubjectCategory(subject_category), source="system",
                       source_ref=source_ref[:128], title=title[:200])
    session.add(rec)
    session.flush()
    signals.credits_changed.send("credits", session=session, user_id=user_id, year=year)
    return rec


def award_certificate_hours(session: Session, certificate: Certificate) -> list[CreditRecord]:
    """An issued certificate's class hours count as the year's credits: each required course of the programme,
    by subject category, once per the certificate's enrolment (a reissue awards nothing more)."""
    programme = session.get(TrainingClass, certificate.class_id).programme
    return [award_system_credit(session, user_id=certificate.holder_user_id, year=certificate.issued_on.year,
                                hours=course.hours, subject_category=course.subject_category.value,
                                source_ref=f"enrollment:{certificate.enrollment_id}:course:{course.id}",
                                title=f"{programme.name} · {course.title}")
            for course in programme.required_courses]


def award_certificate_hours_many(session: Session, certificates: list[Certificate]) -> int:
    """``award_certificate_hours`` for a batch of certificates issued in bulk (issue 20): the references
    already credited read in one statement, the new records inserted in one, and one ``credits_changed_many``
    a year. Returns how many records were added."""
    rows, seen = [], set()
    for cert in certificates:
        programme = session.get(TrainingClass, cert.class_id).programme
        for course in programme.required_courses:
            ref = f"enrollment:{cert.enrollment_id}:course:{course.id}"[:128]
            if ref in seen:
                continue
            seen.add(ref)
            if not 0 < float(course.hours) <= MAX_CLAIM_HOURS:
                raise ValidationFailed({"hours": _("学时须大于 0 且不超过 %(n)d", n=MAX_CLAIM_HOURS)})
            rows.append({"user_id": cert.holder_user_id, "year": cert.issued_on.year, "hours": round(float(course.hours), 1),
                         "subject_category": course.subject_category, "source": "system", "source_ref": ref,
                         "title": f"{programme.name} · {course.title}"[:200]})
    if not rows:
        return 0
    have = set(session.scalars(select(CreditRecord.source_ref).where(CreditRecord.source_ref.in_(seen))))
    rows = [r for r in rows if r["source_ref"] not in have]
    if rows:
        session.execute(insert(CreditRecord), rows)
    for year in sorted({r["year"] for r in rows}):
        users = sorted({r["user_id"] for r in rows if r["year"] == year})
        signals.credits_changed_many.send("credits", session=session, user_ids=users, year=year)
    return len(rows)


@dataclass
class ClaimData:
    user_id: int  # whose credits: must be the claimant
    title: str
    organiser: str
    activity_date: dt.date | None
    hours: float | None
    subject_category: str
    institution_id: int | None = None


@dataclass
class ClaimReviewers:
    bureau: Regulator | None  # the bureau of the trainee's own region (the nearest one registered above it)
    institutions: list[Institution]  # the active institutions of the trainee's province


def claim_reviewers(session: Session, user: User) -> ClaimReviewers:
    """Who may review a trainee's claim: the bureau of their own region (their enterprise's), or a training
    institution of their own province; never another province's institution."""
    profile = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    region = profile.enterprise.region if profile and profile.enterprise else None
    if region is None:
        return ClaimReviewers(None, [])
    bureau, here = None, region
    while here is not None and bureau is None:
        bureau = regulator_of(session, here)
        here = here.parent
    province = province_of(session, region)
    institutions = session.scalars(select(Institution).join(Region, Region.id == Institution.region_id).where(
        Institution.is_active.is_(True), Region.path.startswith(province.path)).order_by(Institution.name)).all()
    return ClaimReviewers(bureau, list(institutions))


def submit_claim(session: Session, actor: User, data: ClaimData, evidence: bytes, evidence_name: str,
                 upload_dir: str, today: dt.date) -> CreditClaim:
    """A trainee claims an external activity's hours, with evidence, for review (this year's or last year's)."""
    if actor.role != Role.trainee or data.user_id != actor.id:
        raise Forbidden(_("只能为本人申报继续教育学时"))
    errors = {}
    title = (data.title or "").strip()
    if not title:
        errors["title"] = _("此项必填")
    elif len(title) > 200:
        errors["title"] = _("名称过长")
    if data.hours is None or not 0 < float(data.hours) <= MAX_CLAIM_HOURS:
        errors["hours"] = _("学时须大于 0 且不超过 %(n)d", n=MAX_CLAIM_HOURS)
    if data.activity_date is None:
        errors["activity_date"] = _("此项必填")
    elif data.activity_date > today:
        errors["activity_date"] = _("活动日期不能晚于今天")
    elif data.activity_date.year < today.year - 1:
        errors["activity_date"] = _("只能申报本年度或上一年度的活动")
    if data.subject_category not in SubjectCategory.__members__:
        errors["subject_category"] = _("请选择科目类别")
    if data.institution_id and data.institution_id not in {i.id for i in claim_reviewers(session, actor).institutions}:
        errors["institution_id"] = _("只能选择本省的培训机构审核；不选则由您所在地区的监管部门审核")
    if errors:
        raise ValidationFailed(errors)
    stored = uploads.store(session, upload_dir, "credits", evidence, evidence_name, field="evidence")
    claim = CreditClaim(
        user_id=actor.id, year=data.activity_date.year, title=title, organiser=(data.organiser or "").strip()[:128],
        institution_id=data.institution_id or None, activity_date=data.activity_date, hours=round(float(data.hours), 1),
        subject_category=SubjectCategory(data.subject_category), evidence_path=stored.path,
        evidence_name=stored.original_name, evidence_mime=stored.mime,
    )
    session.add(claim)
    session.flush()
    audit.record(session, actor, "ce_claim.submit", claim, hours=claim.hours)
    return claim


def review_claim(session: Session, actor: User, claim: CreditClaim, *, approve: bool, reason: str) -> CreditClaim:
    """Approve (the hours become a credit record) or reject with a reason. ``claim`` was loaded through the
    reviewer's scope (bureau of the region, or the institution named on the claim)."""
    if actor.role not in (Role.regulator_admin, Role.institution_staff, Role.system_admin):
        raise Forbidden(_("无权审核"))
    if claim.status != ClaimStatus.pending:
        raise DomainError(_("该申报已审核"))
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationFailed({"reason": _("退回时须说明理由")})
    claim.status = ClaimStatus.approved if approve else ClaimStatus.rejected
    claim.review_reason, claim.reviewer_id, claim.reviewed_at = reason[:2000], actor.id, utcnow()
    if approve:
        session.add(CreditRecord(user_id=claim.user_id, year=claim.year, hours=claim.hours,
                                 subject_category=claim.subject_category, source="external",
                                 source_ref=f"claim:{claim.id}", title=claim.title))
    session.flush()
    audit.record(session, actor, "ce_claim.approve" if approve else "ce_claim.reject", claim)
    notify(session, claim.user_id, "ce_claim",
           _("继续教育申报已通过") if approve else _("继续教育申报被退回"),
           _("《%(t)s》%(h)s 学时。%(r)s", t=claim.title, h=claim.hours, r=reason), link("credits.me", year=claim.year))
    if approve:
        signals.credits_changed.send("credits", session=session, user_id=claim.user_id, year=claim.year)
    return claim


def file_report(session: Session, actor: User, *, year: int, summary: str, today: dt.date) -> AnnualReport:
    """A trainee files (or refiles) the annual report of this year or last year."""
    if actor.role != Role.trainee:
        raise Forbidden(_("只有学员本人可以提交履职报告"))
    summary = (summary or "").strip()
    if len(summary) < 20:
        raise ValidationFailed({"summary": _("履职报告至少 20 字")})
    if len(summary) > 20000:
        raise ValidationFailed({"summary": _("履职报告过长")})
    if year not in (today.year, today.year - 1) or year > today.year:
        raise ValidationFailed({"year": _("只能提交本年度或上一年度的报告")})
    rep = session.scalar(select(AnnualReport).where(AnnualReport.user_id == actor.id, AnnualReport.year == year))
    if rep is None:
        rep = AnnualReport(user_id=actor.id, year=year, summary=summary, filed_on=today)
        session.add(rep)
    else:
        rep.summary, rep.filed_on = summary, today
    session.flush()
    audit.record(session, actor, "annual_report.file", rep, year=year)
    signals.annual_report_filed.send("credits", session=session, user_id=actor.id, year=year)
    return rep
