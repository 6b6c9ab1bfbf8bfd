"""Tier organisation per province (issue 15): which level of bureau runs, files and certifies each tier,
and which tier is a prerequisite of which, as data instead of a mapping fixed in code.

A province without rows uses the example default: county for basic, city for advanced, province for senior,
each tier requiring the one below (示例: no seed fixes it). Fujian's set-up comes from seed 001 第九条:
"省质监局统一规划首席质量官教育培训工作,委托具备培训资格的培训机构开展首席质量官的培训" — the province runs
every tier through entrusted institutions."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.domain import RegionLevel, Role, Tier
from lms.errors import Forbidden, ValidationFailed
from lms.orgs.models import Region, Regulator, TierOrganisation
from lms.orgs.services import province_of, regulator_of
from lms.settingbasis import set_basis

DEFAULT_LEVEL = {Tier.basic: RegionLevel.county, Tier.advanced: RegionLevel.city, Tier.senior: RegionLevel.province}
FUJIAN_SOURCE = "闽质监质〔2014〕286号 第九条"


def _default_prerequisite(tier: Tier) -> Tier | None:
    order = list(Tier)
    i = order.index(tier)
    return order[i - 1] if i > 0 else None


@dataclass(frozen=True)
class TierPlan:
    """How one tier is organised in a province; ``row`` is None for the example default."""

    tier: Tier
    bureau_level: RegionLevel
    prerequisite: Tier | None
    row: TierOrganisation | None


def plan(session: Session, province_id: int) -> list[TierPlan]:
    """Every tier of the province in order: its bureau level and prerequisite, stored or the default."""
    rows = {r.tier: r for r in session.scalars(select(TierOrganisation).where(TierOrganisation.province_id == province_id))}
    return [TierPlan(t, rows[t].bureau_level, rows[t].prerequisite, rows[t]) if t in rows
            else TierPlan(t, DEFAULT_LEVEL[t], _default_prerequisite(t), None) for t in Tier]


def level_for_tier(session: Session, region: Region, tier: Tier) -> RegionLevel:
    """The level of bureau that runs, files and certifies ``tier`` for something in ``region``."""
    province = province_of(session, region)
    row = session.scalar(select(TierOrganisation).where(TierOrganisation.province_id == province.id,
                                                        TierOrganisation.tier == tier)) if province else None
    return row.bureau_level if row else DEFAULT_LEVEL[tier]


def bureau_for_tier(session: Session, region: Region, tier: Tier) -> Regulator | None:
    """The bureau that supervises ``tier`` for something in ``region``: the level the province set for the
    tier (Jiangsu's example county/city/province, Fujian's province for every tier). Walks up from
    ``region`` to that level."""
    wanted = level_for_tier(session, region, tier)
    node: Region | None = region
    while node is not None and node.level.rank > wanted.rank:
        node = node.parent
    if node is None or node.level != wanted:
        # A city institution delivering basic training: the city bureau supervises it.
        node = region
    return regulator_of(session, node)


def prerequisite_of(session: Session, province_id: int, tier: Tier) -> Tier | None:
    """The tier that must be held (in force) before ``tier`` in this province, or None."""
    row = session.scalar(select(TierOrganisation).where(TierOrganisation.province_id == province_id,
                                                        TierOrganisation.tier == tier))
    return row.prerequisite if row else _default_prerequisite(tier)


def _check(entries: dict[Tier, tuple[RegionLevel, Tier | None]]) -> None:
    """Refuse a prerequisite of itself or a loop, naming the tiers in the loop."""
    for tier, (_level, pre) in entries.items():
        if pre == tier:
            raise ValidationFailed({f"{tier.value}-prerequisite": _("%(t)s层级不能以自身为先修", t=tier.label)})
    for start in entries:
        seen, node = [start], entries[start][1]
        while node is not None:
            if node in seen:
                loop = seen[seen.index(node):] + [node]
                raise ValidationFailed({f"{start.value}-prerequisite": _(
                    "先修关系形成循环：%(loop)s", loop=" → ".join(t.label for t in loop))})
            seen.append(node)
            node = entries[node][1]


def check_plan(raw: dict[str, tuple[str, str]]) -> dict[Tier, tuple[RegionLevel, Tier | None]]:
    """Read a plan given as {tier: (bureau level, prerequisite tier or "")}: every field checked, a loop
    refused naming its tiers; ValidationFailed on ``<tier>-level`` / ``<tier>-prerequisite``."""
    entries: dict[Tier, tuple[RegionLevel, Tier | None]] = {}
    for tier in Tier:
        level, pre = raw.get(tier.value, ("", ""))
        if level not in RegionLevel.__members__:
            raise ValidationFailed({f"{tier.value}-level": _("%(t)s层级：请选择负责的监管部门层级", t=tier.label)})
        if pre and pre not in Tier.__members__:
            raise ValidationFailed({f"{tier.value}-prerequisite": _("%(t)s层级：先修层级无效", t=tier.label)})
        entries[tier] = (RegionLevel(level), Tier(pre) if pre else None)
    _check(entries)
    return entries


def may_edit(actor: User, province: Region) -> bool:
    """Only the province's own province-level admin (or a system admin) sets how its tiers are organised."""
    return actor.role == Role.system_admin or (actor.role == Role.regulator_admin and actor.region_id == province.id
                                               and actor.region.level == RegionLevel.province)


def save_plan(session: Session, actor: User, province: Region, raw: dict[str, tuple[str, str]],
              basis: tuple[str, str]) -> list[TierPlan]:
    """Store how a province organises its tiers: ``raw`` maps each tier to (bureau level, prerequisite tier
    or ""); every field is checked and a loop refused before anything is written."""
    if not may_edit(actor, province):
        raise Forbidden(_("只有本省省级监管部门可以设置培训层级的组织方式"))
    entries = check_plan(raw)
    rows = {r.tier: r for r in session.scalars(select(TierOrganisation).where(TierOrganisation.province_id == province.id))}
    for tier, (level, pre) in entries.items():
        row = rows.get(tier) or TierOrganisation(province_id=province.id, tier=tier)
        row.bureau_level, row.prerequisite = level, pre
        session.add(row)
    session.flush()
    for row in session.scalars(select(TierOrganisation).where(TierOrganisation.province_id == province.id)):
        set_basis(session, row, "bureau_level", basis[0], basis[1])
    audit.record(session, actor, "tier_organisation.save", province)
    return plan(session, province.id)
