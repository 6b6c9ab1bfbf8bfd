"""A pool entry's status and its changes: every change is logged as an event with its cause, and the member is
told when the entry leaves "active". Bureaus decide by hand (with a reason); sanctions are in ``sanctions``."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Forbidden, ValidationFailed
from lms.notifications.services import link, notify
from talent.models import Cause, PoolStatus, Sanction, SanctionKind, TalentEntry, TalentEvent


CE_CAUSES = (Cause.missed_credits, Cause.missing_report)
# The clause a lapse rests on (the roll-up's lapse sanction rows).
LAPSE_BASIS = "崇质强办文〔2022〕3号 四(三)：首席质量官在任期内应按规定递交年度质量管理绩效报告或继续教育证明"


def set_status(session: Session, entry: TalentEntry, to: PoolStatus, cause: Cause, on: dt.date, *,
               reason: str = "", actor: User | None = None, year: int | None = None) -> TalentEvent | None:
    """Change an entry's status and log the event; None when nothing changes."""
    if entry.status == to and entry.status_cause == cause:
        return None
    ev = TalentEvent(entry_id=entry.id, on=on, from_status=entry.status, to_status=to, cause=cause,
                     reason=reason[:2000], year=year, actor_id=getattr(actor, "id", None))
    lapsed = entry.status == PoolStatus.lapsed
    entry.status, entry.status_cause, entry.status_since = to, cause, on
    session.add(ev)
    session.flush()
    if lapsed and to != PoolStatus.lapsed:
        end_lapse(session, [entry.id], on, reason or cause.label)
    if to != PoolStatus.active:
        notify(session, entry.user_id, "pool_status", _("人才库状态变更为：%(s)s", s=to.label),
               _("原因：%(c)s。%(r)s", c=cause.label, r=reason), link("talent.me"))
    return ev


def end_lapse(session: Session, entry_ids, on: dt.date, reason: str, *, synchronize="fetch") -> None:
    """The open lapse sanctions of ``entry_ids`` (a list or a subquery) end ``on``: the member left "lapsed"."""
    session.execute(end_lapse_statement(entry_ids, on, reason), execution_options={"synchronize_session": synchronize})


def end_lapse_statement(entry_ids, on: dt.date, reason: str):
    """``end_lapse``'s UPDATE, for the roll-up, which builds it once a run and runs it for each chunk (set-based,
    ``synchronize_session=False``: it expires the session at its end)."""
    return (update(Sanction).where(Sanction.entry_id.in_(entry_ids), Sanction.kind == SanctionKind.lapse,
                                   Sanction.ended_on.is_(None))
            .values(ended_on=on, lift_reason=str(reason)[:2000]))


def manual_status(session: Session, actor: User, entry: TalentEntry, to: str, reason: str,
                  today: dt.date) -> TalentEvent | None:
    """A bureau's decision with a reason. ``entry`` was loaded through the actor's scope. Warnings, suspensions
    and disqualifications with their evidence are sanctions (``talent.services.sanctions``)."""
    if actor.role not in (Role.regulator_admin, Role.system_admin):
        raise Forbidden(_("只有监管部门可以变更人才库状态"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _("请填写理由")})
    if to not in PoolStatus.__members__:
        raise ValidationFailed({"status": _("请选择状态")})
    target = PoolStatus(to)
    ev = set_status(session, entry, target, Cause.manual, today, reason=reason, actor=actor)
    audit.record(session, actor, "talent.status", entry, to=target.value)
    return ev
