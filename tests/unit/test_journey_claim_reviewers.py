"""Issue 17: a credit claim goes to the trainee's own region's bureau, or to an institution of their own province;
a Jiangsu trainee cannot send it to a Fujian institution (journey 5, step 1)."""
import pytest

from credits import services
from credits.models import CreditClaim
from lms.errors import ValidationFailed
from lms.scoping import visible
from tests.unit.test_credits_claims import claim


def test_journey_claim_reviewers_are_the_own_region_and_province(db, world):
    mine = services.claim_reviewers(db, world.trainee)  # works in Qidong, Nantong, Jiangsu
    assert mine.bureau.region_id == world.qidong.id
    ids = {i.id for i in mine.institutions}
    assert world.inst_nt.id in ids and world.inst_fj.id not in ids
    theirs = services.claim_reviewers(db, world.trainee_fz)
    assert world.inst_fj.id in {i.id for i in theirs.institutions} and world.inst_nt.id not in {i.id for i in theirs.institutions}


def test_journey_claim_to_another_provinces_institution_refused(db, world, app):
    with pytest.raises(ValidationFailed) as exc:
        claim(world, app, db, institution_id=world.inst_fj.id)
    assert exc.value.errors["institution_id"] == "只能选择本省的培训机构审核；不选则由您所在地区的监管部门审核"
    ok = claim(world, app, db, institution_id=world.inst_nt.id)
    assert ok.institution_id == world.inst_nt.id


def test_journey_claim_without_institution_reaches_the_own_county_bureau(db, world, app):
    c = claim(world, app, db)
    assert db.scalar(visible(CreditClaim, world.county_admin).where(CreditClaim.id == c.id)) is not None
    assert db.scalar(visible(CreditClaim, world.fujian_admin).where(CreditClaim.id == c.id)) is None
