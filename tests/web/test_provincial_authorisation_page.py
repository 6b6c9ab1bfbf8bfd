"""Issue 15, point 1 on the page: the institution page offers only the tiers the admin's bureau may authorise
under the province's tier organisation, shows each tier's authorising level with its basis, and a Fujian city
bureau's post for basic training changes nothing."""
from sqlalchemy import func, select

from lms.domain import Role
from lms.orgs import tiers
from lms.orgs.models import InstitutionAuthorisation
from tests import factories
from tests.conftest import post_form

ALL_PROVINCE = {"basic": ("province", ""), "advanced": ("province", "basic"), "senior": ("province", "advanced")}


def test_provincial_fujian_city_bureau_is_offered_no_tier(client, db, login_as, world):
    factories.make_staff(db, "fz_admin", Role.regulator_admin, region=world.fuzhou)
    inst = factories.make_institution(db, world.fuzhou, tiers=())
    tiers.save_plan(db, world.fujian_admin, world.fujian, ALL_PROVINCE, ("source", tiers.FUJIAN_SOURCE))
    db.flush()
    login_as("fz_admin")
    url = f"/manage/institutions/{inst.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'id="authorise-form"' not in html and 'id="authorise-none"' in html
    assert f"〔依据：{tiers.FUJIAN_SOURCE}〕" in html and "〔示例〕" not in html
    resp = post_form(client, url, {"tier": "basic", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
                     token_from="/manage/institutions")
    assert resp.status_code in (200, 403)
    assert db.scalar(select(func.count(InstitutionAuthorisation.id)).where(InstitutionAuthorisation.institution_id == inst.id)) == 0


def test_provincial_jiangsu_city_bureau_is_offered_its_levels(client, db, login_as, world):
    inst = factories.make_institution(db, world.qidong, tiers=())
    db.flush()
    login_as(world.city_admin.username)
    html = client.get(f"/manage/institutions/{inst.id}").get_data(as_text=True)
    form = html[html.index('id="authorise-form"'):]
    assert 'value="basic"' in form and 'value="advanced"' in form and 'value="senior"' not in form
    assert html.count("〔示例〕") >= 3  # Jiangsu stored no tier organisation: every level is an example
