"""Read models of the talent pool shared by the pages, the Excel export and the API: the regulator's pool list
(its filters, read from a request's arguments the same way for the page and ``/api/v1/talent/entries``), the
export, an entry's page, the home panel's counts, and the public notices and their search."""
from __future__ import annotations

import datetime as dt
import json
import weakref
from dataclasses import dataclass
from typing import Iterator, Mapping

from flask_babel import gettext as _
from sqlalchemy import Integer, String, Text, and_, bindparam, false, func, intersect, null, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload

from credits import queries as credits
from credits.models import YearStanding
from lms.auth.models import User
from lms.domain import Tier
from lms.errors import NotFound, ValidationFailed
from lms.orgs.models import Enterprise, Region
from lms.people.models import TraineeProfile, trainee_name_chars
from lms import sheets
from lms.pii import mask_id_number
from lms.scoping import visible
from lms.templating import Page
from lms.rawsql import KeptSelect
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


@dataclass(frozen=True)
class PoolQuery:
    """A request's pool filters resolved (issue 20, fifth round): the select's ``shape`` (which filters, how a name
    or an enterprise is matched, how many regions are chosen), the ``values`` bound into its named parameters, and
    ``scope``, ``visible(TalentEntry, user)`` as the scope rule made it for this request. ``select()`` is the ORM
    select (the API and the export run it); ``pool_page`` runs its count and page from kept statements."""

    shape: tuple
    values: dict
    scope: object
    dialect: str

    def select(self):
        """The entries, in list order, as a select with this request's values bound."""
        return _pool_select(self.shape, self.scope, self.dialect).params(**self.values)


def pool_query(session: Session, user: User, *, q: str = "", status: str | None = None, tier: str | None = None,
               region_id: int | None = None, stars: int | None = None, enterprise: str = "") -> PoolQuery:
    """The pool entries ``user`` may see, narrowed by the list's filters: part of the name, status, tier, a region
    (and below), stars, part of the enterprise's name (``pool_filter``'s select, resolved but not built)."""
    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    shape, values = [], {}
    q = (q or "").strip()[:64]
    if q:
        part, named = _name_part(q, dialect)
        # SQLite: the name's entries read once a page, for both the count and the page (issue 20; before, each
        # of them matched LIKE over all 200,000 names: 2 × ~100 ms).
        part, named = _among(session, part, named) if sqlite else (part, named)
        shape.append(part)
        values.update(named)
    if status in PoolStatus.__members__:
        shape.append(("status",))
        values["status"] = PoolStatus(status)
    if tier in Tier.__members__:
        shape.append(("tier",))
        values["tier"] = Tier(tier)
    if region_id:
        # The region and those below it read now, as a list (issue 20): beside the scope's own subquery of
        # regions, SQLite walked the whole scope's entries probing each for the chosen county (~130 ms a count
        # for a small one); a short list of values is the index's range it starts from.
        below = _kept(session, ("below",), _regions_below).scalars(session, {"region_id": region_id})
        if below:
            shape.append(("region", len(below)))
            values.update({f"below_{i}": rid for i, rid in enumerate(below)})
    if stars:
        shape.append(("stars",))
        values["stars"] = stars
    if (enterprise := (enterprise or "").strip()[:64]):
        # SQLite walked the whole list index probing each entry's enterprise (~100 ms for an enterprise with no
        # or few members): their entries are read first by the enterprise index instead, when not too many.
        part, at = ("enterprise",), {"enterprise_like": _like(enterprise)}
        part, at = _among(session, part, at) if sqlite else (part, at)
        shape.append(part)
        values.update(at)
    return PoolQuery(tuple(shape), values, visible(TalentEntry, user), dialect)


def pool_filter(session: Session, user: User, **filters):
    """The pool entries ``user`` may see, narrowed by the list's filters (``pool_query``'s keyword arguments): a
    select of ``TalentEntry`` in list order (region, id), its values bound."""
    return pool_query(session, user, **filters).select()


def _like(text: str) -> str:
    """``text`` escaped for ``LIKE … ESCAPE '/'``: what ``contains(text, autoescape=True)`` binds."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _condition(part: tuple, dialect: str):
    """The SQL condition of one part of a filter's shape, its values named parameters (``pool_query``'s)."""
    kind = part[0]
    if kind == "name":
        return TalentEntry.user_id.in_(_named(part[1], dialect))
    if kind in ("name_ids", "enterprise_ids"):
        listed = func.json_each(bindparam(kind, type_=Text)).table_valued("value").alias("listed")
        return TalentEntry.id.in_(select(listed.c.value))
    if kind == "none":
        return false()
    if kind == "status":
        return TalentEntry.status == bindparam("status", type_=TalentEntry.status.type)
    if kind == "tier":
        return TalentEntry.highest_tier == bindparam("tier", type_=TalentEntry.highest_tier.type)
    if kind == "region":
        return TalentEntry.region_id.in_([bindparam(f"below_{i}", type_=Integer) for i in range(part[1])])
    if kind == "stars":
        return TalentEntry.stars == bindparam("stars", type_=Integer)
    if kind == "enterprise":
        return TalentEntry.enterprise_id.in_(
            select(Enterprise.id).where(Enterprise.name.contains(bindparam("enterprise_like", type_=String), escape="/")))
    raise ValueError(part)


def _pool_select(shape: tuple, scope, dialect: str):
    """``scope`` (``visible(TalentEntry, user)``) narrowed by each part of ``shape``, in list order."""
    stmt = scope
    for part in shape:
        stmt = stmt.where(_condition(part, dialect))
    stmt = stmt.order_by(TalentEntry.region_id, TalentEntry.id)
    if _one_read(shape, dialect):
        # PostgreSQL (issue 20): a name or an enterprise leaves a few thousand entries at most, found through their
        # people or enterprise: ``pool_page`` reads their ids once in the list's order for the count and the page
        # (before, the count and the page each ran the name's search and probed every named person's entry:
        # 2 × 25-70 ms at full scale).
        stmt = stmt.execution_options(pool_one_read=True)
    return stmt


def _one_read(shape: tuple, dialect: str) -> bool:
    """Does ``pool_page`` read the shape's ids once for its count and page (a name or an enterprise, on
    PostgreSQL: see ``_pool_select``)?"""
    return dialect != "sqlite" and any(part[0] in ("name", "enterprise") for part in shape)


def _regions_below(dialect: str):
    path = select(Region.path).where(Region.id == bindparam("region_id", type_=Integer)).scalar_subquery()
    return select(Region.id).where(Region.path.startswith(path))


POOL_ID_LIST_MAX = 5_000  # entries a name or enterprise filter may resolve to before SQLite filters as before


def _among(session: Session, part: tuple, values: dict) -> tuple[tuple, dict]:
    """SQLite (issue 20): a name's or an enterprise's entries (``part``, its ``values``) as "an entry among these
    ids": the entries are read once now by the condition's own index, up to ``POOL_ID_LIST_MAX``, and bound as one
    JSON array, so that the count and the page look them up by primary key (``json_each``) instead of each
    re-running the name scan or walking the whole list index to probe every entry (SQLite cannot estimate a
    filter's size: ~100 ms a statement for an enterprise with few members). None: no entry. More: ``part``
    itself (many matches: the list's ordered walk finds a page's rows early)."""
    found = _kept(session, ("among", part), lambda d: select(TalentEntry.id).where(_condition(part, d))
                  .limit(POOL_ID_LIST_MAX + 1)).scalars(session, values)
    if not found:
        return ("none",), {}
    if len(found) > POOL_ID_LIST_MAX:
        return part, values
    kind = "name_ids" if part[0] == "name" else "enterprise_ids"
    return (kind,), {kind: json.dumps(found)}


def named_like(session: Session, q: str):
    """The users whose real name contains ``q``, as a subquery of user ids, by index on either database."""
    dialect = session.get_bind().dialect.name
    (_kind, size), values = _name_part(q, dialect)
    return _named(size, dialect).params(**values)


def _name_part(q: str, dialect: str) -> tuple[tuple, dict]:
    """A name's part of a filter's shape and its values: on SQLite its distinct characters (``ch_<i>``) and, for
    more than one, the name (``name``); on PostgreSQL the characters (``name_chars``) and, for a name longer than
    one character, its LIKE pattern (``name_like``)."""
    chars = sorted(set(q))
    if dialect != "postgresql":
        values = {f"ch_{i}": c for i, c in enumerate(chars)}
        if len(chars) > 1:
            values["name"] = q
        return ("name", len(chars)), values
    values = {"name_chars": chars}
    if len(q) > 1:
        values["name_like"] = _like(q)
    return ("name", len(q) == 1), values


def _named(size, dialect: str):
    """``named_like``'s subquery for a name's shape (``size``: SQLite, its distinct characters; PostgreSQL, whether
    it is one character), its values named parameters: ``ch_<i>`` and ``name`` (SQLite), ``name_chars`` and
    ``name_like`` (PostgreSQL).

    SQLite: the people holding q's characters from trainee_name_chars (kept by triggers), then those whose name
    holds them in order. PostgreSQL: the profiles holding every character of ``q`` come from the
    GIN index on the name's characters (``ix_trainee_profiles_name_chars``; names are too short for trigrams), and
    LIKE keeps those where they are in order (before: a sequential scan of every profile, 2.8 s with a county)."""
    if dialect != "postgresql":
        # Issue 20: the people holding each of q's characters, by the primary key of trainee_name_chars (kept by
        # triggers); for more than one character, those whose name holds them in order (instr: LIKE's match,
        # case-sensitive as PostgreSQL's, with no pattern to interpret). Before: LIKE over every name, twice a page.
        holding = [select(trainee_name_chars.c.user_id).where(trainee_name_chars.c.ch == bindparam(f"ch_{i}", type_=String))
                   for i in range(size)]
        if size == 1:
            return holding[0]
        return select(TraineeProfile.user_id).where(TraineeProfile.user_id.in_(intersect(*holding)),
                                                     func.instr(TraineeProfile.real_name, bindparam("name", type_=String)) > 0)
    chars = func.string_to_array(TraineeProfile.real_name, null(), type_=ARRAY(Text))  # the index's expression
    holds = chars.contains(bindparam("name_chars", type_=ARRAY(Text)))
    # One character (a surname, the usual search): holding it is containing it, and without the LIKE the planner
    # estimates the matches from the index's statistics (with it, ~100 × too few: it then probed every entry of a
    # county for its name instead of starting from the names).
    # Read first, as a fence (MATERIALIZED): the planner otherwise probed each entry of a county or a status for
    # its name (50,000 probes, 0.6-2 s) where reading the ~2,000 names from the index and joining takes ~30 ms.
    contains = TraineeProfile.real_name.contains(bindparam("name_like", type_=String), escape="/")
    named = (select(TraineeProfile.user_id).where(holds if size else and_(holds, contains))
             .cte("named").prefix_with("MATERIALIZED"))
    return select(named.c.user_id)


KEPT_STATEMENTS_MAX = 2_048  # kept statements a process holds (shapes × scopes); emptied when full


def _kept(session: Session, key: tuple, build) -> KeptSelect:
    """The statement ``build(dialect)`` makes for ``key``, compiled once a process for the session's dialect
    (``lms.rawsql``): the values of its named parameters are a run's."""
    dialect = session.get_bind().dialect
    cache = _KEPT.setdefault(dialect, {})
    kept = cache.get(key)
    if kept is None:
        if len(cache) >= KEPT_STATEMENTS_MAX:
            cache.clear()
        kept = cache[key] = KeptSelect(build(dialect.name), dialect)
    return kept


_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dialect -> {key: KeptSelect}


def _count_of(ids):
    # The count stops past the rows pages can reach: a province's unfiltered list is 200,000 people, and
    # counting them all on every page was most of the page's SQL. ``Page.total`` is then POOL_MAX_ROWS and
    # ``capped`` says there are more (the page says so).
    return select(func.count()).select_from(ids.order_by(None).limit(POOL_MAX_ROWS + 1).subquery())


def _rows_of(on_page):
    te = TalentEntry
    return (select(te.id, te.user_id, func.coalesce(TraineeProfile.real_name, User.display_name), Enterprise.name,
                   Region.name, te.highest_tier, te.status, te.stars)
            .join(on_page, on_page.c.id == te.id)
            .join(User, User.id == te.user_id)
            .outerjoin(TraineeProfile, TraineeProfile.user_id == te.user_id)
            .outerjoin(Enterprise, Enterprise.id == te.enterprise_id)
            .join(Region, Region.id == te.region_id)
            .order_by(te.region_id, te.id))


def _listed_page(n: int):
    return select(TalentEntry.id).where(TalentEntry.id.in_([bindparam(f"page_{i}", type_=Integer) for i in range(n)])).subquery()


def pool_page(session: Session, query, page: int, per_page: int = POOL_PAGE_SIZE):
    """One page of the entries of ``query`` (a ``PoolQuery``, or a select of ``pool_filter``) in two statements
    whatever the page size: the count, then the page's rows with the holder's name, the enterprise and the region
    joined in (the list used to load each row's user, profile — decrypting its ID number and phone —, enterprise
    and region one by one). Pages stop at ``POOL_MAX_ROWS`` rows down the list: a later page number shows the
    last page within it.

    A ``PoolQuery``'s statements are kept (issue 20, fifth round): built and compiled once per filter shape and
    scope (``visible``'s select as the scope rule made it for this request: its cache key and its values, so a
    bureau never runs another's statement), run with the request's values (``lms.rawsql``). Before, each page
    built its select anew and ran it through the ORM: ~2,200 Python calls of ~10,300."""
    if isinstance(query, PoolQuery):
        run = _KeptRun(session, query)
    else:
        run = _SelectRun(session, query)
    # Both statements select ids only from the filtered entries: the count reads the filter index alone, and
    # the rows skipped by OFFSET are not fetched; only the page's rows are.
    listed = None
    if run.one_read:  # a selective filter (``_pool_select``): ids read once
        listed = run.listed()
        total = len(listed)
    else:
        total = run.count()
    capped = total > POOL_MAX_ROWS
    total = min(total, POOL_MAX_ROWS)
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    if listed is not None:
        rows = run.rows_of(listed[(page - 1) * per_page:page * per_page])
    else:
        rows = run.rows_at(per_page, (page - 1) * per_page)
    items = [PoolRow(i, uid, name or "", ent, reg, tier, status, stars) for i, uid, name, ent, reg, tier, status, stars in rows]
    out = Page(items=items, page=page, per_page=per_page, total=total)
    out.capped = capped
    return out


class _SelectRun:
    """``pool_page``'s statements for a select, run through the session."""

    def __init__(self, session: Session, stmt):
        self.session, self.ids = session, stmt.with_only_columns(TalentEntry.id)
        self.one_read = bool(stmt.get_execution_options().get("pool_one_read"))

    def listed(self) -> list[int]:
        return list(self.session.scalars(self.ids.limit(POOL_MAX_ROWS + 1)))

    def count(self) -> int:
        return self.session.scalar(_count_of(self.ids)) or 0

    def rows_of(self, ids: list[int]):
        return self.session.execute(_rows_of(select(TalentEntry.id).where(TalentEntry.id.in_(ids)).subquery())).all()

    def rows_at(self, limit: int, offset: int):
        return self.session.execute(_rows_of(self.ids.limit(limit).offset(offset).subquery())).all()


class _KeptRun:
    """``pool_page``'s statements for a ``PoolQuery``, kept per shape and scope (``_kept``)."""

    def __init__(self, session: Session, query: PoolQuery):
        scope = query.scope._generate_cache_key()  # the scope rule's select: its form and its values
        self.session, self.query, self.values = session, query, query.values
        self.key = (query.shape, scope.key, tuple(p.effective_value for p in scope.bindparams))
        self.one_read = _one_read(query.shape, query.dialect)

    def _ids(self, dialect: str):
        return _pool_select(self.query.shape, self.query.scope, dialect).with_only_columns(TalentEntry.id)

    def _run(self, what: tuple, build, values: dict):
        return _kept(self.session, (what, self.key), build).run(self.session, values)

    def listed(self) -> list[int]:
        rows = self._run(("listed",), lambda d: self._ids(d).limit(POOL_MAX_ROWS + 1), self.values)
        return [r[0] for r in rows]

    def count(self) -> int:
        return self._run(("count",), lambda d: _count_of(self._ids(d)), self.values)[0][0] or 0

    def rows_of(self, ids: list[int]):
        if not ids:  # no entry: no statement (the select would find none)
            return []
        # The page's ids by primary key: the same for every shape and scope, kept per page size.
        kept = _kept(self.session, ("rows_of", len(ids)), lambda d: _rows_of(_listed_page(len(ids))))
        return kept.run(self.session, {f"page_{i}": v for i, v in enumerate(ids)})

    def rows_at(self, limit: int, offset: int):
        build = lambda d: _rows_of(self._ids(d).limit(bindparam("limit", type_=Integer))  # noqa: E731
                                   .offset(bindparam("offset", type_=Integer)).subquery())
        return self._run(("rows_at",), build, {**self.values, "limit": limit, "offset": offset})


def region_choices(session: Session, user: User) -> list[tuple[int, str]]:
    """The regions ``user`` may choose in the pool's filter, as (id, name) rows in the tree's order; the statement
    kept per scope (``visible``'s select, its form and values), as the pool's own (``pool_page``)."""
    scope = visible(Region, user)
    key = scope._generate_cache_key()
    kept = _kept(session, ("regions", key.key, tuple(p.effective_value for p in key.bindparams)),
                 lambda _d: scope.with_only_columns(Region.id, Region.name).order_by(Region.path))
    return kept.run(session, {})


def published_notices(today: dt.date):
    """The public notices published by ``today`` and not withdrawn, newest first (a select to page)."""
    return select(Notice).where(Notice.withdrawn.is_(False), Notice.published_on <= today).order_by(Notice.published_on.desc(), Notice.id.desc())


def published_notice(session: Session, notice_id: int, today: dt.date) -> Notice:
    """The notice ``notice_id`` if it is published by ``today`` and not withdrawn (what anyone may read: the public
    pages and the API); NotFound otherwise."""
    notice = session.scalar(published_notices(today).where(Notice.id == notice_id))
    if notice is None:
        raise NotFound(_("公示不存在"))
    return notice


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
