"""The audit log as a hash chain: every event carries the hash of the one before it, so that an event edited,
deleted or inserted afterwards (by anyone with access to the database) breaks the chain at that place.

- One chain over all events, in ``chain_seq`` order (1, 2, 3 …). An event's hash covers its place, the previous
  hash and its fields (time, actor, action, object, detail, request id); the first event links to ``GENESIS``.
- Events are chained when they are flushed (a ``before_flush`` hook on every session), after the chain head is
  locked: ``UPDATE audit_chain_head`` takes PostgreSQL's row lock (held to the commit; a transaction chaining at
  the same time waits, then reads the new head) and on SQLite the database's write lock. So two requests never
  chain onto the same event. A transaction rolled back gives its places back with its head update.
- A daily anchor (``write_anchor``, the job ``audit-anchor``) records where the chain stood at the end of a day,
  in ``audit_anchors``, in the log and as an event of the chain itself; ``flask audit anchors`` exports them.
  A copy kept elsewhere shows a chain rewritten from some event on (``verify(..., anchors=...)``).
- ``flask audit verify`` walks the chain and names the first broken link.

Limits: an operator who can write the database can rewrite the whole chain from some event on and its head; only
the anchors kept outside the database (the log, an export) show that. An event whose actor account is deleted
(``ON DELETE SET NULL``) would read as broken; accounts are deactivated, never deleted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lms.auth.models import AuditAnchor, AuditChainHead, AuditEvent
from lms.db import utcnow

log = logging.getLogger("lms.audit")
GENESIS = "0" * 64
HEAD_ID = 1
TZ = ZoneInfo("Asia/Shanghai")


def _utc_naive(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.timezone.utc).replace(tzinfo=None) if at.tzinfo else at


def event_hash(seq: int, prev_hash: str, at: dt.datetime, actor_id: int | None, action: str, object_type: str,
               object_id: str, detail: dict | None, request_id: str) -> str:
    """The hash of one event: SHA-256 over a canonical JSON of its place, the previous hash and its fields.
    (The migration that chained the events stored before it keeps a copy of this function: change both or
    neither.)"""
    body = [seq, prev_hash, _utc_naive(at).isoformat(timespec="microseconds"), actor_id, action or "",
            object_type or "", object_id or "", detail or {}, request_id or ""]
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_of(ev: AuditEvent) -> str:
    return event_hash(ev.chain_seq, ev.prev_hash, ev.at, ev.actor_id, ev.action, ev.object_type, ev.object_id,
                      ev.detail, ev.request_id)


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain head (see the module's docstring) and return where it stands."""
    conn = session.connection()
    # UPDATE … RETURNING: the lock and the read in one statement (no read inside a write phase).
    lock = (update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=AuditChainHead.seq)
            .returning(AuditChainHead.seq, AuditChainHead.last_hash))
    row = conn.execute(lock).first()
    if row is None:
        # A database made by create_all (tests, tools; the migration inserts the head): the first writers race
        # to insert it, the losers' insert does nothing, and all then lock it.
        last = conn.execute(select(AuditEvent.chain_seq, AuditEvent.hash).where(AuditEvent.chain_seq.is_not(None))
                            .order_by(AuditEvent.chain_seq.desc()).limit(1)).first()
        values = {"id": HEAD_ID, "seq": last[0] if last else 0, "last_hash": last[1] if last else GENESIS}
        ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(AuditChainHead).values(**values)
        conn.execute(ins.on_conflict_do_nothing(index_elements=["id"]))
        row = conn.execute(lock).one()
    return row[0], row[1]


def chain(session: Session, events: Iterable[AuditEvent]) -> None:
    """Give ``events`` (new, unflushed) their places after the head and move the head on."""
    events = [e for e in events if e.chain_seq is None]
    if not events:
        return
    seq, last = _lock_head(session)
    for ev in events:
        if ev.at is None:
            ev.at = utcnow()
        ev.detail = ev.detail if ev.detail is not None else {}
        seq += 1
        ev.chain_seq, ev.prev_hash = seq, last
        ev.hash = last = hash_of(ev)
    session.connection().execute(update(AuditChainHead).where(AuditChainHead.id == HEAD_ID)
                                 .values(seq=seq, last_hash=last))


@event.listens_for(Session, "before_flush")
def _chain_new_events(session: Session, _ctx, _instances) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if new:
        new.sort(key=lambda o: getattr(o._sa_instance_state, "insert_order", 0) or 0)
        chain(session, new)


# ------------------------------------------------------------------ verification
@dataclass
class Broken:
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"第 {self.seq} 环" if self.seq is not None else "链头"
        return f"{where}（事件 id={self.event_id}）：{self.reason}"


@dataclass
class Verdict:
    checked: int
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(session: Session, anchors: Iterable[dict] = (), batch: int = 2000) -> Verdict:
    """Walk the chain from its start: places contiguous from 1, each event's ``prev_hash`` the hash of the one
    before, each hash recomputed from the fields; then the head, the stored anchors and ``anchors`` (an export
    kept elsewhere: dicts with ``seq`` and ``hash``) against the chain. Stops at the first broken link."""
    unchained = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_seq.is_(None)))
    if unchained:
        first = session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.chain_seq.is_(None)))
        return Verdict(0, Broken(None, first, f"{unchained} 条事件不在链上（被插入或被改动了位置）"))
    wanted = {int(a["seq"]): str(a["hash"]) for a in anchors}
    for a in session.scalars(select(AuditAnchor)):
        wanted.setdefault(a.seq, a.hash)
    checked, prev, expect_seq, after = 0, GENESIS, 1, 0
    while True:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.chain_seq > after)
                               .order_by(AuditEvent.chain_seq).limit(batch)).all()
        if not rows:
            break
        for ev in rows:
            if ev.chain_seq != expect_seq:
                return Verdict(checked, Broken(expect_seq, None, f"缺少第 {expect_seq} 环（事件被删除）"))
            if ev.prev_hash != prev:
                return Verdict(checked, Broken(ev.chain_seq, ev.id, "与前一事件的哈希不符（前一事件被改动、删除或替换）"))
            if hash_of(ev) != ev.hash:
                return Verdict(checked, Broken(ev.chain_seq, ev.id, "内容与其哈希不符（事件被改动）"))
            if ev.chain_seq in wanted and wanted.pop(ev.chain_seq) != ev.hash:
                return Verdict(checked, Broken(ev.chain_seq, ev.id, "与锚点记录的哈希不符（链被改写）"))
            prev, expect_seq, after, checked = ev.hash, expect_seq + 1, ev.chain_seq, checked + 1
        session.expunge_all()
    head = session.get(AuditChainHead, HEAD_ID)
    if head is not None and (head.seq != checked or head.last_hash != prev):
        return Verdict(checked, Broken(head.seq, None, f"链头记录第 {head.seq} 环，链上只有 {checked} 环（末尾事件被删除）"))
    missing = sorted(s for s in wanted if s > checked or (s == 0 and wanted[s] != GENESIS))
    if missing:
        return Verdict(checked, Broken(missing[0], None, "锚点记录的事件已不在链上（末尾事件被删除）"))
    return Verdict(checked, None)


# ------------------------------------------------------------------ anchors
def write_anchor(session: Session, day: dt.date) -> AuditAnchor:
    """The anchor of ``day`` (China time): the last event chained before the day ended. Idempotent. Logged, and
    recorded as an event of the chain (``audit.anchor``). The caller commits."""
    existing = session.scalar(select(AuditAnchor).where(AuditAnchor.day == day))
    if existing is not None:
        return existing
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), TZ).astimezone(dt.timezone.utc)
    start = end - dt.timedelta(days=1)
    last = session.execute(select(AuditEvent.chain_seq, AuditEvent.hash).where(AuditEvent.at < end)
                           .order_by(AuditEvent.chain_seq.desc()).limit(1)).first()
    events = session.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.at >= start, AuditEvent.at < end))
    seq, digest = (last[0], last[1]) if last else (0, GENESIS)
    anchor = AuditAnchor(day=day, seq=seq, hash=digest, events=events)
    session.add(anchor)
    session.add(AuditEvent(actor_id=None, action="audit.anchor", object_type="AuditAnchor", object_id=day.isoformat(),
                           detail={"seq": seq, "hash": digest, "events": events}))
    session.flush()
    log.info("audit anchor day=%s seq=%d hash=%s events=%d", day.isoformat(), seq, digest, events)
    return anchor


def anchor_json(a: AuditAnchor) -> dict:
    return {"day": a.day.isoformat(), "seq": a.seq, "hash": a.hash, "events": a.events}


def export_anchors(session: Session) -> list[dict]:
    return [anchor_json(a) for a in session.scalars(select(AuditAnchor).order_by(AuditAnchor.day))]
