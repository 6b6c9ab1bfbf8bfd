"""Appointment registrations (登记表, seed 002 annex): the enterprise's account (or the CQO) files the form for a
first appointment or a change, the county bureau accepts or returns it, the CQO confirms it; a new appointment
ends the enterprise's previous one; a change registered after the province's deadline is late and the entry goes
on warning. The same functions serve the pages and ``/api/v1/talent/appointments``."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from credits import queries as credits
from lms import audit, uploads
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role, Tier
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.notifications.services import link, notify
from lms.orgs.models import Enterprise
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from lms.pii import lookup_hash
from talent.models import Appointment, AppointmentRule, Cause, PoolStatus, RegistrationStatus, TalentEntry
from talent.services.entries import place
from talent.services.status import set_status


@dataclass
class AppointmentData:
    kind: str  # initial | change (the server decides: a registration after an earlier appointment is a change)
    appointed_on: dt.date | None
    enterprise_head: str
    enterprise_head_phone: str
    quality_head: str
    quality_head_phone: str
    cv: str
    awards: str
    opinion: str
    opinion_date: dt.date | None
    id_number: str = ""  # the appointee's ID number, when an enterprise account files


def _form_errors(data: AppointmentData, today: dt.date) -> dict:
    """The form's own checks (required, lengths, dates), field by field."""
    errors = {}
    for f, n in (("enterprise_head", 64), ("enterprise_head_phone", 32), ("cv", 5000), ("opinion", 2000)):
        v = (getattr(data, f) or "").strip()
        if not v:
            errors[f] = _("此项必填")
        elif len(v) > n:
            errors[f] = _("内容过长")
    for f, n in (("quality_head", 64), ("quality_head_phone", 32), ("awards", 5000)):
        if len((getattr(data, f) or "").strip()) > n:
            errors[f] = _("内容过长")
    if data.kind not in ("initial", "change"):
        errors["kind"] = _("请选择登记类型")
    if data.appointed_on is None:
        errors["appointed_on"] = _("此项必填")
    elif data.appointed_on > today:
        errors["appointed_on"] = _("任命日期不能晚于今天")
    if data.opinion_date is None:
        errors["opinion_date"] = _("此项必填")
    elif data.opinion_date > today:
        errors["opinion_date"] = _("日期不能晚于今天")
    return errors


def _appointee(session: Session, actor: User, data: AppointmentData) -> tuple[TraineeProfile, Enterprise]:
    """Who is appointed and by which enterprise: an enterprise account names the person by ID number; a CQO
    files for themself at the enterprise of their profile."""
    if actor.role == Role.enterprise:
        enterprise = session.get(Enterprise, actor.enterprise_id) if actor.enterprise_id else None
        if enterprise is None:
            raise DomainError(_("企业账号未关联企业，请联系县级监管部门"))
        idn = (data.id_number or "").strip().upper()
        if not idn:
            raise ValidationFailed({"id_number": _("请填写首席质量官的身份证号")})
        prof = session.scalar(select(TraineeProfile).where(TraineeProfile.id_number_hash == lookup_hash(idn)))
        if prof is None:
            raise ValidationFailed({"id_number": _("没有找到此身份证号的学员：被任命人须先注册并取得证书")})
        return prof, enterprise
    if actor.role != Role.trainee:
        raise Forbidden(_("只有企业账号或首席质量官本人可以提交登记"))
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == actor.id))
    if prof is None or prof.enterprise_id is None:
        raise DomainError(_("请先在个人资料中填写所在企业"))
    return prof, prof.enterprise


def eligibility_problem(session: Session, user_id: int, enterprise_id: int, on: dt.date) -> str | None:
    """Why this person cannot be registered as this enterprise's CQO on ``on``, or None. Seed 001 第五条(五)
    (「经过质监部门组织的首席质量官任职培训并符合要求」) and seed 002 四(一): a certificate in force (of the tier
    the province requires, ``appointment_min_tier``); seed 001 第六条: not disqualified; and not the CQO in force
    of another enterprise (one person, one appointment: the other enterprise ends it first)."""
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user_id))
    if entry is not None and entry.status == PoolStatus.exited and entry.status_cause == Cause.disqualification:
        return _("此人已被取消首席质量官资格（第六条），不能登记")
    min_tier = appointment_min_tier(session, enterprise_id)
    # the pool's copy of the person's certificates (it follows the certificates feature's signals)
    certs = [c for c in (entry.certificates if entry is not None else []) if c.in_force(on) and c.issued_on <= on]
    if not any(min_tier is None or c.tier.rank >= min_tier.rank for c in certs):
        return (_("此人在任命日期没有有效的首席质量官证书") if min_tier is None
                else _("此人在任命日期没有本省要求的%(t)s及以上有效证书", t=min_tier.label))
    elsewhere = session.scalar(select(Appointment).where(
        Appointment.user_id == user_id, Appointment.enterprise_id != enterprise_id,
        Appointment.status == RegistrationStatus.accepted, Appointment.ended_on.is_(None)))
    if elsewhere is not None:
        return _("此人目前是%(e)s的首席质量官：须由该企业先登记其离任", e=elsewhere.enterprise.name)
    return None


def appointment_min_tier(session: Session, enterprise_id: int) -> Tier | None:
    """The tier the enterprise's province requires of an appointee (本省自定), or None: any certificate in force."""
    province = province_of(session, session.get(Enterprise, enterprise_id).region_id)
    rule = session.scalar(select(AppointmentRule).where(AppointmentRule.province_id == province.id))
    return rule.min_tier if rule is not None else None


def submit_appointment(session: Session, actor: User, data: AppointmentData, letter: bytes, letter_name: str,
                       upload_dir: str, today: dt.date) -> Appointment:
    """The enterprise (or the CQO) files the registration form of seed 002's annex. Refused, with the reason and
    nothing stored, when the appointee is not eligible (``eligibility_problem``). A registration after an earlier
    appointment of the enterprise is a change (变更), whatever was picked; one filed more than the province's
    deadline after the appointment (seed 002 四(三)「应当在聘用后一个月内」) is flagged late and puts the pool
    entry on warning."""
    prof, enterprise = _appointee(session, actor, data)
    errors = _form_errors(data, today)
    if errors:
        raise ValidationFailed(errors)
    problem = eligibility_problem(session, prof.user_id, enterprise.id, data.appointed_on)
    if problem:
        raise ValidationFailed({"id_number" if actor.role == Role.enterprise else "appointed_on": problem})
    stored = uploads.store(session, upload_dir, "appointments", letter, letter_name, field="letter")
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == prof.user_id))
    rule = credits.rule_for(session, entry.province_id if entry else province_of(session, enterprise.region_id).id)
    earlier = session.scalar(select(Appointment.id).where(
        Appointment.enterprise_id == enterprise.id, Appointment.status == RegistrationStatus.accepted,
        Appointment.appointed_on < data.appointed_on))
    kind = "change" if earlier or data.kind == "change" else "initial"
    late = kind == "change" and (today - data.appointed_on).days > rule.change_registration_days
    appt = Appointment(
        user_id=prof.user_id, enterprise_id=enterprise.id, kind=kind, appointed_on=data.appointed_on,
        enterprise_head=data.enterprise_head.strip(), enterprise_head_phone=data.enterprise_head_phone.strip(),
        quality_head=(data.quality_head or "").strip(), quality_head_phone=(data.quality_head_phone or "").strip(),
        cv=data.cv.strip(), awards=(data.awards or "").strip(), opinion=data.opinion.strip(),
        opinion_date=data.opinion_date, letter_path=stored.path, letter_name=stored.original_name,
        letter_mime=stored.mime, late=late, submitted_on=today, filed_by_id=actor.id,
        confirmed_at=utcnow() if actor.id == prof.user_id else None,
    )
    session.add(appt)
    session.flush()
    if entry is not None:
        entry.registration_due_on = None
        if late and entry.status == PoolStatus.active:
            set_status(session, entry, PoolStatus.warning, Cause.overdue_registration, today,
                       reason=_("变更发生于 %(d)s，超过 %(n)d 天未登记", d=data.appointed_on.isoformat(), n=rule.change_registration_days))
    audit.record(session, actor, "appointment.submit", appt, kind=kind, late=late)
    if actor.id != prof.user_id:
        notify(session, prof.user_id, "appointment", _("%(e)s登记您为首席质量官，请确认", e=enterprise.name), "")
    return appt


def confirm_appointment(session: Session, actor: User, appt: Appointment) -> Appointment:
    """The CQO confirms an appointment registered in their name (the bureau sees that they did)."""
    if actor.id != appt.user_id:
        raise Forbidden(_("只有被任命人本人可以确认"))
    if appt.status == RegistrationStatus.returned or appt.ended_on is not None:
        raise Conflict(_("该登记已退回或已终止，无需确认"))
    if appt.confirmed_at is None:
        appt.confirmed_at = utcnow()
        session.flush()
        audit.record(session, actor, "appointment.confirm", appt)
    return appt


def end_appointment(session: Session, actor: User, appt: Appointment, ended_on: dt.date | None, today: dt.date) -> Appointment:
    """The enterprise registers that its CQO left (离任): the appointment ends on that day."""
    if not (actor.role == Role.enterprise and actor.enterprise_id == appt.enterprise_id):
        raise Forbidden(_("只有任命企业可以登记离任"))
    if appt.status != RegistrationStatus.accepted or appt.ended_on is not None:
        raise Conflict(_("只有已受理且在任的任命可以登记离任"))
    if ended_on is None or ended_on > today or ended_on < appt.appointed_on:
        raise ValidationFailed({"ended_on": _("离任日期须在任命日期和今天之间")})
    appt.ended_on = ended_on
    session.flush()
    audit.record(session, actor, "appointment.end", appt)
    return appt


def review_appointment(session: Session, actor: User, appt: Appointment, *, accept: bool, reason: str) -> Appointment:
    """The county (or city, province) bureau over the enterprise accepts a registration or returns it with a
    reason. Accepting checks the appointee again, ends the enterprise's previous appointment on the new one's
    start date (seed 002: the enterprise 重新聘用), and places the pool entry at the enterprise."""
    if actor.role not in (Role.regulator_admin, Role.system_admin):
        raise Forbidden(_("只有监管部门可以审核登记"))
    if actor.role == Role.regulator_admin and not (actor.region and actor.region.contains(appt.enterprise.region)):
        raise Forbidden(_("只能审核本地区企业的登记"))
    if appt.status != RegistrationStatus.submitted:
        raise Conflict(_("该登记已审核"))
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationFailed({"reason": _("退回时须说明理由")})
    if accept:
        problem = eligibility_problem(session, appt.user_id, appt.enterprise_id, appt.appointed_on)
        if problem:
            raise DomainError(problem)
    appt.status = RegistrationStatus.accepted if accept else RegistrationStatus.returned
    appt.review_reason, appt.reviewer_id, appt.reviewed_at = reason[:2000], actor.id, utcnow()
    if accept:
        for prev in session.scalars(select(Appointment).where(
                Appointment.enterprise_id == appt.enterprise_id, Appointment.id != appt.id,
                Appointment.status == RegistrationStatus.accepted, Appointment.ended_on.is_(None),
                Appointment.appointed_on <= appt.appointed_on)).all():
            prev.ended_on = appt.appointed_on
        entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == appt.user_id))
        if entry is not None:  # the pool follows the enterprise (a move is an event of the entry's history)
            place(session, entry, appt.enterprise_id, appt.appointed_on, actor=actor)
    session.flush()
    audit.record(session, actor, "appointment.accept" if accept else "appointment.return", appt)
    notify(session, appt.user_id, "appointment", _("首席质量官登记已受理") if accept else _("首席质量官登记被退回"), reason,
           link("talent.me"))
    return appt


def detect_enterprise_changes(session: Session, today: dt.date) -> int:
    """A pool member whose profile now names another enterprise must register the change: set the due date."""
    rows = session.execute(
        select(TalentEntry, TraineeProfile.enterprise_id).join(TraineeProfile, TraineeProfile.user_id == TalentEntry.user_id)
        .where(TalentEntry.status != PoolStatus.exited, TalentEntry.registration_due_on.is_(None),
               TraineeProfile.enterprise_id.is_not(None), TalentEntry.enterprise_id.is_not(None),
               TraineeProfile.enterprise_id != TalentEntry.enterprise_id)).all()
    n = 0
    for entry, ent_id in rows:
        pending = session.scalar(select(Appointment.id).where(
            Appointment.user_id == entry.user_id, Appointment.enterprise_id == ent_id,
            Appointment.status != RegistrationStatus.returned, Appointment.submitted_on >= entry.status_since))
        if pending:
            continue
        days = credits.rule_for(session, entry.province_id).change_registration_days
        entry.registration_due_on = today + dt.timedelta(days=days)
        n += 1
    session.flush()
    return n


def check_registrations(session: Session, today: dt.date) -> int:
    """Entries whose change registration is overdue go on warning (once; the event says why)."""
    entries = session.scalars(select(TalentEntry).where(
        TalentEntry.registration_due_on < today, TalentEntry.status == PoolStatus.active)).all()
    for e in entries:
        set_status(session, e, PoolStatus.warning, Cause.overdue_registration, today,
                   reason=_("变更登记期限 %(d)s 已过", d=e.registration_due_on.isoformat()))
    return len(entries)


def set_appointment_rule(session: Session, actor: User, province_id: int, min_tier: str, basis: str) -> AppointmentRule:
    """A province bureau sets the lowest tier an appointee must hold (empty: any tier in force), with its basis."""
    if not (actor.role == Role.regulator_admin and actor.region_id == province_id) and actor.role != Role.system_admin:
        raise Forbidden(_("只有省级监管部门可以设置本省的任职要求"))
    errors = {}
    if min_tier and min_tier not in Tier.__members__:
        errors["min_tier"] = _("请选择证书层级")
    basis = (basis or "").strip()
    if min_tier and not basis:
        errors["basis"] = _("请写明依据（文件及条款，或“本省自定”）")
    if len(basis) > 300:
        errors["basis"] = _("依据不能超过 300 个字")
    if errors:
        raise ValidationFailed(errors)
    rule = session.scalar(select(AppointmentRule).where(AppointmentRule.province_id == province_id))
    if rule is None:
        rule = AppointmentRule(province_id=province_id)
        session.add(rule)
    rule.min_tier, rule.basis = (Tier(min_tier) if min_tier else None), basis
    session.flush()
    audit.record(session, actor, "appointment.rule", rule, min_tier=min_tier or None)
    return rule

