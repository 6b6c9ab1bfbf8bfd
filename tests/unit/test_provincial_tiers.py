"""Issue 15: tier organisation per province as data — Jiangsu's example default (county / city / province),
Fujian's province-level set-up through entrusted institutions (seed 001 第九条), prerequisites from the data,
loops refused with the tiers named."""
import pytest

from courses import eligibility
from lms.domain import RegionLevel, Tier
from lms.errors import Forbidden, ValidationFailed
from lms.orgs import tiers
from lms.settingbasis import basis_of
from tests import courses_support as cs

ALL_PROVINCE = {"basic": ("province", ""), "advanced": ("province", "basic"), "senior": ("province", "advanced")}


def test_provincial_jiangsu_keeps_the_example_default(db, world):
    plan = tiers.plan(db, world.jiangsu.id)
    assert [(p.bureau_level, p.prerequisite, p.row) for p in plan] == [
        (RegionLevel.county, None, None), (RegionLevel.city, Tier.basic, None), (RegionLevel.province, Tier.advanced, None)]
    assert tiers.bureau_for_tier(db, world.qidong, Tier.basic).region_id == world.qidong.id
    assert tiers.bureau_for_tier(db, world.qidong, Tier.advanced).region_id == world.nantong.id


def test_provincial_fujian_runs_every_tier_at_province_level(db, world):
    tiers.save_plan(db, world.fujian_admin, world.fujian, ALL_PROVINCE, ("source", tiers.FUJIAN_SOURCE))
    for tier in Tier:
        assert tiers.bureau_for_tier(db, world.fuzhou, tier).region_id == world.fujian.id
    assert tiers.bureau_for_tier(db, world.qidong, Tier.basic).region_id == world.qidong.id  # Jiangsu untouched
    row = tiers.plan(db, world.fujian.id)[0].row
    assert basis_of(db, row, "bureau_level").source == tiers.FUJIAN_SOURCE


def test_provincial_prerequisite_follows_the_province(db, world):
    saved = list(eligibility._prerequisite_checkers)
    try:
        asked = []
        eligibility.register_prerequisite_checker(lambda s, u, tier, on: asked.append(tier) or True)
        plan = dict(ALL_PROVINCE, senior=("province", "basic"))  # Fujian: senior needs only the basic certificate
        tiers.save_plan(db, world.sysadmin, world.fujian, plan, ("province", ""))
        prog = cs.programme(db, world, tier=Tier.senior, province=world.fujian, rules=eligibility.FUJIAN_RULES)
        eligibility.check_prerequisite(db, world.trainee_fz, prog, prog.created_at.date())
        assert asked == [Tier.basic]
        tiers.save_plan(db, world.sysadmin, world.fujian, dict(plan, senior=("province", "")), ("province", ""))
        assert eligibility.check_prerequisite(db, world.trainee_fz, prog, prog.created_at.date()) is None
    finally:
        eligibility._prerequisite_checkers[:] = saved


@pytest.mark.parametrize("plan, field, fragment", [
    ({"basic": ("province", "senior"), "advanced": ("province", "basic"), "senior": ("province", "advanced")},
     "basic-prerequisite", "先修关系形成循环：基础 → 高级 → 提升 → 基础"),
    (dict(ALL_PROVINCE, advanced=("province", "advanced")), "advanced-prerequisite", "不能以自身为先修"),
    (dict(ALL_PROVINCE, senior=("ministry", "advanced")), "senior-level", "高级层级"),
    (dict(ALL_PROVINCE, basic=("county", "diploma")), "basic-prerequisite", "先修层级无效"),
])
def test_provincial_tier_plans_are_checked_before_anything_is_written(db, world, plan, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        tiers.save_plan(db, world.fujian_admin, world.fujian, plan, ("example", ""))
    assert fragment in exc.value.errors[field]
    assert all(p.row is None for p in tiers.plan(db, world.fujian.id))


def test_provincial_only_the_province_admin_sets_its_tiers(db, world):
    with pytest.raises(Forbidden):
        tiers.save_plan(db, world.province_admin, world.fujian, ALL_PROVINCE, ("example", ""))
    with pytest.raises(Forbidden):  # nor a city bureau of the province
        tiers.save_plan(db, world.city_admin, world.jiangsu, ALL_PROVINCE, ("example", ""))
