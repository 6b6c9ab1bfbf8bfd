"""One sanctions model (issue 14): warning, suspension and disqualification of a pool member, each with its reason
and the clause it rests on, the evidence, the acting bureau and its dates; lifting is recorded. The sources:

- seed 002 五(三): 「对在质量管理中存在的违法违规行为或者重大风险隐患知情不报、拖延不报或者作虚假报告等情况的，
  建立警示和退出机制」 — warnings and suspensions;
- seed 001 第六条: 「有下列情形之一的，不得担任首席质量官」 (一)…(五) — disqualification, which revokes the person's
  certificates (through the certificates feature, so verifiers see 已撤销) and ends their appointments.

Lapse (失效) is the year-end roll-up's: a row of kind ``lapse`` (reason ``ce_lapsed``, the basis seed 002 §4(3),
the evidence the two years' figures, the acting bureau the member's province, no actor: the scheduled roll-up),
written set-based by ``talent.services.rollup`` and ended by ``status.set_status`` when the member is restored. A
bureau can neither impose nor lift one; it stays out of ``_follow`` (the entry's CE status is the roll-up's)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.models import Certificate, CertificateStatus, ReasonCategory
from certificates.services import status as certificate_status
from certificates.services.verification import StandingJoin
from lms import audit
from lms.auth.models import User
from lms.domain import RegionLevel, Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from talent.models import (Appointment, Cause, PoolStatus, RegistrationStatus, Sanction, SanctionKind, SanctionReason,
                           TalentEntry)
from talent.services.status import LAPSE_BASIS, set_status

# The clause each reason rests on (quoted in the record and on the entry's page).
BASIS = {
    SanctionReason.concealed: "崇质强办文〔2022〕3号 五(三)：知情不报",
    SanctionReason.delayed: "崇质强办文〔2022〕3号 五(三)：拖延不报",
    SanctionReason.false_report: "崇质强办文〔2022〕3号 五(三)：作虚假报告",
    SanctionReason.serious_fault: "闽质监质〔2014〕286号《福建省企业首席质量官管理办法（试行）》第六条(一)",
    SanctionReason.improper_gain: "闽质监质〔2014〕286号《福建省企业首席质量官管理办法（试行）》第六条(二)",
    SanctionReason.abuse_of_power: "闽质监质〔2014〕286号《福建省企业首席质量官管理办法（试行）》第六条(三)",
    SanctionReason.leaking_secrets: "闽质监质〔2014〕286号《福建省企业首席质量官管理办法（试行）》第六条(四)",
    SanctionReason.harming_partners: "闽质监质〔2014〕286号《福建省企业首席质量官管理办法（试行）》第六条(五)",
    SanctionReason.other: "",
    SanctionReason.ce_lapsed: LAPSE_BASIS,
}
DISQUALIFYING = {SanctionReason.serious_fault, SanctionReason.improper_gain, SanctionReason.abuse_of_power,
                 SanctionReason.leaking_secrets, SanctionReason.harming_partners, SanctionReason.other}
# A revoked certificate's reason category, for the verifier (certificates.models.ReasonCategory).
REVOKE_REASON = {SanctionReason.serious_fault: ReasonCategory.quality_fault, SanctionReason.improper_gain: ReasonCategory.improper_gain,
                 SanctionReason.abuse_of_power: ReasonCategory.abuse_of_power,
                 SanctionReason.leaking_secrets: ReasonCategory.leaking_secrets}
STATUS_OF = {SanctionKind.warning: PoolStatus.warning, SanctionKind.suspension: PoolStatus.suspended,
             SanctionKind.disqualification: PoolStatus.exited}
SEVERITY = [SanctionKind.disqualification, SanctionKind.suspension, SanctionKind.warning]


def can_sanction(actor: User, kind: SanctionKind | None = None) -> bool:
    """Bureaus sanction the members of their region (the entry is loaded through their scope); disqualifying
    revokes certificates, which only a province or city bureau may do (seed 003, certificates.services.status)."""
    if actor.role != Role.regulator_admin or actor.region is None:
        return False
    return kind != SanctionKind.disqualification or actor.region.level in (RegionLevel.province, RegionLevel.city)


def impose(session: Session, actor: User, entry: TalentEntry, *, kind: str, reason: str, basis: str, evidence: str,
           today: dt.date) -> Sanction:
    """A bureau warns, suspends or disqualifies a member, with the reason, its basis and the evidence. The entry's
    status follows; disqualification revokes every certificate in force and ends the appointments."""
    errors = {}
    kind_v = SanctionKind(kind) if kind in SanctionKind.__members__ else None
    reason_v = SanctionReason(reason) if reason in SanctionReason.__members__ else None
    if kind_v is None or kind_v == SanctionKind.lapse:
        errors["kind"] = _("请选择处理类型")
    if reason_v is None or reason_v == SanctionReason.ce_lapsed:
        errors["reason"] = _("请选择处理原因")
    elif kind_v == SanctionKind.disqualification and reason_v not in DISQUALIFYING:
        errors["reason"] = _("取消资格须依据第六条所列情形")
    evidence = (evidence or "").strip()
    if len(evidence) < 4 or len(evidence) > 5000:
        errors["evidence"] = _("请填写证据及事实（4 到 5000 字）")
    basis = (basis or "").strip() or (BASIS.get(reason_v, "") if reason_v else "")
    if not basis or len(basis) > 255:
        errors["basis"] = _("请填写处理依据（不超过 255 字）")
    if errors:
        raise ValidationFailed(errors)
    if not can_sanction(actor, kind_v):
        raise Forbidden(_("只有省、市级监管部门可以取消资格") if actor.role == Role.regulator_admin
                        else _("只有监管部门可以处理人才库成员"))
    if entry.status == PoolStatus.exited and entry.status_cause == Cause.disqualification:
        raise Conflict(_("此人已被取消资格"))
    sanction = Sanction(entry_id=entry.id, kind=kind_v, reason=reason_v, basis=basis, evidence=evidence,
                        bureau_region_id=actor.region_id, actor_id=actor.id, started_on=today)
    session.add(sanction)
    session.flush()
    if kind_v == SanctionKind.disqualification:
        _disqualify(session, actor, entry, reason_v, today)
    else:
        _follow(session, entry, today, actor)
    audit.record(session, actor, "talent.sanction", sanction, kind=kind_v.value, reason=reason_v.value)
    return sanction


def _disqualify(session: Session, actor: User, entry: TalentEntry, reason: SanctionReason, today: dt.date) -> None:
    """Revoke the person's certificates (the verifier sees 已撤销), end their appointments, leave the pool."""
    certs = session.scalars(select(Certificate).where(
        Certificate.holder_user_id == entry.user_id,
        Certificate.status.in_([CertificateStatus.valid, CertificateStatus.suspended, CertificateStatus.expired]))).all()
    category = REVOKE_REASON.get(reason, ReasonCategory.other)
    for cert in certs:
        certificate_status.change_status(session, actor, cert, "revoke", category.value,
                                         _("取消首席质量官资格：%(r)s", r=reason.label), today)
    for appt in session.scalars(select(Appointment).where(
            Appointment.user_id == entry.user_id, Appointment.ended_on.is_(None),
            Appointment.status != RegistrationStatus.returned)).all():
        appt.ended_on = today
    set_status(session, entry, PoolStatus.exited, Cause.disqualification, today, reason=reason.label, actor=actor)
    session.flush()


def record_lapse(session: Session, entry: TalentEntry, *, year: int, evidence: str, today: dt.date) -> Sanction | None:
    """One member's lapse the way the roll-up records it set-based (``rollup._lapse_sanctions``): the entry goes
    to "lapsed" for CE and a sanction row of kind lapse is written (the province as acting bureau, no actor).
    For data the roll-up cannot reach (the demo's 何超, certified weeks ago); None when already lapsed."""
    if entry.status == PoolStatus.lapsed:
        return None
    set_status(session, entry, PoolStatus.lapsed, Cause.missed_credits, today, reason=str(SanctionReason.ce_lapsed.label),
               year=year)
    sanction = Sanction(entry_id=entry.id, kind=SanctionKind.lapse, reason=SanctionReason.ce_lapsed, basis=LAPSE_BASIS,
                        evidence=evidence, bureau_region_id=entry.province_id, actor_id=None, started_on=today)
    session.add(sanction)
    session.flush()
    return sanction


def open_sanctions(session: Session, entry_id: int) -> list[Sanction]:
    """The bureaus' sanctions in force on an entry (not the roll-up's lapse), the most severe first."""
    rows = session.scalars(select(Sanction).where(Sanction.entry_id == entry_id, Sanction.ended_on.is_(None),
                                                  Sanction.kind != SanctionKind.lapse)
                           .order_by(Sanction.started_on.desc(), Sanction.id.desc())).all()
    return sorted(rows, key=lambda s: SEVERITY.index(s.kind))


def _follow(session: Session, entry: TalentEntry, today: dt.date, actor: User | None) -> None:
    """The entry's status follows its most severe open sanction, or becomes active when none is left."""
    current = open_sanctions(session, entry.id)
    if current:
        top = current[0]
        set_status(session, entry, STATUS_OF[top.kind], Cause.sanction, today, reason=top.reason.label, actor=actor)
    elif entry.status_cause == Cause.sanction:
        set_status(session, entry, PoolStatus.active, Cause.restored, today, reason=_("处理已解除"), actor=actor)


def lift(session: Session, actor: User, sanction: Sanction, reason: str, today: dt.date) -> Sanction:
    """A bureau lifts a warning or a suspension, with a reason (recorded). A disqualification is final: the
    certificates it revoked stay revoked."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以解除处理"))
    if sanction.ended_on is not None:
        raise Conflict(_("该处理已解除"))
    if sanction.kind == SanctionKind.disqualification:
        raise DomainError(_("取消资格不能解除"))
    if sanction.kind == SanctionKind.lapse:
        raise DomainError(_("失效在达到继续教育要求后由年度考核自动解除"))
    reason = (reason or "").strip()
    if len(reason) < 2 or len(reason) > 2000:
        raise ValidationFailed({"lift_reason": _("请填写解除理由（2 到 2000 字）")})
    sanction.ended_on, sanction.lift_reason, sanction.lifted_by_id = today, reason, actor.id
    session.flush()
    _follow(session, sanction.entry, today, actor)
    audit.record(session, actor, "talent.sanction_lift", sanction)
    return sanction


def history(session: Session, entry_id: int) -> list[Sanction]:
    """Every sanction of an entry, newest first (the entry's page, the verify page)."""
    return session.scalars(select(Sanction).where(Sanction.entry_id == entry_id)
                           .order_by(Sanction.started_on.desc(), Sanction.id.desc())).all()


# The pool standing as the public verification shows it: the entry and its sanctions as plain columns (issue 20:
# two ORM loads were ~40 % of a verification's CPU, and every verification makes it), joined into the
# certificate's own statement (``PUBLIC_STANDING_JOIN``: one statement a scan), or read alone (``public_standing``).
_STANDING_COLUMNS = (
    TalentEntry.status.label("pool_status"), TalentEntry.status_cause.label("pool_cause"),
    TalentEntry.status_since.label("pool_since"), Sanction.id.label("pool_sanction_id"),
    Sanction.kind.label("pool_kind"), Sanction.reason.label("pool_reason"), Sanction.basis.label("pool_basis"),
    Sanction.started_on.label("pool_started_on"), Sanction.ended_on.label("pool_ended_on"))
_STANDING_ORDER = (Sanction.started_on.desc(), Sanction.id.desc())
_PUBLIC_STANDING = (select(*_STANDING_COLUMNS).select_from(TalentEntry)
                    .outerjoin(Sanction, Sanction.entry_id == TalentEntry.id).order_by(*_STANDING_ORDER))


def _join_standing(frm, holder_user_id):
    return (frm.outerjoin(TalentEntry, TalentEntry.user_id == holder_user_id)
            .outerjoin(Sanction, Sanction.entry_id == TalentEntry.id))


def standing_from_rows(rows) -> dict | None:
    """The public standing from rows of ``_STANDING_COLUMNS`` (newest sanction first); None when not in the pool."""
    if not rows or rows[0].pool_status is None:
        return None
    status, cause, since = rows[0].pool_status, rows[0].pool_cause, rows[0].pool_since
    sanctions = [r for r in rows if r.pool_kind is not None]
    open_ = [r for r in sanctions if r.pool_ended_on is None and r.pool_kind != SanctionKind.lapse]
    reason = open_[0].pool_reason.label if open_ and cause in (Cause.sanction, Cause.disqualification) else cause.label
    return {"status": status.value, "status_label": status.label, "since": since.isoformat(),
            "reason": str(reason) if status != PoolStatus.active else "",
            "history": [{"kind": r.pool_kind.value, "kind_label": str(r.pool_kind.label),
                         "reason": str(r.pool_reason.label), "basis": r.pool_basis,
                         "from": r.pool_started_on.isoformat(),
                         "until": r.pool_ended_on.isoformat() if r.pool_ended_on else None} for r in sanctions]}


PUBLIC_STANDING_JOIN = StandingJoin(columns=_STANDING_COLUMNS, join=_join_standing, order_by=_STANDING_ORDER,
                                    read=standing_from_rows)


def public_standing(session: Session, user_id: int, today: dt.date) -> dict | None:
    """What a verifier sees of the holder's pool standing beside the certificate's status: the status, since when,
    why (never the evidence), and the sanctions' history (kind, reason, dates; newest first, as ``history``). None
    when not in the pool."""
    return standing_from_rows(session.execute(_PUBLIC_STANDING.where(TalentEntry.user_id == user_id)).all())
