"""Read models of the talent pool shared by the pages, the Excel export and the API: the regulator's pool list
(its filters, read from a request's arguments the same way for the page and ``/api/v1/talent/entries``), the
export, an entry's page, the home panel's counts, and the public notices and their search."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Iterator, Mapping

from flask_babel import gettext as _
from sqlalchemy import Text, and_, bindparam, false, func, intersect, null, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload

from credits import queries as credits
from credits.models import YearStanding
from lms.auth.models import User
from lms.domain import Tier
from lms.errors import ValidationFailed
from lms.orgs.models import Enterprise, Region
from lms.people.models import TraineeProfile, trainee_name_chars
from lms import sheets
from lms.pii import mask_id_number
from lms.scoping import visible
from lms.templating import Page
from talent.models import (
    Appointment, AppointmentRule, NoticeObjection, Evaluation, Notice, NoticeCertificate, NoticeEntry, PoolStatus, RegistrationStatus, TalentEntry,
    TalentEvent,
)

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


def pool_filters(args: Mapping) -> dict:
    """The pool list's filters from a request's arguments (``q``, ``status``, ``tier``, ``region``, ``stars``,
    ``enterprise``), read once for the page, the export and the API: keyword arguments of ``pool_filter``."""
    return {"q": (args.get("q") or "").strip()[:64], "status": args.get("status"), "tier": args.get("tier"),
            "region_id": _int(args.get("region")), "stars": _int(args.get("stars")), "enterprise": args.get("enterprise") or ""}


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def pool_filter(session: Session, user: User, *, q: str = "", status: str | None = None, tier: str | None = None,
                region_id: int | None = None, stars: int | None = None, enterprise: str = ""):
    """The pool entries ``user`` may see, narrowed by the list's filters: part of the name, status, tier, a region
    (and below), stars, part of the enterprise's name. A select of ``TalentEntry`` in list order (region, id)."""
    stmt = visible(TalentEntry, user)
    q = (q or "").strip()[:64]
    sqlite = session.get_bind().dialect.name == "sqlite"
    if q:
        named = TalentEntry.user_id.in_(named_like(session, q))
        # SQLite: the name's entries read once a page, for both the count and the page (issue 20; before, each
        # of them matched LIKE over all 200,000 names: 2 × ~100 ms).
        stmt = stmt.where(_among(session, named) if sqlite else named)
    if status in PoolStatus.__members__:
        stmt = stmt.where(TalentEntry.status == PoolStatus(status))
    if tier in Tier.__members__:
        stmt = stmt.where(TalentEntry.highest_tier == Tier(tier))
    if region_id:
        # The region and those below it read now, as a list (issue 20): beside the scope's own subquery of
        # regions, SQLite walked the whole scope's entries probing each for the chosen county (~130 ms a count
        # for a small one); a short list of values is the index's range it starts from.
        path = select(Region.path).where(Region.id == region_id).scalar_subquery()
        below = list(session.scalars(select(Region.id).where(Region.path.startswith(path))))
        if below:
            stmt = stmt.where(TalentEntry.region_id.in_(below))
    if stars:
        stmt = stmt.where(TalentEntry.stars == stars)
    if (enterprise := (enterprise or "").strip()[:64]):
        at = TalentEntry.enterprise_id.in_(select(Enterprise.id).where(Enterprise.name.contains(enterprise, autoescape=True)))
        # SQLite walked the whole list index probing each entry's enterprise (~100 ms for an enterprise with no
        # or few members): their entries are read first by the enterprise index instead, when not too many.
        stmt = stmt.where(_among(session, at) if sqlite else at)
    stmt = stmt.order_by(TalentEntry.region_id, TalentEntry.id)
    if not sqlite and (q or enterprise):
        # PostgreSQL (issue 20): a name or an enterprise leaves a few thousand entries at most, found through their
        # people or enterprise: ``pool_page`` reads their ids once in the list's order for the count and the page
        # (before, the count and the page each ran the name's search and probed every named person's entry:
        # 2 × 25-70 ms at full scale).
        stmt = stmt.execution_options(pool_one_read=True)
    return stmt


POOL_ID_LIST_MAX = 5_000  # entries a name or enterprise filter may resolve to before SQLite filters as before


def _among(session: Session, cond):
    """SQLite (issue 20): ``cond`` (a name's or an enterprise's entries) as "an entry among these ids": the
    entries are read once now by ``cond``'s own index, up to ``POOL_ID_LIST_MAX``, and bound as one JSON array,
    so that the count and the page look them up by primary key (``json_each``) instead of each re-running the
    name scan or walking the whole list index to probe every entry (SQLite cannot estimate a filter's size:
    ~100 ms a statement for an enterprise with few members). None: no entry. More: ``cond`` itself (many
    matches: the list's ordered walk finds a page's rows early)."""
    found = list(session.scalars(select(TalentEntry.id).where(cond).limit(POOL_ID_LIST_MAX + 1)))
    if not found:
        return false()
    if len(found) > POOL_ID_LIST_MAX:
        return cond
    listed = func.json_each(bindparam(None, json.dumps(found), type_=Text)).table_valued("value").alias("listed")
    return TalentEntry.id.in_(select(listed.c.value))


def named_like(session: Session, q: str):
    """The users whose real name contains ``q``, as a subquery of user ids, by index on either database.

    SQLite: the people holding q's characters from trainee_name_chars (kept by triggers), then those whose name
    holds them in order. PostgreSQL: the profiles holding every character of ``q`` come from the
    GIN index on the name's characters (``ix_trainee_profiles_name_chars``; names are too short for trigrams), and
    LIKE keeps those where they are in order (before: a sequential scan of every profile, 2.8 s with a county)."""
    contains = TraineeProfile.real_name.contains(q, autoescape=True)
    if session.get_bind().dialect.name != "postgresql":
        # Issue 20: the people holding each of q's characters, by the primary key of trainee_name_chars (kept by
        # triggers); for more than one character, those whose name holds them in order (instr: LIKE's match,
        # case-sensitive as PostgreSQL's, with no pattern to interpret). Before: LIKE over every name, twice a page.
        holding = [select(trainee_name_chars.c.user_id).where(trainee_name_chars.c.ch == c) for c in sorted(set(q))]
        if len(holding) == 1:
            return holding[0]
        return select(TraineeProfile.user_id).where(TraineeProfile.user_id.in_(intersect(*holding)),
                                                     func.instr(TraineeProfile.real_name, q) > 0)
    chars = func.string_to_array(TraineeProfile.real_name, null(), type_=ARRAY(Text))  # the index's expression
    holds = chars.contains(bindparam("name_chars", sorted(set(q)), type_=ARRAY(Text)))
    # One character (a surname, the usual search): holding it is containing it, and without the LIKE the planner
    # estimates the matches from the index's statistics (with it, ~100 × too few: it then probed every entry of a
    # county for its name instead of starting from the names).
    # Read first, as a fence (MATERIALIZED): the planner otherwise probed each entry of a county or a status for
    # its name (50,000 probes, 0.6-2 s) where reading the ~2,000 names from the index and joining takes ~30 ms.
    named = (select(TraineeProfile.user_id).where(holds if len(q) == 1 else and_(holds, contains))
             .cte("named").prefix_with("MATERIALIZED"))
    return select(named.c.user_id)


def pool_page(session: Session, stmt, page: int, per_page: int = POOL_PAGE_SIZE):
    """One page of ``pool_filter``'s entries in two statements whatever the page size: the count, then the
    page's rows with the holder's name, the enterprise and the region joined in (the list used to load each
    row's user, profile — decrypting its ID number and phone —, enterprise and region one by one). Pages stop
    at ``POOL_MAX_ROWS`` rows down the list: a later page number shows the last page within it."""
    # Both statements select ids only from the filtered entries: the count reads the filter index alone, and
    # the rows skipped by OFFSET are not fetched; only the page's rows are.
    ids = stmt.with_only_columns(TalentEntry.id)
    listed = None
    if stmt.get_execution_options().get("pool_one_read"):  # a selective filter (``pool_filter``): ids read once
        listed = list(session.scalars(ids.limit(POOL_MAX_ROWS + 1)))
        total = len(listed)
    else:
        # The count stops past the rows pages can reach: a province's unfiltered list is 200,000 people, and
        # counting them all on every page was most of the page's SQL. ``Page.total`` is then POOL_MAX_ROWS and
        # ``capped`` says there are more (the page says so).
        total = session.scalar(select(func.count()).select_from(
            ids.order_by(None).limit(POOL_MAX_ROWS + 1).subquery())) or 0
    capped = total > POOL_MAX_ROWS
    total = min(total, POOL_MAX_ROWS)
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    if listed is not None:
        on_page = select(TalentEntry.id).where(
            TalentEntry.id.in_(listed[(page - 1) * per_page:page * per_page])).subquery()
    else:
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


def published_notices(today: dt.date):
    """The public notices published by ``today`` and not withdrawn, newest first (a select to page)."""
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


EXPORT_CHUNK = 500  # entries loaded at once while the export streams


def export_pool(session: Session, stmt, today: dt.date) -> Iterator[list]:
    """The pool list's rows for ``lms.sheets.stream`` (header first), read ``EXPORT_CHUNK`` entries at a time in
    the list's order: masked ID numbers as text, hours as numbers, the entry date as a date cell, nothing that
    runs as a formula. Each chunk is three statements whatever its size (issue 20: the names, profiles,
    certificates and this year's hours of a chunk read together, not once a person)."""
    yield [_("姓名"), _("身份证号"), _("所在企业"), _("地区"), _("最高层级"), _("证书编号"), _("状态"), _("状态原因"),
           _("星级"), _("%(y)d 年度学时", y=today.year), _("入库日期")]
    ids = list(session.scalars(stmt.with_only_columns(TalentEntry.id)))
    status_labels, cause_labels = {s: s.label for s in PoolStatus}, {}
    tier_labels = {t: t.label for t in Tier}
    for pos in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[pos:pos + EXPORT_CHUNK]
        loaded = {e.id: e for e in session.scalars(select(TalentEntry).where(TalentEntry.id.in_(chunk)).options(
            selectinload(TalentEntry.user).selectinload(User.trainee_profile), selectinload(TalentEntry.enterprise),
            selectinload(TalentEntry.region), selectinload(TalentEntry.certificates)))}
        hours = credits.hours_by_category_many(session, [e.user_id for e in loaded.values()], today.year)
        for entry_id in chunk:
            e = loaded[entry_id]
            prof = e.profile
            if e.status_cause not in cause_labels:
                cause_labels[e.status_cause] = e.status_cause.label
            h = hours[e.user_id]
            yield [e.name, sheets.Text(mask_id_number(prof.id_number)) if prof else None,
                   e.enterprise.name if e.enterprise else None, e.region.name,
                   tier_labels[e.highest_tier] if e.highest_tier else None, "、".join(c.number for c in e.certificates),
                   status_labels[e.status], cause_labels[e.status_cause], e.stars, h["public"] + h["professional"],
                   e.entered_on]
        del loaded  # the session holds clean objects weakly: memory stays flat over 20,000 rows


def entry_history(session: Session, user: User, entry: TalentEntry, today: dt.date) -> dict:
    """What an entry's page shows beside the entry, each list through ``user``'s scope: the status events, the
    evaluations, the member's registrations, the closed years' standings and this year's progress."""
    return {
        "events": list(session.scalars(visible(TalentEvent, user).where(TalentEvent.entry_id == entry.id)
                                       .order_by(TalentEvent.id.desc()))),
        "evaluations": list(session.scalars(visible(Evaluation, user).where(Evaluation.entry_id == entry.id)
                                            .order_by(Evaluation.id.desc()))),
        "appointments": appointments_of(session, user, entry.user_id),
        "standings": list(session.scalars(select(YearStanding).where(YearStanding.user_id == entry.user_id)
                                          .order_by(YearStanding.year.desc()))),
        "current": credits.progress(session, entry.user_id, today.year, entry.province_id),
    }


def appointments_of(session: Session, user: User, member_id: int | None = None) -> list[Appointment]:
    """A member's registrations (``user``'s own when no member is named), newest first."""
    stmt = visible(Appointment, user).order_by(Appointment.id.desc())
    if member_id is not None:
        stmt = stmt.where(Appointment.user_id == member_id)
    return list(session.scalars(stmt))


def appointment_queue(user: User, status: str):
    """The registrations a bureau reviews, oldest first, narrowed to a status when it names one (to page)."""
    stmt = visible(Appointment, user).order_by(Appointment.submitted_at)
    if status in RegistrationStatus.__members__:
        stmt = stmt.where(Appointment.status == RegistrationStatus(status))
    return stmt


def pool_counts(session: Session, user: User) -> tuple[dict, int]:
    """The home panel's figures: the visible entries by status, and the registrations awaiting review."""
    base = visible(TalentEntry, user).subquery()
    rows = dict(session.execute(select(base.c.status, func.count()).group_by(base.c.status)).all())
    by_status = {s: rows.get(s, 0) or rows.get(s.value, 0) for s in PoolStatus}
    pending = session.scalar(select(func.count()).select_from(
        visible(Appointment, user).where(Appointment.status == RegistrationStatus.submitted).subquery())) or 0
    return by_status, pending


def notice_size(session: Session, notice_id: int) -> int:
    """How many lines a notice has."""
    return session.scalar(select(func.count()).where(NoticeEntry.notice_id == notice_id)) or 0


def profile_of(session: Session, user_id: int) -> TraineeProfile | None:
    """A member's trainee profile (the registration pages show it)."""
    return session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user_id))


def enterprise_of(session: Session, user: User) -> Enterprise | None:
    """The enterprise of an enterprise account (the registration form shows it)."""
    return session.get(Enterprise, user.enterprise_id) if user.enterprise_id else None


def appointment_rule(session: Session, province_id: int) -> AppointmentRule | None:
    """A province's requirement of an appointee (None: any certificate in force)."""
    return session.scalar(select(AppointmentRule).where(AppointmentRule.province_id == province_id))


def notice_lines(notice_id: int):
    """A notice's lines in the published order (a select to page; the page, the PDF and the workbook share it)."""
    return select(NoticeEntry).where(NoticeEntry.notice_id == notice_id).order_by(NoticeEntry.id)


def objections_of(session: Session, user: User, notice_id: int) -> list[NoticeObjection]:
    """The objections lodged against a notice, oldest first, through the bureau's scope."""
    return list(session.scalars(visible(NoticeObjection, user).where(NoticeObjection.notice_id == notice_id)
                                .order_by(NoticeObjection.id)))
