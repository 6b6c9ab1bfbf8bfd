"""The year-end roll-up: close a year, record every pool member's standing and move statuses (warning, lapsed,
restored), set-based and a chunk of members at a time so that no write transaction holds the database long."""
from __future__ import annotations

import datetime as dt
import time

from flask_babel import gettext as _
from sqlalchemy import String as Str
from sqlalchemy import (Integer, and_, bindparam, case, cast, func, insert, literal, not_, or_, select, text,
                        update)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from credits.models import YearStanding
from lms.db import UTCDateTime, utcnow
from lms.notifications.models import Notification
from lms.notifications.services import link, mail_enabled, queue_emails
from talent.models import Cause, PoolStatus, Sanction, SanctionKind, SanctionReason, TalentEntry, TalentEvent
from talent.services.standing import _standings_select
from talent.services.status import CE_CAUSES, LAPSE_BASIS, end_lapse_statement


ROLLUP_CHUNK = 2000  # pool members a transaction: ~40 ms of writes on an idle development machine, ~100 ms loaded
# The most members a chunk may hold, whatever its time target says (issue 20): the adaptive size follows the last
# chunk's time, so one fast chunk on a quiet moment could grow the next past what a busy moment writes in 200 ms
# (PostgreSQL overshot once to ~300 ms). A member writes at most a standing, an event, its entry, a sanction and
# a notification: at most 5 × this many rows a transaction.
ROLLUP_MAX_CHUNK = 5000
# Issue 20: the tables a run fills from (nearly) empty and reads back in every chunk (the chunk's events by id,
# the open lapses), analysed on PostgreSQL once they have grown past what their statistics say (see _Statistics).
GROWING = ("talent_events", "talent_sanctions")
ANALYZE_MIN_ROWS = 1000  # rows a run adds to a table before it is analysed again (doubling past this)
STANDING_VALUES = ("hours_total", "hours_professional", "report_filed", "held", "hours_ok", "compliant")


def rollup_year(session: Session, year: int, province_id: int | None = None, now: dt.datetime | None = None, *,
                chunk_size: int | None = None, after_chunk=None, target_seconds: float | None = None,
                max_chunk: int | None = None, between_chunks=None) -> dict:
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
    loaded machine gets smaller transactions, and no quiet moment grows one past the row cap. ``between_chunks()``
    runs after each chunk's ``after_chunk`` and outside its timing (work between transactions)."""
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
    chunk = _ChunkStatements(session, year, on, province_id)
    stats = _Statistics.of_run(session, after_chunk)
    while True:
        started = time.perf_counter()
        window = members.where(TalentEntry.user_id > low).order_by(TalentEntry.user_id).limit(size).subquery()
        n, high = session.execute(select(func.count(), func.max(window.c.user_id))).one()
        if high is None:
            break
        counts["entries"] += n  # the chunk's members: each gets its standing
        _rollup_chunk(session, chunk, (low, high), counts)
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
        if stats is not None:  # after the chunk's commit and its timing, in a connection of its own
            stats.grown({"talent_events": counts["warning"] + counts["lapsed"] + counts["active"],
                         "talent_sanctions": counts["lapsed"]})
        if between_chunks is not None:  # after the chunk's transaction and its timing (the job: SQLite's checkpoint)
            between_chunks()
    session.expire_all()
    return counts


class _Statistics:
    """PostgreSQL: ANALYZE the tables a committed run fills (``GROWING``) each time the rows the run added reach
    what the table held when last analysed (at least ``ANALYZE_MIN_ROWS``): a few times a run, doubling.

    Issue 20: a year's first run starts with the statistics of nearly empty events and sanctions tables (9 and 3
    rows on the bench), so the plans of the statements reading a chunk's events back (the entries' UPDATE, the
    counts, the lapses, the notifications) scan them; psycopg prepares a statement after its fifth execution and
    PostgreSQL keeps that generic plan until the table is analysed again, which autovacuum does some time later,
    or not during the run. Full scale: 7,101 sequential scans reading 9.9 million events, 57.8 s and 719 chunks
    (load 8-11), against 11.3 s and 224 chunks when autovacuum happened to analyse them early. An ANALYZE
    invalidates the cached plans. It runs between chunks on a connection of its own (autocommit: no lock held in
    the job's transaction, outside a chunk's timing) and samples what the job has committed."""

    def __init__(self, session: Session):
        self.engine = session.get_bind().engine
        rows = session.execute(text("SELECT relname, greatest(reltuples, 0) FROM pg_class "
                                    "WHERE oid IN (to_regclass('talent_events'), to_regclass('talent_sanctions'))"))
        self.rows = dict.fromkeys(GROWING, 0.0) | dict(rows.all())  # each table's rows as last analysed
        self.added = dict.fromkeys(GROWING, 0)  # the run's rows in each table at that moment

    @classmethod
    def of_run(cls, session: Session, after_chunk) -> "_Statistics | None":
        """The statistics to keep for a run that commits chunk by chunk (``after_chunk``) on PostgreSQL."""
        return cls(session) if after_chunk is not None and session.get_bind().dialect.name == "postgresql" else None

    def grown(self, added: dict[str, int]) -> None:
        """``added``: the rows the run has added to each growing table so far."""
        due = [t for t in GROWING if added[t] - self.added[t] >= max(ANALYZE_MIN_ROWS, self.rows[t])]
        if not due:
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE " + ", ".join(due))
        for t in due:
            self.rows[t] += added[t] - self.added[t]
            self.added[t] = added[t]


def _dialect_insert(session: Session):
    """The INSERT with ON CONFLICT of the session's database (the product runs on these two)."""
    return {"postgresql": pg_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]


# A chunk's bounds, bound at execution: the chunk's statements are built and compiled once a run (issue 20: built
# for every chunk, in SQLAlchemy, they cost ~50-70 ms of Python a chunk on the loaded 2-core machine, inside the
# write transaction, against ~10 ms in the database; the time target then shrank the chunks to their floor of 200
# members: ~950 chunks, most of the full-scale roll-up).
LO, HI = bindparam("chunk_lo", type_=Integer), bindparam("chunk_hi", type_=Integer)
EV_LO, EV_HI = bindparam("chunk_ev_lo", type_=Integer), bindparam("chunk_ev_hi", type_=Integer)
NOW = bindparam("chunk_now", type_=UTCDateTime)


class _ChunkStatements:
    """The statements of a chunk of ``year``'s roll-up, built once a run; ``params`` binds a chunk's people
    ``(users[0], users[1]]``, its clock and (once its events are written) its events' ids."""

    def __init__(self, session: Session, year: int, on: dt.date, province_id: int | None):
        self.year, self.on = year, on
        users = (LO, HI)
        st = _standings_select(session, year, province_id=province_id, users=users).subquery()
        in_chunk = [TalentEntry.user_id > LO, TalentEntry.user_id <= HI]
        if province_id:
            in_chunk.append(TalentEntry.province_id == province_id)
        # Insert the year's standings, or update one only when a value changed: a second run over unchanged data
        # writes no row (it used to delete and re-insert every standing: on PostgreSQL ~190,000 dead rows a run).
        table = YearStanding.__table__
        upsert = _dialect_insert(session)(table).from_select(
            ["user_id", "year", *STANDING_VALUES, "computed_at"],
            select(st.c.user_id, literal(year), st.c.total, st.c.prof, st.c.filed, st.c.held, st.c.hours_ok, st.c.ok,
                   NOW)
            .where(st.c.user_id.is_not(None)))  # a WHERE: SQLite's parser needs one before ON CONFLICT
        self.upsert = upsert.on_conflict_do_update(
            index_elements=["user_id", "year"],
            set_={c: upsert.excluded[c] for c in (*STANDING_VALUES, "computed_at")},
            where=or_(*(table.c[c].is_distinct_from(upsert.excluded[c]) for c in STANDING_VALUES)))
        ys = YearStanding.__table__.alias("ys")
        # The chunk's compliant members, counted over its range of the standings just written (issue 20: one
        # count over every member after the last chunk read ~190,000 standings in one transaction, ~0.9 s on
        # SQLite, and a job's transaction holds the write lock).
        self.compliant = (select(func.count()).select_from(ys).join(TalentEntry, TalentEntry.user_id == ys.c.user_id)
                          .where(ys.c.year == year, ys.c.user_id > LO, ys.c.user_id <= HI, ys.c.compliant.is_(True),
                                 TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on <= dt.date(year, 12, 31),
                                 *in_chunk))
        mv = _moves(session, year, users, in_chunk, ys)
        # The moves are logged first (from_status is the status before), then the entries, the counts and the
        # notifications are driven by this chunk's events: the transition query runs once.
        reason = _("%(y)d 年度继续教育考核", y=year)
        # The new events' ids come back (RETURNING: no max(id) read before, no rowcount to trust): none, and the
        # chunk is done (most chunks, and every chunk of a second run); else they bound this chunk's events.
        self.events = insert(TalentEvent.__table__).from_select(
            ["entry_id", "on", "from_status", "to_status", "cause", "reason", "year", "created_at"],
            select(mv.c.eid, literal(on), mv.c.frm, mv.c.to, mv.c.cause, literal(reason), literal(year), NOW)
        ).returning(TalentEvent.id)
        ev = TalentEvent.__table__.alias("ev")
        mine = and_(ev.c.id >= EV_LO, ev.c.id <= EV_HI, ev.c.year == year, ev.c.created_at == NOW)
        # The entries (and the notifications below) are also bounded by the chunk's people (``in_chunk``): the
        # events' table is analysed when it holds almost none of the year's, and PostgreSQL's plans (generic ones
        # too: psycopg prepares a statement after its fifth execution) then walked talent_entries by primary key
        # from its first row up to the chunk's events, a read that grew with every chunk (issue 20).
        # UPDATE … FROM the chunk's events (one event an entry a run): each moved entry is joined to its event once.
        # Issue 20: it read its event in two correlated subqueries (status, cause) and an IN, three probes of the
        # events an entry; on the full-scale PostgreSQL roll-up that UPDATE was 2.2 s of 11.3 s (224 chunks).
        self.entries = (update(TalentEntry).where(TalentEntry.id == ev.c.entry_id, mine, *in_chunk)
                        .values(status=ev.c.to_status, status_cause=ev.c.cause, status_since=on, updated_at=NOW))
        self.groups = select(ev.c.to_status, ev.c.cause, func.count()).where(mine).group_by(ev.c.to_status, ev.c.cause)
        self.lapse, self.restored = _lapse_sanctions(ev, mine, ys, year, users, on)
        self.notes = _NotifyMoves(ev, mine, year, _dialect_insert(session), in_chunk)

    @staticmethod
    def params(users: tuple[int, int], now: dt.datetime, ids=(0, 0)) -> dict:
        return {"chunk_lo": users[0], "chunk_hi": users[1], "chunk_now": now, "chunk_ev_lo": ids[0],
                "chunk_ev_hi": ids[1]}


def _rollup_chunk(session: Session, chunk: _ChunkStatements, users: tuple[int, int], counts: dict) -> None:
    """One chunk: members with ``users[0] < user_id <= users[1]``."""
    now = utcnow()
    params = chunk.params(users, now)
    session.execute(chunk.upsert, params)
    ids = session.execute(chunk.events, params).scalars().all()
    counts["compliant"] += session.scalar(chunk.compliant, params) or 0  # moves never exit anyone: count after them
    if not ids:
        return
    params = chunk.params(users, now, (min(ids), max(ids)))
    session.execute(chunk.entries, params, execution_options={"synchronize_session": False})
    groups = session.execute(chunk.groups, params).all()
    for to, _cause, n in groups:
        counts[to.value if hasattr(to, "value") else to] += n
    targets = {getattr(to, "value", to) for to, _c, _n in groups}
    if PoolStatus.lapsed.value in targets:
        session.execute(chunk.lapse, params)
    if PoolStatus.active.value in targets:  # only a move to active leaves "lapsed" (restored)
        session.execute(chunk.restored, params, execution_options={"synchronize_session": False})
    chunk.notes.run(session, groups, params)


def _lapse_sanctions(ev, mine, ys, year: int, users, on: dt.date):
    """One sanctions model: each lapse a chunk made is also a sanction row of kind ``lapse`` (cause: two years
    short of seed 002 §4(3); evidence: the year's figures; acting bureau: the member's province — the roll-up
    applies the province's rule, no person acts, so no actor), and the lapses a chunk restored are ended. Set-based:
    two statements (INSERT, UPDATE), run only when the chunk has such a move; an entry with an open lapse row gets
    no second one, so a re-run adds nothing.

    The standings are joined within the chunk's range of people (``users``), as every other statement of a chunk
    reads them: joined on the year alone, SQLite (and PostgreSQL, whose statistics had no standing of the year
    yet) drove the INSERT from every standing of the year, ~190,000 rows for each chunk that lapsed someone —
    on the full-scale bench 180 of the SQLite roll-up's 249 s, up to 1.4 s a chunk (issue 20)."""
    to_lapsed = and_(mine, ev.c.to_status == PoolStatus.lapsed)
    ys_now = and_(ys.c.user_id == TalentEntry.user_id, ys.c.year == year, ys.c.user_id > users[0],
                  ys.c.user_id <= users[1])
    # One translatable sentence, its two figures filled in by SQL (split at the placeholders' markers).
    text = _("%(y)d 年度：继续教育 %(h)s 学时，绩效报告%(r)s；上一年度亦未达标。", y=year, h="\x00h\x00", r="\x00r\x00")
    values = {"h": cast(ys.c.hours_total, Str),
              "r": case((ys.c.report_filed.is_(True), literal(_("已递交"))), else_=literal(_("未递交")))}
    evidence = literal("")
    for i, part in enumerate(text.split("\x00")):
        evidence = evidence + (values[part] if i % 2 else literal(part))
    open_lapse = select(Sanction.id).where(Sanction.entry_id == TalentEntry.id, Sanction.kind == SanctionKind.lapse,
                                           Sanction.ended_on.is_(None)).exists()
    lapse = insert(Sanction.__table__).from_select(
        ["entry_id", "kind", "reason", "basis", "evidence", "bureau_region_id", "started_on", "lift_reason",
         "created_at"],
        select(TalentEntry.id, literal(SanctionKind.lapse.value, Str), literal(SanctionReason.ce_lapsed.value, Str),
               literal(LAPSE_BASIS), evidence, TalentEntry.province_id, literal(on), literal(""), NOW)
        .join(ev, ev.c.entry_id == TalentEntry.id).join(ys, ys_now).where(to_lapsed, ~open_lapse))
    restored = end_lapse_statement(select(ev.c.entry_id).where(mine, ev.c.from_status == PoolStatus.lapsed,
                                                               ev.c.to_status != PoolStatus.lapsed),
                                   on, _("%(y)d 年度继续教育已达标", y=year))
    return lapse, restored


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


class _NotifyMoves:
    """``notify`` everyone a chunk moved to warning or lapsed (its events: ``ev`` where ``mine``), set-based: one
    INSERT … SELECT per (status, cause), built once a run, skipping whoever already has the message (its dedupe
    key: ON CONFLICT (user_id, dedupe_key) DO NOTHING). With mail configured, the inserted rows come back
    (RETURNING) and their mails are queued together (``queue_emails``: the addresses in one read), as ``notify``
    would one by one (issue 20: one by one was three quarters of the full-scale roll-up, ~2.3 ms a person)."""

    def __init__(self, ev, mine, year: int, dialect_insert, people: list):
        self.ev, self.mine, self.year, self.mail, self.built, self.url = ev, mine, year, mail_enabled(), {}, None
        self.insert, self.people = dialect_insert, people

    def _statement(self, to_s: PoolStatus, cause: Cause):
        if (to_s, cause) not in self.built:
            ev, mine, self.url = self.ev, self.mine, self.url or link("talent.me")
            title, body = _("人才库状态变更为：%(s)s", s=to_s.label), _("%(y)d 年度：%(c)s", y=self.year, c=cause.label)
            key = f"rollup:{self.year}:{to_s.value}"
            # Whoever already has the message is skipped by the unique (user_id, dedupe_key) constraint (revision
            # 0005: uq_notifications_user_id_dedupe_key), each new row one probe of its index. Issue 20: the NOT
            # EXISTS this replaces ran, once psycopg had prepared it, on PostgreSQL's generic plan: the pool's
            # entries from the first, each anti-joined to a scan of the notifications with the key, a read growing
            # with every chunk and every row the roll-up wrote (the full-scale record's slowest statements,
            # 260-300 ms; in process at scale 0.3, 46-51 s of a 61-79 s run). The SELECT has a WHERE: SQLite's
            # parser needs one before ON CONFLICT.
            written = self.insert(Notification.__table__).from_select(
                ["user_id", "kind", "title", "body", "url", "dedupe_key", "emailed", "created_at"],
                select(TalentEntry.user_id, literal("pool_status"), literal(title[:128]), literal(body),
                       literal(self.url), literal(key), literal(False), NOW)
                .join(ev, ev.c.entry_id == TalentEntry.id)
                .where(mine, ev.c.to_status == to_s, ev.c.cause == cause, *self.people)
            ).on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
            if self.mail:
                n = Notification.__table__.c
                written = written.returning(n.id, n.user_id)
            self.built[to_s, cause] = (written, title[:128], body)
        return self.built[to_s, cause]

    def run(self, session: Session, groups, params: dict) -> None:
        for to, cause, _n in groups:
            to_s, cause = PoolStatus(to), Cause(cause)
            if to_s == PoolStatus.active:
                continue
            written, title, body = self._statement(to_s, cause)
            if not self.mail:
                session.execute(written, params)
                continue
            rows = session.execute(written, params).all()
            queue_emails(session, [(nid, uid, title, body, self.url) for nid, uid in rows])
