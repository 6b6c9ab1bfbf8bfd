"""Appointment registrations (登记表): the CQO files the enterprise's form (first appointment or a change), the
bureau accepts or returns it; a change of enterprise must be registered within the province's deadline, or the
entry goes on warning."""
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
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.notifications.services import link, notify
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from talent.models import Appointment, Cause, PoolStatus, RegistrationStatus, TalentEntry
from talent.services.entries import place
from talent.services.status import set_status


@dataclass
class AppointmentData:
    kind: str  # initial | change
    appointed_on: dt.date | None
    enterprise_head: str
    enterprise_head_phone: str
    quality_head: str
    quality_head_phone: str
    cv: str
    awards: str
    opinion: str
    opinion_date: dt.date | None


def submit_appointment(session: Session, actor: User, data: AppointmentData, letter: bytes, letter_name: str,
                       upload_dir: str, today: dt.date) -> Appointment:
    """The CQO files the enterprise's registration form. A change registered later than the province's
    deadline (default 30 days) is accepted for review but puts the pool entry on warning."""
    if actor.role != Role.trainee:
        raise Forbidden(_("只有首席质量官本人可以提交登记"))
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == actor.id))
    if prof is None or prof.enterprise_id is None:
        raise DomainError(_("请先在个人资料中填写所在企业"))
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
    if errors:
        raise ValidationFailed(errors)
    stored = uploads.store(upload_dir, "appointments", letter, letter_name, field="letter")
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == actor.id))
    rule = credits.rule_for(session, entry.province_id if entry else province_of(session, prof.enterprise.region_id).id)
    late = data.kind == "change" and (today - data.appointed_on).days > rule.change_registration_days
    appt = Appointment(
        user_id=actor.id, enterprise_id=prof.enterprise_id, kind=data.kind, appointed_on=data.appointed_on,
        enterprise_head=data.enterprise_head.strip(), enterprise_head_phone=data.enterprise_head_phone.strip(),
        quality_head=(data.quality_head or "").strip(), quality_head_phone=(data.quality_head_phone or "").strip(),
        cv=data.cv.strip(), awards=(data.awards or "").strip(), opinion=data.opinion.strip(),
        opinion_date=data.opinion_date, letter_path=stored.path, letter_name=stored.original_name,
        letter_mime=stored.mime, late=late, submitted_on=today,
    )
    session.add(appt)
    session.flush()
    if entry is not None:
        entry.registration_due_on = None
        if late and entry.status == PoolStatus.active:
            set_status(session, entry, PoolStatus.warning, Cause.overdue_registration, today,
                       reason=_("变更发生于 %(d)s，超过 %(n)d 天未登记", d=data.appointed_on.isoformat(), n=rule.change_registration_days))
    audit.record(session, actor, "appointment.submit", appt, kind=data.kind, late=late)
    return appt


def review_appointment(session: Session, actor: User, appt: Appointment, *, accept: bool, reason: str) -> Appointment:
    """A bureau accepts a registration (the entry takes its enterprise and region) or returns it with a reason."""
    if actor.role not in (Role.regulator_admin, Role.system_admin):
        raise Forbidden(_("只有监管部门可以审核登记"))
    if appt.status != RegistrationStatus.submitted:
        raise Conflict(_("该登记已审核"))
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationFailed({"reason": _("退回时须说明理由")})
    appt.status = RegistrationStatus.accepted if accept else RegistrationStatus.returned
    appt.review_reason, appt.reviewer_id, appt.reviewed_at = reason[:2000], actor.id, utcnow()
    if accept:
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
