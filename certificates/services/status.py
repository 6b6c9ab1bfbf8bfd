"""Status changes: suspend, reinstate, revoke (the page and the API share ``revoke``), expiry, and the
status a verifier sees. Each change is announced with its signal (``certificates.signals``)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from certificates import signals
from certificates.models import Certificate, CertificateEvent, CertificateStatus, ReasonCategory
from certificates.services.notices import tell_holder
from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import RegionLevel, Role, Tier
from lms.errors import Conflict, Forbidden, ValidationFailed


ACTIONS = {
    # action: (allowed from, to)
    "suspend": ({CertificateStatus.valid}, CertificateStatus.suspended),
    "reinstate": ({CertificateStatus.suspended}, CertificateStatus.valid),
    "revoke": ({CertificateStatus.valid, CertificateStatus.suspended, CertificateStatus.expired}, CertificateStatus.revoked),
}
SIGNALS = {"suspend": signals.certificate_suspended, "reinstate": signals.certificate_reinstated,
           "revoke": signals.certificate_revoked}


def can_change_status(actor: User, cert: Certificate) -> bool:
    """Province and city bureaus over the certificate's region (seed 003: they issue and withdraw)."""
    return (actor.role == Role.regulator_admin and actor.region is not None
            and actor.region.level in (RegionLevel.province, RegionLevel.city) and actor.region.contains(cert.region))


def change_status(session: Session, actor: User, cert: Certificate, action: str, reason: str | None, note: str,
                  today: dt.date) -> Certificate:
    """Suspend, reinstate or revoke, with a reason category and a note; logged and visible at once."""
    if action not in ACTIONS:
        raise ValidationFailed({"action": _("无效的操作")})
    if not can_change_status(actor, cert):
        audit.record(session, actor, "certificate.status_refused", cert, requested=action)
        raise Forbidden(_("只有证书所在地的省、市级监管部门可以暂停、恢复或撤销证书"))
    allowed, target = ACTIONS[action]
    if cert.status not in allowed:
        raise Conflict(_("证书当前状态为「%(s)s」，不能执行此操作", s=cert.status.label))
    errors = {}
    category = None
    if action != "reinstate":
        if reason not in ReasonCategory.__members__:
            errors["reason"] = _("请选择原因类别")
        else:
            category = ReasonCategory(reason)
    note = (note or "").strip()
    if len(note) > 1000 or (action != "reinstate" and category == ReasonCategory.other and len(note) < 2):
        errors["note"] = _("原因为「其他」时请填写说明（不超过 1000 字）")
    if errors:
        raise ValidationFailed(errors)
    if target == CertificateStatus.valid and cert.valid_until is not None and cert.valid_until < today:
        target = CertificateStatus.expired
    before = cert.status
    cert.status, cert.status_changed_at = target, utcnow()
    cert.status_reason = category if action != "reinstate" else None
    session.add(CertificateEvent(certificate_id=cert.id, action=action, from_status=before.value,
                                 to_status=target.value, reason=category, note=note, actor_id=actor.id))
    session.flush()
    audit.record(session, actor, f"certificate.{action}", cert, reason=category.value if category else None,
                 from_status=before.value, to_status=target.value)
    said = f"{category.label}：{note}" if category else note
    SIGNALS[action].send(None, session=session, certificate=cert, actor=actor, reason=said, today=today)
    tell_holder(session, cert, action, said)
    return cert


def revoke(session: Session, actor: User, cert: Certificate, reason: str | None, note: str | None,
           today: dt.date) -> Certificate:
    """Revoke a certificate: the one use case behind the page and the API. ``reason`` is a reason category or,
    from a client that has no list of them, free text, recorded under 'other' with the text leading the note."""
    reason, note = (reason or "").strip(), (note or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _("请填写撤销原因")})
    if reason not in ReasonCategory.__members__:
        reason, note = ReasonCategory.other.value, reason + ("；" + note if note else "")
    return change_status(session, actor, cert, "revoke", reason, note, today)


def apply_status_action(session: Session, actor: User, cert: Certificate, action: str, reason: str | None,
                        note: str | None, today: dt.date) -> Certificate:
    """Suspend, reinstate or revoke as the bureau chose on the page; revoking goes through ``revoke``, like the API."""
    if action == "revoke":
        return revoke(session, actor, cert, reason, note, today)
    return change_status(session, actor, cert, action, reason or None, note or "", today)


def effective_status(cert: Certificate, today: dt.date) -> CertificateStatus:
    """The status a verifier sees: a valid certificate past its date is expired even before the job runs."""
    if cert.status == CertificateStatus.valid and cert.valid_until is not None and cert.valid_until < today:
        return CertificateStatus.expired
    return cert.status


def expire_due(session: Session, today: dt.date) -> int:
    """Mark valid certificates past their validity as expired (those with no end date never are). Idempotent."""
    due = session.scalars(select(Certificate).where(Certificate.status == CertificateStatus.valid,
                                                    Certificate.valid_until.is_not(None),
                                                    Certificate.valid_until < today)).all()
    for cert in due:
        cert.status, cert.status_changed_at = CertificateStatus.expired, utcnow()
        session.add(CertificateEvent(certificate_id=cert.id, action="expire", from_status="valid", to_status="expired"))
        session.flush()
        signals.certificate_expired.send(None, session=session, certificate=cert, reason=_("证书已过有效期"), today=today)
        tell_holder(session, cert, "expire")
    session.flush()
    return len(due)


def has_tier_in_force(session: Session, user_id: int, tier: Tier, on_date: dt.date) -> bool:
    """Whether the person holds a certificate of ``tier`` in force on ``on_date`` (the prerequisite for the
    next tier): valid status, issued on or before and valid through that day."""
    return bool(session.scalar(select(exists().where(
        Certificate.holder_user_id == user_id, Certificate.tier == tier,
        Certificate.status == CertificateStatus.valid, Certificate.issued_on <= on_date,
        or_(Certificate.valid_until.is_(None), Certificate.valid_until >= on_date)))))
