"""The year-end roll-up: close a year, record every pool member's standing and move statuses (warning, lapsed,
restored), set-based and a chunk of members at a time so that no write transaction holds the database long."""
from __future__ import annotations

import datetime as dt
import time

from flask_babel import gettext as _
from sqlalchemy import String as Str
from sqlalchemy import and_, case, cast, func, insert, literal, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from credits.models import YearStanding
from lms.db import UTCDateTime, utcnow
from lms.notifications.models import Notification
from lms.notifications.services import link, mail_enabled, queue_emails
from talent.models import Cause, PoolStatus, Sanction, SanctionKind, SanctionReason, TalentEntry, TalentEvent
from talent.services.standing import _standings_select
from talent.services.status import CE_CAUSES, LAPSE_BASIS, end_lapse


ROLLUP_CHUNK = 2000  # pool members a transaction: ~40 ms of writes on an idle development machine, ~100 ms loaded
# The most members a chunk may hold, whatever its time target says (issue 20): the adaptive size follows the last
# chunk's time, so one fast chunk on a quiet moment could grow the next past what a busy moment writes in 200 ms
# (PostgreSQL overshot once to ~300 ms). A member writes at most a standing, an event, its entry, a sanction and
# a notification: at most 5 × this many rows a transaction.
ROLLUP_MAX_CHUNK = 5000
STANDING_VALUES = ("hours_total", "hours_professional", "report_filed", "held", "hours_ok", "compliant")


def rollup_year(session: Session, year: int, province_id: int | None = None, now: dt.datetime | None = None, *,
                chunk_size: int | None = None, after_chunk=None, target_seconds: float | None = None,
                max_chunk: int | None = None) -> dict:
    """Close ``year``: record every pool member's standing and move statuses, set-based, ``chunk_size`` members
    (by user id) at a time.

    Non-compliant by THE rule (``standing.compliance``: in office and past the first year, neither report nor
    hours by default) → warning; non-compliant this year and the
    year before → lapsed; compliant again → active (only when the warning was for CE). Running it again
    gives the same outcome and writes no row: a standing is inserted, or updated only when one of its values
    changed (``IS DISTINCT FROM``), and entries already in their target state are left.

    Each chunk is a handful of INSERT … SELECT / UPDATE statements whatever its size (no row passes through
    Python), then ``after_chunk(counts)`` is called: the scheduled job commits there, so that no write
    transaction holds the database for long. The chunks are independent (a chunk reads the year before's
    standings and its own members only), so a run stopped half-way is completed by the next. Without
    ``after_chunk`` (tests, the demo) everything stays in the caller's transaction. With ``target_seconds`` the
    chunk size follows the time a chunk took, commit included (halved above the target, grown by a quarter
    below half of it, from 200 members) and never exceeds ``max_chunk`` members (``ROLLUP_MAX_CHUNK``): a
    loaded machine gets smaller transactions, and no quiet moment grows one past the row cap."""
    end = dt.date(year, 12, 31)
    on = min(end + dt.timedelta(days=1), (now.date() if now else end + dt.timedelta(days=1)))
    counts = {"year": year, "entries": 0, "compliant": 0, "warning": 0, "lapsed": 0, "active": 0, "chunks": 0}
    members = select(TalentEntry.user_id).where(TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on <= end)
    if province_id:
        members = members.where(TalentEntry.province_id == province_id)
    cap = max(1, max_chunk or ROLLUP_MAX_CHUNK)
    low, size = -1, min(cap, max(1, chunk_size or ROLLUP_CHUNK))
    if target_seconds:
        size = min(size, 500)  # the first chunk also compiles every statement: start small, grow to the target
    while True:
        started = time.perf_counter()
        window = members.where(TalentEntry.user_id > low).order_by(TalentEntry.user_id).limit(size).subquery()
        n, high = session.execute(select(func.count(), func.max(window.c.user_id))).one()
        if high is None:
            break
        counts["entries"] += n  # the chunk's members: each gets its standing
        _rollup_chunk(session, year, on, province_id, (low, high), counts)
        counts["chunks"] += 1
        low = high
        if after_chunk is not None:
            after_chunk(counts)
        if target_seconds:
            took = time.perf_counter() - started
            if took > target_seconds:
                size = max(min(200, cap), size // 2)
            elif took < target_seconds / 2:
                size = min(cap, size + size // 4)
    counts["compliant"] = _compliant(session, year, members)
    session.expire_all()
    return counts


def _compliant(session: Session, year: int, members) -> int:
    """How many of the roll-up's members are compliant in ``year``: one aggregate over the written standings, once a
    run (it was one a chunk)."""
    ys = YearStanding.__table__
    return int(session.scalar(select(func.coalesce(func.sum(case((ys.c.compliant.is_(True), 1), else_=0)), 0))
                              .where(ys.c.year == year, ys.c.user_id.in_(members))) or 0)


def _dialect_insert(session: Session):
    """The INSERT with ON CONFLICT of the session's database (the product runs on these two)."""
    return {"postgresql": pg_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]


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
    # Insert the year's standings, or update one only when a value changed: a second run over unchanged data
    # writes no row (it used to delete and re-insert every standing: on PostgreSQL ~190,000 dead rows a run).
    table = YearStanding.__table__
    upsert = _dialect_insert(session)(table).from_select(
        ["user_id", "year", *STANDING_VALUES, "computed_at"],
        select(st.c.user_id, literal(year), st.c.total, st.c.prof, st.c.filed, st.c.held, st.c.hours_ok, st.c.ok,
               literal(now, UTCDateTime))
        .where(st.c.user_id.is_not(None)))  # a WHERE: SQLite's parser needs one before ON CONFLICT
    session.execute(upsert.on_conflict_do_update(
        index_elements=["user_id", "year"],
        set_={c: upsert.excluded[c] for c in (*STANDING_VALUES, "computed_at")},
        where=or_(*(table.c[c].is_distinct_from(upsert.excluded[c]) for c in STANDING_VALUES))))
    ys = YearStanding.__table__.alias("ys")
    mv = _moves(session, year, users, in_chunk, ys)
    # The moves are logged first (from_status is the status before), then the entries, the counts and the
    # notifications are driven by this chunk's events: the transition query runs once.
    reason = _("%(y)d 年度继续教育考核", y=year)
    # The new events' ids come back (RETURNING: no max(id) read before, no rowcount to trust): none, and the
    # chunk is done (most chunks, and every chunk of a second run); else they bound this chunk's events.
    ids = session.execute(insert(TalentEvent.__table__).from_select(
        ["entry_id", "on", "from_status", "to_status", "cause", "reason", "year", "created_at"],
        select(mv.c.eid, literal(on), mv.c.frm, mv.c.to, mv.c.cause, literal(reason), literal(year),
               literal(now, UTCDateTime))).returning(TalentEvent.id)).scalars().all()
    if not ids:
        return
    ev = TalentEvent.__table__.alias("ev")
    mine = and_(ev.c.id >= min(ids), ev.c.id <= max(ids), ev.c.year == year,
                ev.c.created_at == literal(now, UTCDateTime))
    this = lambda col: select(col).where(mine, ev.c.entry_id == TalentEntry.id).scalar_subquery()  # noqa: E731
    session.execute(update(TalentEntry).where(TalentEntry.id.in_(select(ev.c.entry_id).where(mine)))
                    .values(status=this(ev.c.to_status), status_cause=this(ev.c.cause), status_since=on, updated_at=now),
                    execution_options={"synchronize_session": False})
    groups = session.execute(select(ev.c.to_status, ev.c.cause, func.count()).where(mine)
                             .group_by(ev.c.to_status, ev.c.cause)).all()
    for to, _cause, n in groups:
        counts[to.value if hasattr(to, "value") else to] += n
    _lapse_sanctions(session, ev, mine, ys, year, on, now, {getattr(to, "value", to) for to, _c, _n in groups})
    _notify_moves(session, ev, mine, year, groups, now)


def _lapse_sanctions(session: Session, ev, mine, ys, year: int, on: dt.date, now: dt.datetime, targets: set) -> None:
    """One sanctions model: each lapse this chunk made is also a sanction row of kind ``lapse`` (cause: two years
    short of seed 002 §4(3); evidence: the year's figures; acting bureau: the member's province — the roll-up
    applies the province's rule, no person acts, so no actor), and the lapses this chunk restored are ended. Set-based
    (two statements a chunk, each only when the chunk has such a move: ``targets``, the statuses it moved to); an
    entry with an open lapse row gets no second one, so a re-run adds nothing."""
    to_lapsed = and_(mine, ev.c.to_status == PoolStatus.lapsed)
    ys_now = and_(ys.c.user_id == TalentEntry.user_id, ys.c.year == year)
    # One translatable sentence, its two figures filled in by SQL (split at the placeholders' markers).
    text = _("%(y)d 年度：继续教育 %(h)s 学时，绩效报告%(r)s；上一年度亦未达标。", y=year, h="\x00h\x00", r="\x00r\x00")
    values = {"h": cast(ys.c.hours_total, Str),
              "r": case((ys.c.report_filed.is_(True), literal(_("已递交"))), else_=literal(_("未递交")))}
    evidence = literal("")
    for i, part in enumerate(text.split("\x00")):
        evidence = evidence + (values[part] if i % 2 else literal(part))
    open_lapse = select(Sanction.id).where(Sanction.entry_id == TalentEntry.id, Sanction.kind == SanctionKind.lapse,
                                           Sanction.ended_on.is_(None)).exists()
    if PoolStatus.lapsed.value in targets:
        session.execute(insert(Sanction.__table__).from_select(
            ["entry_id", "kind", "reason", "basis", "evidence", "bureau_region_id", "started_on", "lift_reason",
             "created_at"],
            select(TalentEntry.id, literal(SanctionKind.lapse.value, Str), literal(SanctionReason.ce_lapsed.value, Str),
                   literal(LAPSE_BASIS), evidence, TalentEntry.province_id, literal(on), literal(""),
                   literal(now, UTCDateTime))
            .join(ev, ev.c.entry_id == TalentEntry.id).join(ys, ys_now).where(to_lapsed, ~open_lapse)))
    if PoolStatus.active.value in targets:  # only a move to active leaves "lapsed" (restored)
        end_lapse(session, select(ev.c.entry_id).where(mine, ev.c.from_status == PoolStatus.lapsed,
                                                       ev.c.to_status != PoolStatus.lapsed),
                  on, _("%(y)d 年度继续教育已达标", y=year), synchronize=False)


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
    mail configured, the inserted rows come back (RETURNING) and their mails are queued together
    (``queue_emails``: the addresses in one read), as ``notify`` would one by one (issue 20: one by one was three
    quarters of the full-scale roll-up, ~2.3 ms a person)."""
    mail = mail_enabled()
    for to, cause, _n in groups:
        to_s, cause = PoolStatus(to), Cause(cause)
        if to_s == PoolStatus.active:
            continue
        title, body = _("人才库状态变更为：%(s)s", s=to_s.label), _("%(y)d 年度：%(c)s", y=year, c=cause.label)
        key = f"rollup:{year}:{to_s.value}"
        who = (select(TalentEntry.user_id.label("uid")).join(ev, ev.c.entry_id == TalentEntry.id)
               .where(mine, ev.c.to_status == to_s, ev.c.cause == cause))
        fresh = who.where(~select(Notification.id).where(Notification.user_id == TalentEntry.user_id,
                                                         Notification.dedupe_key == key).exists()).subquery()
        url = link("talent.me")
        written = insert(Notification.__table__).from_select(
            ["user_id", "kind", "title", "body", "url", "dedupe_key", "emailed", "created_at"],
            select(fresh.c.uid, literal("pool_status"), literal(title[:128]), literal(body), literal(url),
                   literal(key), literal(False), literal(now, UTCDateTime)))
        if not mail:
            session.execute(written)
            continue
        n = Notification.__table__.c
        rows = session.execute(written.returning(n.id, n.user_id)).all()
        queue_emails(session, [(nid, uid, title[:128], body, url) for nid, uid in rows])
