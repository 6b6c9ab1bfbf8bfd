"""Issue 15: the tier-organisation page — Fujian's admin sets every tier at province level with its document;
a loop is refused naming the tiers; nothing is written."""
from sqlalchemy import func, select

from lms.orgs import tiers
from lms.orgs.models import TierOrganisation
from tests.conftest import post_form


def _form(levels=("province",) * 3, pres=("", "basic", "advanced"), **extra):
    data = {}
    for t, level, pre in zip(("basic", "advanced", "senior"), levels, pres):
        data[f"{t}-level"], data[f"{t}-prerequisite"] = level, pre
    return data | extra


def test_provincial_fujian_admin_sets_its_tiers(client, db, login_as, world):
    login_as("fj_admin")
    html = client.get("/manage/tiers").get_data(as_text=True)
    assert "福建省" in html and "〔示例〕" in html  # nothing set yet: the default is an example
    resp = post_form(client, "/manage/tiers", _form(basis_kind="source", basis_source=tiers.FUJIAN_SOURCE))
    assert resp.status_code == 302
    assert [p.bureau_level.value for p in tiers.plan(db, world.fujian.id)] == ["province"] * 3
    html = client.get("/manage/tiers").get_data(as_text=True)
    assert f"〔依据：{tiers.FUJIAN_SOURCE}〕" in html and "〔示例〕" not in html


def test_provincial_tier_loop_is_refused_on_the_page(client, db, login_as, world):
    login_as("fj_admin")
    resp = post_form(client, "/manage/tiers", _form(pres=("senior", "basic", "advanced"), basis_kind="province"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "先修关系形成循环：基础 → 高级 → 提升 → 基础" in html
    assert db.scalar(select(func.count(TierOrganisation.id)).where(TierOrganisation.province_id == world.fujian.id)) == 0


def test_provincial_city_admin_reads_but_cannot_set(client, db, login_as, world):
    login_as(world.city_admin.username)
    html = client.get("/manage/tiers").get_data(as_text=True)
    assert "江苏省" in html and 'id="tiers-submit"' not in html
    assert post_form(client, "/manage/tiers", _form(basis_kind="example"), token_from="/manage/tiers").status_code == 403
