"""What certificates tell the rest of the system: enrolment in the next tier needs a certificate of the
tier below in force, and a certificate revoked for one of the disqualifications of seed 001 §6 bars the
holder from training (the talent pool follows from the same status)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.models import Certificate, CertificateStatus, ReasonCategory
from certificates.services import has_tier_in_force
from courses.eligibility import register_disqualification_checker, register_prerequisite_checker
from lms.domain import Tier

DISQUALIFYING = (ReasonCategory.quality_fault, ReasonCategory.improper_gain, ReasonCategory.abuse_of_power,
                 ReasonCategory.leaking_secrets, ReasonCategory.criminal_penalty, ReasonCategory.false_information)


def lower_tier_in_force(session: Session, user, tier: Tier, on_date: dt.date) -> bool:
    """Does the person hold a certificate of ``tier`` in force on ``on_date`` (the next tier's prerequisite)?"""
    return has_tier_in_force(session, user.id, tier, on_date)


def revoked_for_misconduct(session: Session, user) -> str | None:
    """Why the person may not train: a certificate revoked for a disqualification of seed 001 §6, or None."""
    reason = session.scalar(select(Certificate.status_reason).where(
        Certificate.holder_user_id == user.id, Certificate.status == CertificateStatus.revoked,
        Certificate.status_reason.in_(DISQUALIFYING)).limit(1))
    if reason is None:
        return None
    return _("证书已因“%(reason)s”被撤销", reason=ReasonCategory(reason).label)


_registered = False


def register() -> None:
    """Give courses' enrolment both checks (called by ``certificates.wiring``; once per process, since the
    disqualification checkers are a list)."""
    global _registered
    if _registered:
        return
    register_prerequisite_checker(lower_tier_in_force)
    register_disqualification_checker(revoked_for_misconduct)
    _registered = True
