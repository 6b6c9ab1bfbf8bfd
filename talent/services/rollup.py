"""The year-end roll-up: close a year, record every pool member's standing and move statuses (warning, lapsed,
restored), set-based and a chunk of members at a time so that no write transaction holds the database long."""
from __future__ import annotations

import datetime as dt
import time

from flask_babel import gettext as _
from sqlalchemy import String as Str
from sqlalchemy import and_, case, delete, func, insert, literal, not_, or_, select, update
from sqlalchemy.orm import Session

from credits.models import YearStanding
from lms.db import UTCDateTime, utcnow
from lms.notifications.models import Notification
from lms.notifications.services import link, mail_enabled, notify
from talent.models import Cause, PoolStatus, TalentEntry, TalentEvent
from talent.services.standing import _standings_select
from talent.services.status import CE_CAUSES


ROLLUP_CHUNK = 2000  # pool members a transaction: ~40 ms of writes on an idle development machine, ~100 ms loaded


def rollup_year(session: Session, year: int, province_id: int | None = None, now: dt.datetime | None = None, *,
                chunk_size: int | None = None, after_chunk=None, target_seconds: float | None = None) -> dict:
    """Close ``year``: record every pool member's standing and move statuses, set-based, ``chunk_size`` members
    (by user id) at a time.

    Non-compliant by THE rule (``standing.compliance``: in office and past the first year, neither report nor
    hours by default) → warning; non-compliant this year and the
    year before → lapsed; compliant again → active (only when the warning was for CE). Running it again
    gives the same outcome: standings are rewritten, and entries already in their target state are left.

    Each chunk is a handful of INSERT … SELECT / UPDATE statements whatever its size (no row passes through
    Python), then ``after_chunk(counts)`` is called: the scheduled job commits there, so that no write
    transaction holds the database for long. The chunks are independent (a chunk reads the year before's
    standings and its own members only), so a run stopped half-way is completed by the next. Without
    ``after_chunk`` (tests, the demo) everything stays in the caller's transaction. With ``target_seconds`` the
    chunk size follows the time a chunk took, commit included (halved above the target, grown by a quarter
    below half of it, between 200 and 20,000 members): a loaded machine gets smaller transactions."""
    end = dt.date(year, 12, 31)
    on = min(end + dt.timedelta(days=1), (now.date() if now else end + dt.timedelta(days=1)))
    counts = {"year": year, "entries": 0, "compliant": 0, "warning": 0, "lapsed": 0, "active": 0, "chunks": 0}
    members = select(TalentEntry.user_id).where(TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on <= end)
    if province_id:
        members = members.where(TalentEntry.province_id == province_id)
    low, size = -1, max(1, chunk_size or ROLLUP_CHUNK)
    if target_seconds:
        size = min(size, 500)  # the first chunk also compiles every statement: start small, grow to the target
    while True:
        started = time.perf_counter()
        window = members.where(TalentEntry.user_id > low).order_by(TalentEntry.user_id).limit(size).subquery()
        high = session.scalar(select(func.max(window.c.user_id)))
        if high is None:
            break
        _rollup_chunk(session, year, on, province_id, (low, high), counts)
        counts["chunks"] += 1
        low = high
        if after_chunk is not None:
            after_chunk(counts)
        if target_seconds:
            took = time.perf_counter() - started
            if took > target_seconds:
                size = max(200, size // 2)
            elif took < target_seconds / 2:
                size = min(20_000, size + size // 4)
    session.expire_all()
    return counts


def _rollup_chunk(session: Session, year: int, on: dt.date, province_id: int | None, users: tuple[int, int],
                  counts: dict) -> None:
    """One chunk: members with ``users[0] < user_id <= users[1]``."""
    now = utcnow()
    st = _standings_select(session, year, province_id=province_id, users=users).subquery()
    end = dt.date(year, 12, 31)
    in_chunk = [TalentEntry.user_id > users[0], TalentEntry.user_id <= users[1]]
    if province_id:
        in_chunk.append(TalentEntry.province_id == province_id)
    members = select(TalentEntry.user_id).where(TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on <= end,
                                                *in_chunk)
    session.execute(delete(YearStanding).where(YearStanding.year == year, YearStanding.user_id > users[0],
                                               YearStanding.user_id <= users[1], YearStanding.user_id.in_(members)),
                    execution_options={"synchronize_session": False})
    session.execute(insert(YearStanding.__table__).from_select(
        ["user_id", "year", "hours_total", "hours_professional", "report_filed", "held", "hours_ok", "compliant",
         "computed_at"],
        select(st.c.user_id, literal(year), st.c.total, st.c.prof, st.c.filed, st.c.held, st.c.hours_ok, st.c.ok,
               literal(now, UTCDateTime))))
    ys = YearStanding.__table__.alias("ys")
    mv = _moves(session, year, users, in_chunk, ys)
    n, n_ok = session.execute(select(func.count(), func.sum(case((ys.c.compliant.is_(True), 1), else_=0))).select_from(ys).join(
        TalentEntry, TalentEntry.user_id == ys.c.user_id).where(ys.c.year == year, ys.c.user_id > users[0],
                                                                ys.c.user_id <= users[1], *in_chunk)).one()
    counts["entries"] += n or 0  # (not the INSERT's rowcount: psycopg gives -1 for INSERT … SELECT)
    counts["compliant"] += int(n_ok or 0)
    # The moves are logged first (from_status is the status before), then the entries, the counts and the
    # notifications are driven by this chunk's events: the transition query runs once.
    reason = _("%(y)d 年度继续教育考核", y=year)
    before = session.scalar(select(func.max(TalentEvent.id))) or 0
    session.execute(insert(TalentEvent.__table__).from_select(
        ["entry_id", "on", "from_status", "to_status", "cause", "reason", "year", "created_at"],
        select(mv.c.eid, literal(on), mv.c.frm, mv.c.to, mv.c.cause, literal(reason), literal(year),
               literal(now, UTCDateTime))))
    ev = TalentEvent.__table__.alias("ev")
    mine = and_(ev.c.id > before, ev.c.year == year, ev.c.created_at == literal(now, UTCDateTime))
    this = lambda col: select(col).where(mine, ev.c.entry_id == TalentEntry.id).scalar_subquery()  # noqa: E731
    session.execute(update(TalentEntry).where(TalentEntry.id.in_(select(ev.c.entry_id).where(mine)))
                    .values(status=this(ev.c.to_status), status_cause=this(ev.c.cause), status_since=on, updated_at=now),
                    execution_options={"synchronize_session": False})
    groups = session.execute(select(ev.c.to_status, ev.c.cause, func.count()).where(mine)
                             .group_by(ev.c.to_status, ev.c.cause)).all()
    for to, _cause, n in groups:
        counts[to.value if hasattr(to, "value") else to] += n
    _notify_moves(session, ev, mine, year, groups, now)


def _moves(session: Session, year: int, users: tuple[int, int], in_chunk: list, ys):
    """The chunk's status moves as a subquery (entry, user, from, to, cause), from the standings just written
    (``ys``: the aggregation and THE rule, ``standing.compliance``, are not run again)."""
    prev = YearStanding.__table__.alias("prev")
    ok, hours_ok = ys.c.compliant.is_(True), ys.c.hours_ok.is_(True)
    target = case((ok, literal(PoolStatus.active.value, Str)), (prev.c.compliant.is_(False), literal(PoolStatus.lapsed.value, Str)),
                  else_=literal(PoolStatus.warning.value, Str))
    # Short of the rule: hours met but not the report (a province requiring both) is the missing report; else
    # neither the report nor the hours (seed 002's either-or) or the hours alone: CE short.
    cause = case((ok, literal(Cause.restored.value, Str)), (hours_ok, literal(Cause.missing_report.value, Str)),
                 else_=literal(Cause.missed_credits.value, Str))
    moves = and_(*in_chunk, TalentEntry.status != PoolStatus.exited,
                 or_(and_(ok, TalentEntry.status.in_([PoolStatus.warning, PoolStatus.lapsed]),
                          TalentEntry.status_cause.in_(CE_CAUSES)),
                     and_(not_(ok), TalentEntry.status != PoolStatus.lapsed, TalentEntry.status != target)))
    base = (select(TalentEntry.id.label("eid"), TalentEntry.user_id.label("uid"), TalentEntry.status.label("frm"),
                   target.label("to"), cause.label("cause"))
            .join(ys, and_(ys.c.user_id == TalentEntry.user_id, ys.c.year == year, ys.c.user_id > users[0],
                           ys.c.user_id <= users[1]))
            .outerjoin(prev, and_(prev.c.user_id == TalentEntry.user_id, prev.c.year == year - 1))
            .where(moves))
    return base.subquery()


def _notify_moves(session: Session, ev, mine, year: int, groups, now: dt.datetime) -> None:
    """``notify`` everyone this chunk moved to warning or lapsed (their events: ``ev`` where ``mine``), set-based:
    one INSERT … SELECT per (status, cause), skipping whoever already has the message (its dedupe key). With
    mail configured each message goes out by ``notify`` instead (one at a time: mail is per person anyway)."""


    mail = mail_enabled()
    for to, cause, _n in groups:
        to_s, cause = PoolStatus(to), Cause(cause)
        if to_s == PoolStatus.active:
            continue
        title, body = _("人才库状态变更为：%(s)s", s=to_s.label), _("%(y)d 年度：%(c)s", y=year, c=cause.label)
        key = f"rollup:{year}:{to_s.value}"
        who = (select(TalentEntry.user_id.label("uid")).join(ev, ev.c.entry_id == TalentEntry.id)
               .where(mine, ev.c.to_status == to_s, ev.c.cause == cause))
        if mail:
            for uid in list(session.scalars(who)):
                notify(session, uid, "pool_status", title, body, link("talent.me"), dedupe_key=key)
            continue
        fresh = who.where(~select(Notification.id).where(Notification.user_id == TalentEntry.user_id,
                                                         Notification.dedupe_key == key).exists()).subquery()
        session.execute(insert(Notification.__table__).from_select(
            ["user_id", "kind", "title", "body", "url", "dedupe_key", "emailed", "created_at"],
            select(fresh.c.uid, literal("pool_status"), literal(title[:128]), literal(body), literal(link("talent.me")),
                   literal(key), literal(False), literal(now, UTCDateTime))))
