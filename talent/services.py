"""The talent pool's rules: entries from certificates, status changes with causes, the yearly roll-up,
appointment registrations, public notices, the indicator tree and evaluations.

Contract with the certificates package (called at merge time): ``on_certificate_issued`` and
``on_certificate_status_changed``. Both take plain values and are safe to call twice."""
from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from credits import services as credits
from credits.models import AnnualReport, CreditRecord, ProvinceRule, SubjectCategory, YearStanding
from lms.db import utcnow
from lms.domain import Role, Tier
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.notifications.services import notify
from lms.pii import mask_id_number
from talent.models import (
    Appointment, Cause, Evaluation, EvaluationScore, Indicator, Notice, NoticeCertificate, NoticeEntry,
    PoolStatus, RegistrationStatus, TalentCertificate, TalentEntry, TalentEvent,
)

CE_CAUSES = (Cause.missed_credits, Cause.missing_report)


# ------------------------------------------------------------------ status changes
def set_status(session: Session, entry: TalentEntry, to: PoolStatus, cause: Cause, on: dt.date, *,
               reason: str = "", actor: User | None = None, year: int | None = None) -> TalentEvent | None:
    """Change an entry's status and log the event; None when nothing changes."""
    if entry.status == to and entry.status_cause == cause:
        return None
    ev = TalentEvent(entry_id=entry.id, on=on, from_status=entry.status, to_status=to, cause=cause,
                     reason=reason[:2000], year=year, actor_id=getattr(actor, "id", None))
    entry.status, entry.status_cause, entry.status_since = to, cause, on
    session.add(ev)
    session.flush()
    if to != PoolStatus.active:
        notify(session, entry.user_id, "pool_status", _("人才库状态变更为：%(s)s", s=to.label),
               _("原因：%(c)s。%(r)s", c=cause.label, r=reason))
    return ev


def manual_status(session: Session, actor: User, entry: TalentEntry, to: str, reason: str, today: dt.date, *,
                  disqualify: bool = False) -> TalentEvent | None:
    """A bureau's decision (or a disqualification, seed 001 §6) with a reason. ``entry`` was loaded through the
    actor's scope."""
    if actor.role not in (Role.regulator_admin, Role.system_admin):
        raise Forbidden(_("只有监管部门可以变更人才库状态"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _("请填写理由")})
    if to not in PoolStatus.__members__:
        raise ValidationFailed({"status": _("请选择状态")})
    target = PoolStatus.exited if disqualify else PoolStatus(to)
    ev = set_status(session, entry, target, Cause.disqualification if disqualify else Cause.manual, today,
                    reason=reason, actor=actor)
    audit.record(session, actor, "talent.status", entry, to=target.value, disqualify=disqualify)
    return ev


# ------------------------------------------------------------------ the certificates contract
def on_certificate_issued(session: Session, *, user_id: int, certificate_id: int, number: str, tier: str,
                          issued_on: dt.date, valid_until: dt.date | None, region_id: int,
                          enterprise_id: int | None) -> TalentEntry:
    """Create or update the person's pool entry for an issued certificate: records the certificate, keeps
    the highest tier in force, region and enterprise. Calling it again for the same certificate is a no-op
    apart from refreshing its data."""
    tier = Tier(tier)
    province = credits.province_of(session, region_id)
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user_id))
    if entry is None:
        entry = TalentEntry(user_id=user_id, province_id=province.id, region_id=region_id, enterprise_id=enterprise_id,
                            highest_tier=tier, status=PoolStatus.active, status_cause=Cause.certified,
                            status_since=issued_on, entered_on=issued_on)
        session.add(entry)
        session.flush()
        session.add(TalentEvent(entry_id=entry.id, on=issued_on, from_status=None, to_status=PoolStatus.active,
                                cause=Cause.certified, reason=number))
    cert = session.scalar(select(TalentCertificate).where(TalentCertificate.certificate_id == certificate_id))
    if cert is None:
        cert = TalentCertificate(entry_id=entry.id, certificate_id=certificate_id, number=number, tier=tier,
                                 issued_on=issued_on, valid_until=valid_until, status="valid")
        session.add(cert)
    else:
        cert.number, cert.tier, cert.issued_on, cert.valid_until = number, tier, issued_on, valid_until
    entry.region_id, entry.province_id = region_id, province.id
    if enterprise_id:
        entry.enterprise_id = enterprise_id
    session.flush()
    session.refresh(entry, ["certificates"])
    _recompute_tier(entry, issued_on)
    if entry.status == PoolStatus.exited and entry.status_cause in (Cause.revoked_certificate, Cause.certificate_expired):
        set_status(session, entry, PoolStatus.active, Cause.certified, issued_on, reason=number)
    session.flush()
    return entry


def _recompute_tier(entry: TalentEntry, on: dt.date) -> None:
    in_force = [c.tier for c in entry.certificates if c.in_force(on)]
    entry.highest_tier = max(in_force, key=lambda t: t.rank) if in_force else None


def on_certificate_status_changed(session: Session, *, user_id: int, certificate_id: int, status: str,
                                  reason: str, today: dt.date | None = None) -> TalentEntry | None:
    """A certificate was revoked, expired, or restored ('valid'). Without a certificate in force the entry
    exits the pool with the cause (revoked certificate / certificate expired)."""
    from lms.templating import today_local

    today = today or today_local()
    cert = session.scalar(select(TalentCertificate).where(TalentCertificate.certificate_id == certificate_id))
    if cert is None:
        return None
    entry = cert.entry
    if entry.user_id != user_id:
        raise DomainError(_("证书与持证人不符"))
    cert.status, cert.status_reason = status, (reason or "")[:2000]
    session.flush()
    _recompute_tier(entry, today)
    if entry.highest_tier is None and entry.status != PoolStatus.exited:
        cause = Cause.revoked_certificate if status == "revoked" else Cause.certificate_expired
        set_status(session, entry, PoolStatus.exited, cause, today, reason=reason or "")
    elif entry.highest_tier is not None and entry.status == PoolStatus.exited and entry.status_cause in (
            Cause.revoked_certificate, Cause.certificate_expired):
        set_status(session, entry, PoolStatus.active, Cause.certified, today, reason=reason or "")
    session.flush()
    return entry


def expire_certificates(session: Session, today: dt.date) -> int:
    """Certificates past their validity stop counting: the highest tier is recomputed and an entry left
    without a certificate in force exits with the cause 'certificate expired'. Idempotent."""
    certs = session.scalars(select(TalentCertificate).where(
        TalentCertificate.status == "valid", TalentCertificate.valid_until < today)).all()
    for c in certs:
        on_certificate_status_changed(session, user_id=c.entry.user_id, certificate_id=c.certificate_id,
                                      status="expired", reason=_("证书有效期至 %(d)s", d=c.valid_until.isoformat()),
                                      today=today)
    return len(certs)


# ------------------------------------------------------------------ CE standing and the roll-up
def restore_if_compliant(session: Session, user_id: int, year: int, today: dt.date | None = None) -> None:
    """Credits or a report were added: an entry on warning or lapsed for CE reasons becomes active again as
    soon as the year's requirement is met."""
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user_id))
    if entry is None or entry.status not in (PoolStatus.warning, PoolStatus.lapsed) or entry.status_cause not in CE_CAUSES:
        return
    if credits.progress(session, user_id, year, entry.province_id).compliant:
        from lms.templating import today_local

        set_status(session, entry, PoolStatus.active, Cause.restored, today or today_local(),
                   reason=_("%(y)d 年度继续教育已达标", y=year), year=year)


@dataclass(frozen=True)
class Standing:
    entry_id: int
    user_id: int
    status: "PoolStatus"
    cause: "Cause"
    hours_total: float
    hours_professional: float
    report_filed: bool
    hours_ok: bool
    compliant: bool
    previous_compliant: bool | None


def _rule_columns(session: Session):
    """The province's rule as SQL: (required hours, professional minimum, report required), each falling back
    to the defaults (``credits.rule_for``) when the province has no saved rule. Join ``ProvinceRule`` on the
    member's province (outer) for these."""
    from sqlalchemy import literal

    d = credits.rule_for(session, None)
    return (func.coalesce(ProvinceRule.required_hours, literal(d.required_hours)),
            func.coalesce(ProvinceRule.professional_min_hours, literal(d.professional_min_hours)),
            func.coalesce(ProvinceRule.report_required, literal(bool(d.report_required))))


def compliance(session: Session, total, professional, report_filed):
    """THE definition of CE compliance for a year, as SQL over a member's hours, professional hours and
    whether the report is filed (the province's rule joined in, see ``_rule_columns``): returns the
    expressions (hours_ok, compliant). Used by ``standings`` (the dashboard) and by the roll-up's writes."""
    from sqlalchemy import and_, false, or_, true

    required, professional_min, report_required = _rule_columns(session)
    hours_ok = and_(total >= required, professional >= professional_min)
    compliant = and_(hours_ok, or_(report_filed, report_required == false()))
    return case((hours_ok, true()), else_=false()), case((compliant, true()), else_=false())


def _standings_select(session: Session, year: int, *, province_id=None, region_ids=None, users=None):
    from sqlalchemy import and_

    end = dt.date(year, 12, 31)
    cr = CreditRecord
    totals = (select(cr.user_id.label("uid"), func.sum(cr.hours).label("total"),
                     func.sum(case((cr.subject_category == SubjectCategory.professional, cr.hours), else_=0)).label("prof"))
              .where(cr.year == year))
    if users is not None:
        totals = totals.where(cr.user_id > users[0], cr.user_id <= users[1])
    totals = totals.group_by(cr.user_id).subquery()
    # The report as an outer join on its unique (user_id, year), not EXISTS: PostgreSQL turned the EXISTS into a
    # scan of the whole year's reports for every chunk.
    filed = AnnualReport.id.is_not(None)
    prev = (select(YearStanding.compliant).where(YearStanding.user_id == TalentEntry.user_id, YearStanding.year == year - 1)
            .scalar_subquery())
    total, prof = func.coalesce(totals.c.total, 0), func.coalesce(totals.c.prof, 0)
    hours_ok, ok = compliance(session, total, prof, filed)
    stmt = (select(TalentEntry.id.label("entry_id"), TalentEntry.user_id.label("user_id"),
                   TalentEntry.status.label("status"), TalentEntry.status_cause.label("cause"),
                   total.label("total"), prof.label("prof"), filed.label("filed"), hours_ok.label("hours_ok"),
                   ok.label("ok"), prev.label("prev_ok"))
            .outerjoin(totals, totals.c.uid == TalentEntry.user_id)
            .outerjoin(AnnualReport, and_(AnnualReport.user_id == TalentEntry.user_id, AnnualReport.year == year,
                                          *((AnnualReport.user_id > users[0], AnnualReport.user_id <= users[1])
                                            if users is not None else ())))
            .outerjoin(ProvinceRule, ProvinceRule.province_id == TalentEntry.province_id)
            .where(TalentEntry.status != PoolStatus.exited, TalentEntry.entered_on <= end))
    if province_id:
        stmt = stmt.where(TalentEntry.province_id == province_id)
    if region_ids is not None:
        stmt = stmt.where(TalentEntry.region_id.in_(region_ids))
    if users is not None:
        stmt = stmt.where(TalentEntry.user_id > users[0], TalentEntry.user_id <= users[1])
    return stmt


def standings(session: Session, year: int, *, province_id: int | None = None, region_ids=None) -> list[Standing]:
    """Every pool member's continuing-education standing for ``year`` by the province's rule: hours,
    professional hours and (where required) the annual report (``compliance``). Used by the regulator's
    dashboard; the year-end roll-up writes the same figures set-based. ``region_ids`` (a subquery) narrows
    to a region."""
    rows = session.execute(_standings_select(session, year, province_id=province_id, region_ids=region_ids)).all()
    return [Standing(r.entry_id, r.user_id, r.status, r.cause, float(r.total or 0), float(r.prof or 0), bool(r.filed),
                     bool(r.hours_ok), bool(r.ok), None if r.prev_ok is None else bool(r.prev_ok)) for r in rows]


ROLLUP_CHUNK = 2000  # pool members a transaction: ~40 ms of writes on an idle development machine, ~100 ms loaded


def rollup_year(session: Session, year: int, province_id: int | None = None, now: dt.datetime | None = None, *,
                chunk_size: int | None = None, after_chunk=None, target_seconds: float | None = None) -> dict:
    """Close ``year``: record every pool member's standing and move statuses, set-based, ``chunk_size`` members
    (by user id) at a time.

    Non-compliant (hours, professional hours or report short) → warning; non-compliant this year and the
    year before → lapsed; compliant again → active (only when the warning was for CE). Running it again
    gives the same outcome: standings are rewritten, and entries already in their target state are left.

    Each chunk is a handful of INSERT … SELECT / UPDATE statements whatever its size (no row passes through
    Python), then ``after_chunk(counts)`` is called: the scheduled job commits there, so that no write
    transaction holds the database for long. The chunks are independent (a chunk reads the year before's
    standings and its own members only), so a run stopped half-way is completed by the next. Without
    ``after_chunk`` (tests, the demo) everything stays in the caller's transaction. With ``target_seconds`` the
    chunk size follows the time a chunk took, commit included (halved above the target, grown by a quarter
    below half of it, between 200 and 20,000 members): a loaded machine gets smaller transactions."""
    import time
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
    from sqlalchemy import and_, literal, not_, or_
    from sqlalchemy import String as Str

    from lms.db import UTCDateTime

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
        ["user_id", "year", "hours_total", "hours_professional", "report_filed", "compliant", "computed_at"],
        select(st.c.user_id, literal(year), st.c.total, st.c.prof, st.c.filed, st.c.ok, literal(now, UTCDateTime))))
    # The transitions, from the standings just written (the aggregation is not run again): the same rule.
    ys, prev = YearStanding.__table__.alias("ys"), YearStanding.__table__.alias("prev")
    hours_ok, ok = compliance(session, ys.c.hours_total, ys.c.hours_professional, ys.c.report_filed)
    target = case((ok, literal(PoolStatus.active.value, Str)), (prev.c.compliant.is_(False), literal(PoolStatus.lapsed.value, Str)),
                  else_=literal(PoolStatus.warning.value, Str))
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
            .outerjoin(ProvinceRule, ProvinceRule.province_id == TalentEntry.province_id)
            .where(moves))
    mv = base.subquery()
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


def _notify_moves(session: Session, ev, mine, year: int, groups, now: dt.datetime) -> None:
    """``notify`` everyone this chunk moved to warning or lapsed (their events: ``ev`` where ``mine``), set-based:
    one INSERT … SELECT per (status, cause), skipping whoever already has the message (its dedupe key). With
    mail configured each message goes out by ``notify`` instead (one at a time: mail is per person anyway)."""
    from flask import current_app, has_app_context
    from sqlalchemy import literal

    from lms.db import UTCDateTime
    from lms.notifications.models import Notification

    mail = has_app_context() and current_app.config.get("SMTP_HOST")
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
                notify(session, uid, "pool_status", title, body, dedupe_key=key)
            continue
        fresh = who.where(~select(Notification.id).where(Notification.user_id == TalentEntry.user_id,
                                                         Notification.dedupe_key == key).exists()).subquery()
        session.execute(insert(Notification.__table__).from_select(
            ["user_id", "kind", "title", "body", "url", "dedupe_key", "emailed", "created_at"],
            select(fresh.c.uid, literal("pool_status"), literal(title[:128]), literal(body), literal(""),
                   literal(key), literal(False), literal(now, UTCDateTime))))


def standings_of(session: Session, user_id: int) -> list[YearStanding]:
    return list(session.scalars(select(YearStanding).where(YearStanding.user_id == user_id).order_by(YearStanding.year.desc())))


# ------------------------------------------------------------------ the regulator's pool list (search)
POOL_PAGE_SIZE = 20
POOL_MAX_ROWS = 10_000  # how far down a filtered list pages go (the Excel export has the rest): OFFSET stays bounded


@dataclass(frozen=True)
class PoolRow:
    """One line of the pool list: what the page shows, read in the page's one query (no profile decrypted)."""

    id: int
    user_id: int
    name: str
    enterprise_name: str | None
    region_name: str
    highest_tier: Tier | None
    status: PoolStatus
    stars: int | None


def pool_filter(session: Session, user: User, *, q: str = "", status: str | None = None, tier: str | None = None,
                region_id: int | None = None, stars: int | None = None, enterprise: str = ""):
    """The pool entries ``user`` may see, narrowed by the list's filters: part of the name, status, tier, a region
    (and below), stars, part of the enterprise's name. A select of ``TalentEntry`` in list order (region, id)."""
    from lms.orgs.models import Enterprise, Region
    from lms.people.models import TraineeProfile
    from lms.scoping import visible

    stmt = visible(TalentEntry, user)
    q = (q or "").strip()[:64]
    if q:
        # Names are matched on the name index alone (its entries are small: no profile row is read but the
        # matches'), then the matching profiles give the users.
        named = select(TraineeProfile.id).where(TraineeProfile.real_name.contains(q))
        stmt = stmt.where(TalentEntry.user_id.in_(select(TraineeProfile.user_id).where(TraineeProfile.id.in_(named))))
    if status in PoolStatus.__members__:
        stmt = stmt.where(TalentEntry.status == PoolStatus(status))
    if tier in Tier.__members__:
        stmt = stmt.where(TalentEntry.highest_tier == Tier(tier))
    if region_id:
        path = session.scalar(select(Region.path).where(Region.id == region_id))
        if path is not None:
            stmt = stmt.where(TalentEntry.region_id.in_(select(Region.id).where(Region.path.startswith(path))))
    if stars:
        stmt = stmt.where(TalentEntry.stars == stars)
    if (enterprise := (enterprise or "").strip()[:64]):
        stmt = stmt.where(TalentEntry.enterprise_id.in_(select(Enterprise.id).where(Enterprise.name.contains(enterprise))))
    return stmt.order_by(TalentEntry.region_id, TalentEntry.id)


def pool_page(session: Session, stmt, page: int, per_page: int = POOL_PAGE_SIZE):
    """One page of ``pool_filter``'s entries in two statements whatever the page size: the count, then the
    page's rows with the holder's name, the enterprise and the region joined in (the list used to load each
    row's user, profile — decrypting its ID number and phone —, enterprise and region one by one). Pages stop
    at ``POOL_MAX_ROWS`` rows down the list: a later page number shows the last page within it."""
    from lms.orgs.models import Enterprise, Region
    from lms.people.models import TraineeProfile
    from lms.templating import Page

    # Both statements select ids only from the filtered entries: the count reads the filter index alone, and
    # the rows skipped by OFFSET are not fetched; only the page's rows are.
    ids = stmt.with_only_columns(TalentEntry.id)
    # The count stops past the rows pages can reach: a province's unfiltered list is 200,000 people, and
    # counting them all on every page was most of the page's SQL. ``Page.total`` is then POOL_MAX_ROWS and
    # ``capped`` says there are more (the page says so).
    total = session.scalar(select(func.count()).select_from(
        ids.order_by(None).limit(POOL_MAX_ROWS + 1).subquery())) or 0
    capped = total > POOL_MAX_ROWS
    total = min(total, POOL_MAX_ROWS)
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    on_page = ids.limit(per_page).offset((page - 1) * per_page).subquery()
    te = TalentEntry
    rows = session.execute(
        select(te.id, te.user_id, func.coalesce(TraineeProfile.real_name, User.display_name), Enterprise.name,
               Region.name, te.highest_tier, te.status, te.stars)
        .join(on_page, on_page.c.id == te.id)
        .join(User, User.id == te.user_id)
        .outerjoin(TraineeProfile, TraineeProfile.user_id == te.user_id)
        .outerjoin(Enterprise, Enterprise.id == te.enterprise_id)
        .join(Region, Region.id == te.region_id)
        .order_by(te.region_id, te.id)).all()
    items = [PoolRow(i, uid, name or "", ent, reg, tier, status, stars) for i, uid, name, ent, reg, tier, status, stars in rows]
    out = Page(items=items, page=page, per_page=per_page, total=total)
    out.capped = capped
    return out


# ------------------------------------------------------------------ appointments (登记表)
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
    from lms import uploads
    from lms.people.models import TraineeProfile

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
    rule = credits.rule_for(session, entry.province_id if entry else credits.province_of(session, prof.enterprise.region_id).id)
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
        if entry is not None:
            entry.enterprise_id = appt.enterprise_id
            entry.region_id = appt.enterprise.region_id
    session.flush()
    audit.record(session, actor, "appointment.accept" if accept else "appointment.return", appt)
    notify(session, appt.user_id, "appointment", _("首席质量官登记已受理") if accept else _("首席质量官登记被退回"), reason)
    return appt


def detect_enterprise_changes(session: Session, today: dt.date) -> int:
    """A pool member whose profile now names another enterprise must register the change: set the due date."""
    from lms.people.models import TraineeProfile

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


def send_reminders(session: Session, today: dt.date) -> dict:
    """Daily reminders: credits behind schedule, report due, change registration due. One per kind per person
    per day (the notification's dedupe key carries the date)."""
    counts = {"credits": 0, "report": 0, "registration": 0}
    rows = session.execute(select(TalentEntry.user_id, TalentEntry.province_id, TalentEntry.registration_due_on)
                           .where(TalentEntry.status != PoolStatus.exited)).all()
    if not rows:
        return counts
    year = today.year
    uids = [r[0] for r in rows]
    hours = dict(session.execute(select(CreditRecord.user_id, func.sum(CreditRecord.hours))
                                 .where(CreditRecord.year == year, CreditRecord.user_id.in_(uids)).group_by(CreditRecord.user_id)).all())
    filed = set(session.scalars(select(AnnualReport.user_id).where(AnnualReport.year == year, AnnualReport.user_id.in_(uids))))
    rules = {r.province_id: r for r in session.scalars(select(ProvinceRule))}
    fraction = (today.timetuple().tm_yday) / (366 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 365)
    for uid, pid, due in rows:
        rule = rules.get(pid) or credits.rule_for(session, None)
        have = float(hours.get(uid) or 0)
        if have < rule.required_hours * fraction and today.month >= 3:
            if notify(session, uid, "ce_behind", _("继续教育学时进度落后"),
                      _("%(y)d 年度已获 %(h)s 学时，要求 %(r)d 学时。", y=year, h=f"{have:g}", r=rule.required_hours),
                      dedupe_key=f"ce_behind:{today.isoformat()}"):
                counts["credits"] += 1
        report_window = (dt.date(year, rule.report_due_month, 1) - today).days <= 30
        if rule.report_required and uid not in filed and report_window:
            if notify(session, uid, "report_due", _("请提交年度履职报告"), _("%(y)d 年度履职报告尚未提交。", y=year),
                      dedupe_key=f"report_due:{today.isoformat()}"):
                counts["report"] += 1
        if due is not None and due >= today:
            if notify(session, uid, "registration_due", _("请办理首席质量官变更登记"),
                      _("请于 %(d)s 前提交变更登记。", d=due.isoformat()), dedupe_key=f"registration_due:{today.isoformat()}"):
                counts["registration"] += 1
    return counts


# ------------------------------------------------------------------ public notice (公示)
def publish_notice(session: Session, actor: User, *, title: str, objection_days: int, contact: str,
                   today: dt.date) -> Notice:
    """Snapshot the pool of the actor's region (and below): names, masked IDs, enterprise, tier, status."""
    from lms.people.models import TraineeProfile
    from lms.scoping import visible

    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以发布公示"))
    title = (title or "").strip()
    errors = {}
    if not title or len(title) > 128:
        errors["title"] = _("请填写标题（不超过 128 字）")
    if objection_days is None or not 5 <= objection_days <= 60:
        errors["objection_days"] = _("公示期须在 5 到 60 天之间")
    if errors:
        raise ValidationFailed(errors)
    notice = Notice(region_id=actor.region_id, title=title, published_on=today,
                    objection_until=today + dt.timedelta(days=objection_days), contact=(contact or "").strip()[:128],
                    published_by_id=actor.id)
    session.add(notice)
    session.flush()
    rows = session.execute(
        visible(TalentEntry, actor).add_columns(TraineeProfile.real_name, TraineeProfile.id_number)
        .join(TraineeProfile, TraineeProfile.user_id == TalentEntry.user_id)
        .where(TalentEntry.status != PoolStatus.exited)).all()
    n = 0
    for entry, name, idn in rows:
        certs = [c.number for c in entry.certificates if c.status == "valid"]
        ne = NoticeEntry(notice_id=notice.id, name=name, id_masked=mask_id_number(idn),
                         enterprise_name=entry.enterprise.name if entry.enterprise else "", region_name=entry.region.name,
                         tier=entry.highest_tier, certificate_numbers="、".join(certs)[:255], status=entry.status,
                         stars=entry.stars)
        session.add(ne)
        session.flush()
        for num in certs:
            session.add(NoticeCertificate(notice_entry_id=ne.id, number=num))
        n += 1
    session.flush()
    audit.record(session, actor, "notice.publish", notice, entries=n)
    return notice


def published_notices(today: dt.date):
    return select(Notice).where(Notice.withdrawn.is_(False), Notice.published_on <= today).order_by(Notice.published_on.desc(), Notice.id.desc())


def public_search_stmt(notice_id: int, *, name: str = "", certificate: str = ""):
    """Lines of a notice matching at least one exact criterion; refuses an empty search (no full dump)."""
    name, certificate = (name or "").strip()[:64], (certificate or "").strip()[:64]
    if not name and not certificate:
        raise ValidationFailed({"name": _("请输入完整姓名或证书编号")})
    stmt = select(NoticeEntry).where(NoticeEntry.notice_id == notice_id)
    if name:
        stmt = stmt.where(NoticeEntry.name == name)
    if certificate:
        stmt = stmt.where(NoticeEntry.id.in_(select(NoticeCertificate.notice_entry_id).where(NoticeCertificate.number == certificate)))
    return stmt.order_by(NoticeEntry.name, NoticeEntry.id)


# ------------------------------------------------------------------ export
def _cell(v):
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def export_pool(session: Session, entries: list[TalentEntry], today: dt.date) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "人才库"
    ws.append([_("姓名"), _("身份证号"), _("所在企业"), _("地区"), _("最高层级"), _("证书编号"), _("状态"), _("状态原因"),
               _("星级"), _("%(y)d 年度学时", y=today.year), _("入库日期")])
    for e in entries:
        prof = e.profile
        p = credits.progress(session, e.user_id, today.year, e.province_id)
        ws.append([_cell(v) for v in (
            e.name, mask_id_number(prof.id_number) if prof else "", e.enterprise.name if e.enterprise else "",
            e.region.name, e.highest_tier.label if e.highest_tier else "",
            "、".join(c.number for c in e.certificates), e.status.label, e.status_cause.label,
            e.stars or "", p.total, e.entered_on.isoformat())])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ evaluation indicators and evaluations
FIRST_LEVEL = [
    # code, name, default weight (percent)
    ("A", "意识", 15), ("B", "社会责任", 15), ("C", "知识", 15), ("D", "能力", 20), ("E", "沟通", 10), ("F", "业绩", 25),
]
GRADES = [(90, "优秀", 5), (80, "良好", 4), (70, "中等", 3), (60, "合格", 2), (0, "待提升", 1)]


def ensure_first_level(session: Session, province_id: int) -> list[Indicator]:
    """The six first-level indicators of the evaluation standard (seed 004), created once per province."""
    out = []
    for pos, (code, name, weight) in enumerate(FIRST_LEVEL):
        node = session.scalar(select(Indicator).where(Indicator.province_id == province_id, Indicator.code == code))
        if node is None:
            node = Indicator(province_id=province_id, code=code, parent_id=None, level=1, name=name, weight=weight,
                             max_points=0, position=pos)
            session.add(node)
        out.append(node)
    session.flush()
    return out


def _may_edit_tree(actor: User, province_id: int) -> None:
    if actor.role == Role.system_admin:
        return
    if actor.role == Role.regulator_admin and actor.region_id == province_id:
        return
    raise Forbidden(_("只有省级监管部门可以维护本省评价指标"))


@dataclass
class IndicatorRow:
    code: str
    parent: str
    name: str
    weight: float | None
    max_points: float | None
    evidence_type: str


def save_indicators(session: Session, actor: User, province_id: int, rows: list[IndicatorRow]) -> int:
    """Add or update indicators by code, all or nothing. First-level rows (no parent) may only change the
    weight of the six fixed indicators; lower rows need a parent one level up; levels stop at three."""
    _may_edit_tree(actor, province_id)
    ensure_first_level(session, province_id)
    nodes = {n.code: n for n in session.scalars(select(Indicator).where(Indicator.province_id == province_id))}
    errors: dict[str, str] = {}
    pending: dict[str, IndicatorRow] = {}
    for i, r in enumerate(rows, start=1):
        key = f"row{i}"
        code, parent, name = (r.code or "").strip(), (r.parent or "").strip(), (r.name or "").strip()
        if not code or len(code) > 32:
            errors[key] = _("第 %(i)d 行：编码为空或过长", i=i)
            continue
        if not parent:
            if code not in {c for c, _n, _w in FIRST_LEVEL}:
                errors[key] = _("第 %(i)d 行：一级指标固定为六项，新增指标须填写上级编码", i=i)
            elif r.weight is None or not 0 <= r.weight <= 100:
                errors[key] = _("第 %(i)d 行：权重须在 0 到 100 之间", i=i)
            pending[code] = r
            continue
        if not name or len(name) > 128:
            errors[key] = _("第 %(i)d 行：名称为空或过长", i=i)
        if r.max_points is None or not 0 < r.max_points <= 100:
            errors[key] = _("第 %(i)d 行：满分须大于 0 且不超过 100", i=i)
        p_level = _level_of(parent, nodes, pending)
        if p_level is None:
            errors[key] = _("第 %(i)d 行：上级编码 %(p)s 不存在", i=i, p=parent)
        elif p_level >= 3:
            errors[key] = _("第 %(i)d 行：指标最多三级", i=i)
        if code in nodes and nodes[code].level == 1:
            errors[key] = _("第 %(i)d 行：编码 %(c)s 是一级指标", i=i, c=code)
        pending[code] = r
    if errors:
        raise ValidationFailed(errors)
    n = 0
    for code, r in pending.items():  # parents first: rows come in file order, parents before children
        parent = (r.parent or "").strip()
        node = nodes.get(code)
        if not parent:
            node.weight = float(r.weight)
            n += 1
            continue
        p = nodes[parent]
        if node is None:
            node = Indicator(province_id=province_id, code=code)
            session.add(node)
            nodes[code] = node
        node.parent_id, node.level, node.name = p.id, p.level + 1, r.name.strip()
        node.max_points, node.evidence_type = float(r.max_points), (r.evidence_type or "").strip()[:64]
        node.weight = float(r.weight or 0)
        session.flush()
        n += 1
    audit.record(session, actor, "indicators.save", object_type="Region", object_id=province_id, rows=n)
    return n


def _level_of(code: str, nodes: dict, pending: dict, depth: int = 0) -> int | None:
    if code in pending:
        parent = (pending[code].parent or "").strip()
        if not parent:
            return 1
        up = _level_of(parent, nodes, pending, depth + 1) if depth < 5 else None
        return None if up is None else up + 1
    if code in nodes:
        return nodes[code].level
    return None


def parse_indicator_xlsx(data: bytes) -> list[IndicatorRow]:
    """Rows of an Excel sheet: 编码, 上级编码, 名称, 权重, 满分, 证据类型 (header row first)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ValidationFailed({"file": _("无法读取 Excel 文件（.xlsx）")})
    ws = wb.active
    out = []
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        if i == 0:
            continue
        if i > 1000:
            raise ValidationFailed({"file": _("行数过多")})
        row = list(row) + [None] * 6
        if not any(v not in (None, "") for v in row[:6]):
            continue

        def num(v):
            try:
                return None if v in (None, "") else float(v)
            except (TypeError, ValueError):
                return None

        out.append(IndicatorRow(code=str(row[0] or "").strip(), parent=str(row[1] or "").strip(),
                                name=str(row[2] or "").strip(), weight=num(row[3]), max_points=num(row[4]),
                                evidence_type=str(row[5] or "").strip()))
    if not out:
        raise ValidationFailed({"file": _("文件中没有指标")})
    return out


def indicator_tree(session: Session, province_id: int) -> list[tuple[Indicator, list]]:
    nodes = list(session.scalars(select(Indicator).where(Indicator.province_id == province_id)
                                 .order_by(Indicator.level, Indicator.position, Indicator.code)))
    children = defaultdict(list)
    for n in nodes:
        children[n.parent_id].append(n)

    def build(pid):
        return [(n, build(n.id)) for n in children[pid]]

    return build(None)


def leaves(tree) -> list[Indicator]:
    out = []
    for node, kids in tree:
        out.extend(leaves(kids) if kids else [node])
    return out


def evaluate(session: Session, actor: User, entry: TalentEntry, scores: dict[int, float], today: dt.date,
             notes: str = "") -> Evaluation:
    """Score a pool member against the province's tree: each first-level indicator contributes its weight
    times the share of points earned under it; the total (of 100) maps to a grade and 1–5 stars."""
    if actor.role not in (Role.regulator_admin, Role.system_admin):
        raise Forbidden(_("只有监管部门可以评价"))
    tree = indicator_tree(session, entry.province_id)
    if not tree:
        raise DomainError(_("本省尚未设置评价指标"))
    if abs(sum(n.weight for n, _k in tree) - 100) > 0.01:
        raise DomainError(_("一级指标权重之和须为 100"))
    errors = {}
    total = 0.0
    ev = Evaluation(entry_id=entry.id, evaluated_on=today, evaluator_id=actor.id, total=0, grade="", stars=1,
                    notes=(notes or "").strip()[:2000])
    for node, kids in tree:
        ls = leaves(kids) if kids else [node]
        got = possible = 0.0
        for leaf in ls:
            cap = leaf.max_points or 100
            v = scores.get(leaf.id)
            if v is None or not 0 <= v <= cap:
                errors[f"s{leaf.id}"] = _("「%(n)s」得分须在 0 到 %(m)s 之间", n=leaf.name, m=f"{cap:g}")
                continue
            got += v
            possible += cap
            ev.scores.append(EvaluationScore(indicator_id=leaf.id, points=v))
        if possible:
            total += node.weight * got / possible
    if errors:
        raise ValidationFailed(errors)
    total = round(total, 2)
    grade, stars = next((g, s) for floor, g, s in GRADES if total >= floor)
    ev.total, ev.grade, ev.stars = total, grade, stars
    session.add(ev)
    entry.stars, entry.grade = stars, grade
    session.flush()
    audit.record(session, actor, "evaluation.create", ev, stars=stars)
    return ev


def delete_indicator(session: Session, actor: User, node: Indicator) -> None:
    """Remove a second- or third-level indicator (and its children) that no evaluation has used."""
    _may_edit_tree(actor, node.province_id)
    if node.level == 1:
        raise DomainError(_("一级指标不能删除"))
    ids = [node.id] + list(session.scalars(select(Indicator.id).where(Indicator.parent_id == node.id)))
    if session.scalar(select(EvaluationScore.id).where(EvaluationScore.indicator_id.in_(ids)).limit(1)):
        raise Conflict(_("该指标已用于评价，不能删除"))
    session.execute(delete(Indicator).where(Indicator.parent_id == node.id))
    session.delete(node)
    session.flush()
    audit.record(session, actor, "indicators.delete", object_type="Indicator", object_id=ids[0])
