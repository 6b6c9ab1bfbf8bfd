"""Public notices (公示) as bureaus publish them (issue 14). Seed 003 (三): 「公示受聘首席质量官的信息」: a bureau
issues a notice of the CQOs appointed in its region (appointments accepted and in force on the day), or,
separately, of the people newly certified this year; the notice runs over a period with an end date, during which
anyone may lodge an objection with contact details; the bureau records how each was resolved, then closes the
notice. Lines hold masked data only (names as published, ID numbers masked)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.orgs.models import Enterprise, region_subtree_ids
from lms.people.models import TraineeProfile
from lms.pii import mask_id_number
from lms.scoping import visible
from talent.models import (Appointment, Notice, NoticeCertificate, NoticeEntry, NoticeObjection, ObjectionStatus,
                           PoolStatus, RegistrationStatus, TalentEntry)

KINDS = ("appointed", "certified")


def publish_notice(session: Session, actor: User, *, title: str, objection_days: int, contact: str,
                   today: dt.date, kind: str = "appointed") -> Notice:
    """Snapshot the appointed CQOs of the actor's region and below (or the people certified this year), with the
    period for objections."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以发布公示"))
    title = (title or "").strip()
    errors = {}
    if not title or len(title) > 128:
        errors["title"] = _("请填写标题（不超过 128 字）")
    if objection_days is None or not 5 <= objection_days <= 60:
        errors["objection_days"] = _("公示期须在 5 到 60 天之间")
    if kind not in KINDS:
        errors["kind"] = _("请选择公示类型")
    if errors:
        raise ValidationFailed(errors)
    notice = Notice(region_id=actor.region_id, title=title, published_on=today, kind=kind,
                    objection_until=today + dt.timedelta(days=objection_days), contact=(contact or "").strip()[:128],
                    published_by_id=actor.id)
    session.add(notice)
    session.flush()
    rows = _appointed(session, actor, today) if kind == "appointed" else _certified(session, actor, today)
    for entry, enterprise, name, idn in rows:
        certs = [c.number for c in (entry.certificates if entry else []) if c.in_force(today)]
        line = NoticeEntry(notice_id=notice.id, name=name, id_masked=mask_id_number(idn),
                           enterprise_name=enterprise.name if enterprise else "",
                           region_name=enterprise.region.name if enterprise else (entry.region.name if entry else ""),
                           tier=entry.highest_tier if entry else None, certificate_numbers="、".join(certs)[:255],
                           status=entry.status if entry else PoolStatus.active, stars=entry.stars if entry else None)
        session.add(line)
        session.flush()
        for num in certs:
            session.add(NoticeCertificate(notice_entry_id=line.id, number=num))
    session.flush()
    audit.record(session, actor, "notice.publish", notice, entries=len(rows), kind=kind)
    return notice


def _appointed(session: Session, actor: User, today: dt.date) -> list:
    """The appointments accepted and in force on ``today`` at enterprises of the actor's region and below."""
    rows = session.execute(
        select(Appointment, TraineeProfile.real_name, TraineeProfile.id_number)
        .join(TraineeProfile, TraineeProfile.user_id == Appointment.user_id)
        .join(Enterprise, Enterprise.id == Appointment.enterprise_id)
        .where(Appointment.status == RegistrationStatus.accepted, Appointment.appointed_on <= today,
               or_(Appointment.ended_on.is_(None), Appointment.ended_on > today),
               Enterprise.region_id.in_(region_subtree_ids(actor)))
        .order_by(Enterprise.region_id, Enterprise.name, Appointment.id)).all()
    entries = {e.user_id: e for e in session.scalars(select(TalentEntry).where(
        TalentEntry.user_id.in_([a.user_id for a, _n, _i in rows])))} if rows else {}
    return [(entries.get(a.user_id), a.enterprise, name, idn) for a, name, idn in rows]


def _certified(session: Session, actor: User, today: dt.date) -> list:
    """The pool members of the actor's region who entered the pool this year and are not out of it."""
    rows = session.execute(
        visible(TalentEntry, actor).add_columns(TraineeProfile.real_name, TraineeProfile.id_number)
        .join(TraineeProfile, TraineeProfile.user_id == TalentEntry.user_id)
        .where(TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on >= dt.date(today.year, 1, 1))
        .order_by(TalentEntry.region_id, TalentEntry.id)).all()
    return [(entry, entry.enterprise, name, idn) for entry, name, idn in rows]


def is_open(notice: Notice, today: dt.date) -> bool:
    """Objections are received from publication to the end of the period, unless the notice was closed."""
    return notice.closed_on is None and not notice.withdrawn and notice.published_on <= today <= notice.objection_until


def lodge_objection(session: Session, notice: Notice, *, line_id: int | None, text: str, contact_name: str,
                    contact: str, today: dt.date) -> NoticeObjection:
    """Anyone lodges an objection during the period, with a name and a phone or e-mail to answer them at."""
    if not is_open(notice, today):
        raise Conflict(_("公示期已结束，不再受理异议"))
    text, contact_name, contact = (text or "").strip(), (contact_name or "").strip(), (contact or "").strip()
    errors = {}
    if len(text) < 5 or len(text) > 2000:
        errors["text"] = _("请写明异议的事实和理由（5 到 2000 字）")
    if not contact_name or len(contact_name) > 64:
        errors["contact_name"] = _("请填写联系人姓名（不超过 64 字）")
    digits = contact.replace("-", "").replace(" ", "")
    if not ((digits.isdigit() and 7 <= len(digits) <= 15) or ("@" in contact and "." in contact.split("@")[-1] and len(contact) <= 128)):
        errors["contact"] = _("请填写可以联系到您的电话或电子邮箱")
    line = None
    if line_id:
        line = session.scalar(select(NoticeEntry).where(NoticeEntry.id == line_id, NoticeEntry.notice_id == notice.id))
        if line is None:
            errors["line"] = _("所选人员不在此公示中")
    if errors:
        raise ValidationFailed(errors)
    obj = NoticeObjection(notice_id=notice.id, notice_entry_id=line.id if line else None, text=text,
                          contact_name=contact_name, contact=contact, submitted_on=today)
    session.add(obj)
    session.flush()
    audit.record(session, None, "notice.objection", obj)
    return obj


def resolve_objection(session: Session, actor: User, obj: NoticeObjection, *, upheld: bool, resolution: str,
                      today: dt.date) -> NoticeObjection:
    """The bureau records how an objection was resolved (upheld or dismissed, with what was done)."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以处理异议"))
    if obj.status != ObjectionStatus.open:
        raise Conflict(_("该异议已处理"))
    resolution = (resolution or "").strip()
    if len(resolution) < 2 or len(resolution) > 2000:
        raise ValidationFailed({"resolution": _("请填写处理结果（2 到 2000 字）")})
    obj.status = ObjectionStatus.upheld if upheld else ObjectionStatus.dismissed
    obj.resolution, obj.resolved_by_id, obj.resolved_on = resolution, actor.id, today
    session.flush()
    audit.record(session, actor, "notice.objection_resolve", obj, upheld=upheld)
    return obj


def close_notice(session: Session, actor: User, notice: Notice, today: dt.date) -> Notice:
    """The bureau closes a notice once its period is over and every objection is resolved."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以结束公示"))
    if notice.closed_on is not None:
        raise Conflict(_("公示已结束"))
    if today <= notice.objection_until:
        raise Conflict(_("公示期至 %(d)s，期满后才能结束", d=notice.objection_until.isoformat()))
    pending = session.scalar(select(NoticeObjection.id).where(NoticeObjection.notice_id == notice.id,
                                                              NoticeObjection.status == ObjectionStatus.open))
    if pending:
        raise Conflict(_("还有未处理的异议"))
    notice.closed_on = today
    session.flush()
    audit.record(session, actor, "notice.close", notice)
    return notice
