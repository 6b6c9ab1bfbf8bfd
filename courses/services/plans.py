"""Issue 15: programmes per region and industry, a province's plan settings, and the city bureaus' yearly
training plans (seed 003, 《对南通市首席质量官制度学习考察的调研报告》: "南通市市场监管局每年制定全市首席质量官培育的
目标计划，分区县市督导落实" and "市局要制定年度培训计划，编制年度培训大纲，采取集中培训和分行业培训相结合的形式，每年组织
培训班两期以上"), with plan-vs-done per county."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Mapping

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.models import (Enrollment, EnrollmentStatus, PlanGoal, PlanLine, PlanStatus, Programme,
                            ProvincePlanSetting, TrainingClass, TrainingPlan)
from lms import audit
from lms.db import utcnow
from lms.domain import RegionLevel, Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from lms.settingbasis import Basis, BasisKind, basis_of, set_basis

SEED_003 = "《对南通市首席质量官制度学习考察的调研报告》（汉中市人民政府研究室，2020）"
# The defaults' bases: the seed's words. A province that changes a value records its own basis (本省自定 or its
# document).
DEFAULT_BASES = {
    "min_plan_classes": Basis(BasisKind.source, SEED_003 + "四（四）：每年组织培训班两期以上"),
    "city_programmes": Basis(BasisKind.source, SEED_003 + "二（二）：县局“基础”培训、市局“提升”培训、省局“高级”培训"),
}
DEFAULTS = {"min_plan_classes": 2, "city_programmes": False}


# ------------------------------------------------------------------ the province's settings
def plan_settings(session: Session, province_id: int) -> ProvincePlanSetting:
    """The province's plan settings: its row, or the defaults (not added to the session)."""
    row = session.scalar(select(ProvincePlanSetting).where(ProvincePlanSetting.province_id == province_id))
    return row or ProvincePlanSetting(province_id=province_id, **DEFAULTS)


def setting_basis(session: Session, settings: ProvincePlanSetting, name: str) -> Basis:
    """The basis of one plan setting: the recorded one, or the seed's for a province that kept the default
    (registered as the setting's default basis in ``courses.wiring``)."""
    return basis_of(session, settings, name)


def save_plan_settings(session: Session, actor, province: Region, city_programmes: bool, min_plan_classes: int | None,
                       basis_kind: str = "province", basis_source: str = "") -> ProvincePlanSetting:
    """The province's admin sets whether cities hold programmes and the fewest classes a plan lists."""
    if not (actor.role == Role.system_admin or (actor.role == Role.regulator_admin and actor.region_id == province.id
                                               and province.level == RegionLevel.province)):
        raise Forbidden(_("只有本省省级监管部门可以修改培训计划设置"))
    if min_plan_classes is None or not 1 <= min_plan_classes <= 50:
        raise ValidationFailed({"min_plan_classes": _("每年最少培训班期数须在 1 到 50 之间")})
    if basis_kind not in BasisKind.__members__:
        raise ValidationFailed({"basis_kind": _("请选择数值的依据：依据文件、本省自定或示例")})
    if basis_kind == "source" and not (basis_source or "").strip():
        raise ValidationFailed({"basis_source": _("选择“依据”时须填写文件名称及条款")})
    row = plan_settings(session, province.id)
    if row.id is None:
        session.add(row)
    row.city_programmes, row.min_plan_classes = bool(city_programmes), min_plan_classes
    session.flush()
    for name in DEFAULTS:
        set_basis(session, row, name, basis_kind, basis_source)
    audit.record(session, actor, "plan_settings.save", row, min_plan_classes=min_plan_classes)
    return row


# ------------------------------------------------------------------ programmes per region and industry
def programme_applies(programme: Programme, region: Region, industry: str | None) -> bool:
    """Does the programme apply to a class held in ``region`` for ``industry`` ("" or None: no industry line)?
    The province's programmes apply everywhere in it, a city's in that city; an industry programme only to that
    industry's line."""
    if not region.path.startswith(programme.province.path):
        return False
    if programme.city_id is not None and not region.path.startswith(programme.city.path):
        return False
    return not programme.industry or programme.industry == (industry or "")


def programmes_for(session: Session, region: Region, industry: str | None, tiers=None) -> list[Programme]:
    """The programmes a class in ``region`` (for ``industry``) may follow, newest year first."""
    province = province_of(session, region)
    stmt = select(Programme).where(Programme.province_id == province.id)
    if tiers is not None:
        stmt = stmt.where(Programme.tier.in_(list(tiers) or [None]))
    progs = session.scalars(stmt.order_by(Programme.year.desc(), Programme.tier, Programme.id))
    return [p for p in progs if programme_applies(p, region, industry)]


def programmes_offered(session: Session, inst_region: Region, tiers) -> list[Programme]:
    """The programmes an institution in ``inst_region`` may open classes of (its tiers): the province's, and the
    cities' programmes for a city it holds classes in; which one applies to a class's region and industry line
    is checked when the class is saved (``programme_applies``)."""
    province = province_of(session, inst_region)
    progs = session.scalars(select(Programme).where(Programme.province_id == province.id,
                                                    Programme.tier.in_(list(tiers) or [None]))
                            .order_by(Programme.year.desc(), Programme.tier, Programme.id))
    return [p for p in progs if p.city_id is None or p.city.path.startswith(inst_region.path)
            or inst_region.path.startswith(p.city.path)]


def programme_label(programme: Programme) -> str:
    """A programme in a list: year, name, and its city and industry when it has them."""
    where = "".join(f"（{x}）" for x in (programme.city.name if programme.city else "", programme.industry or "") if x)
    return f"{programme.year} {programme.name}{where}"


def programme_scope_errors(session: Session, actor, province: Region | None, city_id: int | None,
                           industry: str | None) -> dict[str, str]:
    """The programme's region and industry checked: a city of its province, allowed by the province setting; a
    city's admin may save only its own city's programme."""
    errors: dict[str, str] = {}
    if industry is not None and len(industry) > 64:
        errors["industry"] = _("行业不能超过 64 个字")
    if city_id is None or province is None:
        if actor.role == Role.regulator_admin and actor.region.level == RegionLevel.city:
            errors["city_id"] = _("市级监管部门只能制定本市的培训方案")
        return errors
    city = session.get(Region, city_id)
    if city is None or city.level != RegionLevel.city or city.parent_id != province.id:
        errors["city_id"] = _("请选择本省的一个市")
    elif not plan_settings(session, province.id).city_programmes:
        errors["city_id"] = _("%(p)s未允许各市制定自己的培训方案（见培训计划设置）", p=province.name)
    elif actor.role == Role.regulator_admin and actor.region.level == RegionLevel.city and actor.region_id != city.id:
        errors["city_id"] = _("市级监管部门只能制定本市的培训方案")
    return errors


# ------------------------------------------------------------------ plans
@dataclass
class LineData:
    industry: str = ""  # "": centralised
    county_id: int | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    place: str = ""
    classes: int | None = None


@dataclass
class GoalData:
    county_id: int | None = None
    people: int | None = None
    enterprises: int | None = None


@dataclass
class PlanData:
    city_id: int
    year: int | None
    syllabus: str
    lines: list[LineData] = field(default_factory=list)
    goals: list[GoalData] = field(default_factory=list)


def _require_city_bureau(actor, city: Region | None) -> None:
    if city is None or actor.role != Role.regulator_admin or actor.region_id != city.id or city.level != RegionLevel.city:
        raise Forbidden(_("只有本市市级监管部门可以制定和发布本市的培训计划"))


def _line_errors(i: int, line: LineData, year: int | None, counties: set[int]) -> dict[str, str]:
    where = _("第 %(n)d 行培训班", n=i + 1)
    errors = {}
    if len(line.industry or "") > 64:
        errors[f"lines-{i}-industry"] = _("%(w)s：行业不能超过 64 个字", w=where)
    if line.county_id is not None and line.county_id not in counties:
        errors[f"lines-{i}-county_id"] = _("%(w)s：区县须为本市的区县", w=where)
    if line.starts_on is None or line.ends_on is None:
        errors[f"lines-{i}-starts_on"] = _("%(w)s：请填写预计开始和结束日期", w=where)
    elif year and (line.starts_on.year != year or line.ends_on.year != year):
        errors[f"lines-{i}-starts_on"] = _("%(w)s：日期须在 %(y)d 年之内", w=where, y=year)
    elif line.ends_on < line.starts_on:
        errors[f"lines-{i}-ends_on"] = _("%(w)s：结束日期不能早于开始日期", w=where)
    if not (line.place or "").strip():
        errors[f"lines-{i}-place"] = _("%(w)s：请填写培训地点", w=where)
    elif len(line.place) > 255:
        errors[f"lines-{i}-place"] = _("%(w)s：培训地点不能超过 255 个字", w=where)
    if line.classes is None or not 1 <= line.classes <= 50:
        errors[f"lines-{i}-classes"] = _("%(w)s：期数须在 1 到 50 之间", w=where)
    return errors


def _goal_errors(i: int, goal: GoalData, counties: dict[int, Region], seen: set[int]) -> dict[str, str]:
    where = _("第 %(n)d 行目标", n=i + 1)
    errors = {}
    if goal.county_id not in counties:
        errors[f"goals-{i}-county_id"] = _("%(w)s：区县须为本市的区县", w=where)
    elif goal.county_id in seen:
        errors[f"goals-{i}-county_id"] = _("%(w)s：%(c)s重复", w=where, c=counties[goal.county_id].name)
    seen.add(goal.county_id)
    if goal.people is None or not 0 <= goal.people <= 100000:
        errors[f"goals-{i}-people"] = _("%(w)s：培训人数目标须在 0 到 100000 之间", w=where)
    if goal.enterprises is None or not 0 <= goal.enterprises <= 100000:
        errors[f"goals-{i}-enterprises"] = _("%(w)s：覆盖企业目标须在 0 到 100000 之间", w=where)
    return errors


def check_plan(session: Session, city: Region, data: PlanData) -> dict[str, str]:
    """Every problem of a plan, keyed by where it is (``lines-<i>-<field>``, ``goals-<i>-<field>``): no lines,
    fewer classes than the province's minimum, goals for a county outside the city, dates outside the year."""
    errors: dict[str, str] = {}
    if data.year is None or not 2000 <= data.year <= 2100:
        errors["year"] = _("年度须在 2000 到 2100 之间")
    if not (data.syllabus or "").strip():
        errors["syllabus"] = _("请填写年度培训大纲")
    elif len(data.syllabus) > 20000:
        errors["syllabus"] = _("培训大纲不能超过 20000 字")
    counties = {r.id: r for r in session.scalars(select(Region).where(Region.parent_id == city.id))}
    if not data.lines:
        errors["lines"] = _("计划须至少有一行培训班安排")
    if len(data.lines) > 100 or len(data.goals) > 200:
        errors["lines"] = _("计划行数过多")
        return errors
    for i, line in enumerate(data.lines):
        errors.update(_line_errors(i, line, data.year, set(counties)))
    minimum = plan_settings(session, province_of(session, city).id).min_plan_classes
    planned = sum(line.classes or 0 for line in data.lines)
    if data.lines and planned < minimum:
        errors["lines"] = _("计划共 %(n)d 期培训班，少于本省规定的每年至少 %(m)d 期", n=planned, m=minimum)
    seen: set[int] = set()
    for i, goal in enumerate(data.goals):
        errors.update(_goal_errors(i, goal, counties, seen))
    return errors


def save_plan(session: Session, actor, data: PlanData, plan: TrainingPlan | None = None) -> TrainingPlan:
    """The city bureau saves its yearly plan as a draft (all checked first; nothing saved on a problem)."""
    city = session.get(Region, data.city_id)
    _require_city_bureau(actor, city)
    if plan is not None and (plan.city_id != city.id):
        raise Forbidden(_("只有本市市级监管部门可以制定和发布本市的培训计划"))
    if plan is not None and plan.status == PlanStatus.published:
        raise Conflict(_("该计划已发布，不能再修改"))
    errors = check_plan(session, city, data)
    if not errors:
        clash = session.scalar(select(TrainingPlan.id).where(TrainingPlan.city_id == city.id,
                                                             TrainingPlan.year == data.year))
        if clash and (plan is None or clash != plan.id):
            errors["year"] = _("%(c)s %(y)d 年度已有培训计划", c=city.name, y=data.year)
    if errors:
        raise ValidationFailed(errors)
    if plan is None:
        plan = TrainingPlan(city_id=city.id, status=PlanStatus.draft)
        session.add(plan)
    plan.year, plan.syllabus = data.year, data.syllabus.strip()
    plan.lines = [PlanLine(position=i + 1, industry=(ln.industry or "").strip(), county_id=ln.county_id,
                           starts_on=ln.starts_on, ends_on=ln.ends_on, place=ln.place.strip(), classes=ln.classes)
                  for i, ln in enumerate(data.lines)]
    plan.goals = [PlanGoal(county_id=g.county_id, people=g.people, enterprises=g.enterprises) for g in data.goals]
    session.flush()
    audit.record(session, actor, "training_plan.save", plan, year=plan.year, lines=len(plan.lines))
    return plan


def plan_data(plan: TrainingPlan) -> PlanData:
    """A stored plan as the data ``check_plan`` reads."""
    return PlanData(city_id=plan.city_id, year=plan.year, syllabus=plan.syllabus,
                    lines=[LineData(ln.industry, ln.county_id, ln.starts_on, ln.ends_on, ln.place, ln.classes)
                           for ln in plan.lines],
                    goals=[GoalData(g.county_id, g.people, g.enterprises) for g in plan.goals])


def publish_plan(session: Session, actor, plan: TrainingPlan) -> TrainingPlan:
    """Publish a draft plan (checked again against the province's minimum as it is now)."""
    _require_city_bureau(actor, plan.city)
    if plan.status == PlanStatus.published:
        raise Conflict(_("该计划已发布"))
    errors = check_plan(session, plan.city, plan_data(plan))
    if errors:
        raise ValidationFailed(errors)
    plan.status, plan.published_at = PlanStatus.published, utcnow()
    session.flush()
    audit.record(session, actor, "training_plan.publish", plan, year=plan.year)
    return plan


def open_lines(session: Session, region: Region, year: int | None = None) -> list[PlanLine]:
    """The lines of the published plan of the city ``region`` is in (or is), for classes to be opened against."""
    city = _city_of(session, region)
    if city is None:
        return []
    stmt = select(PlanLine).join(TrainingPlan).where(TrainingPlan.city_id == city.id,
                                                     TrainingPlan.status == PlanStatus.published)
    if year is not None:
        stmt = stmt.where(TrainingPlan.year == year)
    return list(session.scalars(stmt.order_by(TrainingPlan.year.desc(), PlanLine.position)))


def _city_of(session: Session, region: Region) -> Region | None:
    node = region
    while node is not None and node.level not in (RegionLevel.city, RegionLevel.province):
        node = node.parent
    return node if node is not None and node.level == RegionLevel.city else None


def line_label(line: PlanLine) -> str:
    """How a plan line reads in a list: year, number, kind, dates, place."""
    kind = _("%(i)s行业培训", i=line.industry) if line.industry else _("集中培训")
    return _("%(y)d 年计划第 %(n)d 行：%(k)s，%(a)s 至 %(b)s，%(p)s，%(c)d 期", y=line.plan.year, n=line.position, k=kind,
             a=line.starts_on.isoformat(), b=line.ends_on.isoformat(), p=line.place, c=line.classes)


# ------------------------------------------------------------------ plan vs done
@dataclass
class CountyProgress:
    county: Region | None  # None: the city-wide lines (classes planned for no one county)
    trained: int
    people_goal: int | None
    enterprises: int
    enterprises_goal: int | None
    held: int
    planned: int


def _figures(session: Session, where, year: int, today: dt.date) -> tuple[int, int, int]:
    """(people trained, enterprises covered, classes held) by the classes of ``year`` matching ``where`` that
    have ended: approved trainees counted once, enterprises from their profiles."""
    held = (select(TrainingClass.id).join(Region, Region.id == TrainingClass.region_id)
            .where(where, TrainingClass.end_date < today,
                   TrainingClass.start_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31))))
    # One statement from the enrolments to their profiles (on the profile's unique user_id): the enterprises were
    # an IN over every profile, a scan of the province's 200,000 on PostgreSQL for each county (issue 20).
    trained, ents = session.execute(
        select(func.count(func.distinct(Enrollment.user_id)), func.count(func.distinct(TraineeProfile.enterprise_id)))
        .select_from(Enrollment).outerjoin(TraineeProfile, TraineeProfile.user_id == Enrollment.user_id)
        .where(Enrollment.class_id.in_(held.scalar_subquery()), Enrollment.status == EnrollmentStatus.approved)).one()
    n_held = session.scalar(select(func.count()).select_from(held.subquery()))
    return trained or 0, ents or 0, n_held or 0


def done_in_county(session: Session, county: Region, year: int, today: dt.date) -> tuple[int, int, int]:
    """(people trained, enterprises covered, classes held) by the classes of ``year`` held in ``county`` or
    below that have ended by ``today``: a county's row of plan vs done."""
    return _figures(session, Region.path.startswith(county.path), year, today)


def done_at_city_level(session: Session, city_id: int, year: int, today: dt.date) -> tuple[int, int, int]:
    """The same for the classes held at the city's own level: the row of the city-wide lines."""
    return _figures(session, Region.id == city_id, year, today)


def plan_vs_done(session: Session, plan: TrainingPlan, today: dt.date,
                 kept: Mapping[int | None, tuple[int, int, int]] | None = None) -> list[CountyProgress]:
    """Per county of the plan's city with a goal or planned classes: people trained, enterprises covered and
    classes held (classes of the plan's year held in the county, ended by ``today``) against its goals and
    planned classes; then a row for the city-wide lines (classes held at city level). ``kept``: those figures
    as a later feature keeps them (by county id; None: the city-wide row), used where present (issue 20: the
    dashboard reads what its job keeps instead of a pass over the enrolments per county)."""
    kept = kept or {}
    goals = {g.county_id: g for g in plan.goals}
    planned: dict[int | None, int] = {}
    for line in plan.lines:
        planned[line.county_id] = planned.get(line.county_id, 0) + line.classes
    rows = []
    for county in session.scalars(select(Region).where(Region.parent_id == plan.city_id).order_by(Region.code)):
        if county.id not in goals and county.id not in planned:
            continue
        trained, ents, held = kept.get(county.id) or done_in_county(session, county, plan.year, today)
        goal = goals.get(county.id)
        rows.append(CountyProgress(county, trained, goal.people if goal else None, ents,
                                   goal.enterprises if goal else None, held, planned.get(county.id, 0)))
    if planned.get(None):
        trained, ents, held = kept.get(None) or done_at_city_level(session, plan.city_id, plan.year, today)
        rows.append(CountyProgress(None, trained, None, ents, None, held, planned[None]))
    return rows
