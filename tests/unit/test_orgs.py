import datetime as dt

import pytest
from sqlalchemy import func, select

from lms.demo import credit_code
from lms.domain import RegionLevel, Tier
from lms.errors import Forbidden, ValidationFailed
from lms.orgs import services, tiers
from lms.orgs.models import Institution, Region


def test_region_tree_paths(db, world):
    assert world.qidong.path == "320000/320600/320681/"
    assert world.qidong.level == RegionLevel.county
    assert world.nantong.contains(world.qidong) and not world.qidong.contains(world.nantong)
    again = services.ensure_region(db, "320681", "启东市", world.nantong)
    assert again.id == world.qidong.id  # idempotent


def test_region_code_and_parent_are_checked(db, world):
    with pytest.raises(ValidationFailed):
        services.ensure_region(db, "32068", "bad")
    with pytest.raises(ValidationFailed):
        services.ensure_region(db, "320683", "county without city", world.jiangsu)


@pytest.mark.parametrize("code, message", [("91320600MA1NT0001", "18 位"), ("91320600MA1NT00019", "校验位"),
                                          ("9132060OMA1NT0001X", "格式")])
def test_invalid_credit_code_is_rejected_and_nothing_stored(db, world, code, message):
    before = db.scalar(select(func.count()).select_from(Institution))
    with pytest.raises(ValidationFailed) as exc:
        services.save_institution(db, world.city_admin, services.InstitutionData(
            name="某培训机构", credit_code=code, region_id=world.nantong.id))
    assert message in exc.value.errors["credit_code"]
    assert db.scalar(select(func.count()).select_from(Institution)) == before


def test_regulator_manages_only_own_region(db, world):
    data = services.InstitutionData(name="福州培训中心", credit_code=credit_code("350100MA2XX0009"), region_id=world.fuzhou.id)
    with pytest.raises(Forbidden):
        services.save_institution(db, world.city_admin, data)
    inst = services.save_institution(db, world.fujian_admin, data)
    assert inst.region_id == world.fuzhou.id


def test_tier_authorisation_needs_a_bureau_of_that_level(db, world):
    inst = services.save_institution(db, world.county_admin, services.InstitutionData(
        name="启东培训点", credit_code=credit_code("320681MA1YY0001"), region_id=world.qidong.id))
    services.authorise(db, world.county_admin, inst, Tier.basic, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    with pytest.raises(Forbidden):
        services.authorise(db, world.county_admin, inst, Tier.advanced, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    services.authorise(db, world.city_admin, inst, Tier.advanced, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert set(inst.tiers_in_force(dt.date(2026, 6, 1))) == {Tier.basic, Tier.advanced}
    assert inst.tiers_in_force(dt.date(2027, 1, 1)) == []
    with pytest.raises(ValidationFailed):
        services.authorise(db, world.city_admin, inst, Tier.basic, dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def test_bureau_for_tier(db, world):
    assert tiers.bureau_for_tier(db, world.qidong, Tier.basic).region_id == world.qidong.id
    assert tiers.bureau_for_tier(db, world.qidong, Tier.advanced).region_id == world.nantong.id
    assert tiers.bureau_for_tier(db, world.qidong, Tier.senior).region_id == world.jiangsu.id


def test_enterprise_validation(db, world):
    with pytest.raises(ValidationFailed) as exc:
        services.save_enterprise(db, world.city_admin, services.EnterpriseData(
            name="", credit_code="123", region_id=None, industry="", ownership_type="nope", size_class="huge",
            above_designated_size=False))
    assert set(exc.value.errors) == {"name", "credit_code", "region_id", "ownership_type", "size_class"}
