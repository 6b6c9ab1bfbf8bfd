"""Issue 15, point 1: who may authorise an institution for a tier follows the province's tier organisation,
not a mapping fixed in code. Fujian (seed 001 第九条: 省质监局……委托具备培训资格的培训机构) runs every tier at
province level, so a Fujian city bureau may not authorise even basic training; Jiangsu keeps the example
default (county / city / province, a bureau at or above the level may)."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from lms.domain import RegionLevel, Role, Tier
from lms.errors import Forbidden
from lms.orgs import services, tiers
from lms.orgs.models import InstitutionAuthorisation
from tests import factories

ALL_PROVINCE = {"basic": ("province", ""), "advanced": ("province", "basic"), "senior": ("province", "advanced")}
FROM, UNTIL = dt.date(2026, 1, 1), dt.date(2026, 12, 31)


def _count(db, inst) -> int:
    return db.scalar(select(func.count(InstitutionAuthorisation.id)).where(InstitutionAuthorisation.institution_id == inst.id))


def test_provincial_jiangsu_default_levels_authorise(db, world):
    inst = factories.make_institution(db, world.qidong, tiers=())
    assert [t for t in Tier if services.may_authorise(db, world.county_admin, inst, t)] == [Tier.basic]
    assert [t for t in Tier if services.may_authorise(db, world.city_admin, inst, t)] == [Tier.basic, Tier.advanced]
    assert [t for t in Tier if services.may_authorise(db, world.province_admin, inst, t)] == list(Tier)
    with pytest.raises(Forbidden) as exc:
        services.authorise(db, world.county_admin, inst, Tier.advanced, FROM, UNTIL)
    assert "提升培训须由市级监管部门授权" in str(exc.value)


def test_provincial_fujian_city_bureau_may_not_authorise_basic(db, world):
    fz_admin = factories.make_staff(db, "fz_admin", Role.regulator_admin, region=world.fuzhou)
    inst = factories.make_institution(db, world.fuzhou, tiers=())
    assert services.may_authorise(db, fz_admin, inst, Tier.basic)  # the example default: a city may grant basic
    tiers.save_plan(db, world.fujian_admin, world.fujian, ALL_PROVINCE, ("source", tiers.FUJIAN_SOURCE))
    assert services.level_for_tier(db, world.fuzhou, Tier.basic) == RegionLevel.province
    assert [t for t in Tier if services.may_authorise(db, fz_admin, inst, t)] == []
    with pytest.raises(Forbidden) as exc:
        services.authorise(db, fz_admin, inst, Tier.basic, FROM, UNTIL)
    assert "基础培训须由省级监管部门授权" in str(exc.value)
    assert _count(db, inst) == 0
    services.authorise(db, world.fujian_admin, inst, Tier.basic, FROM, UNTIL)
    assert inst.tiers_in_force(dt.date(2026, 6, 1)) == [Tier.basic]


def test_provincial_authorisation_reads_the_institutions_province(db, world):
    tiers.save_plan(db, world.fujian_admin, world.fujian, ALL_PROVINCE, ("province", ""))
    inst = factories.make_institution(db, world.qidong, tiers=())  # Jiangsu is untouched by Fujian's set-up
    services.authorise(db, world.county_admin, inst, Tier.basic, FROM, UNTIL)
    assert _count(db, inst) == 1
