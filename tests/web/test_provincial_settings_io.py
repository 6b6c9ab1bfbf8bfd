"""Issue 15: a province's settings as one JSON file — exported with their basis, read back field by field
(a Chinese message naming each bad field), the changes shown before applying, then applied."""
import copy
import io
import json

import pytest
from sqlalchemy import func, select

from courses import eligibility, rule_library, services, settings_transfer
from courses.models import EligibilityRuleSet
from lms.errors import ValidationFailed
from lms.orgs import tiers
from lms.settingbasis import basis_of
from tests.conftest import post_form

ALL_PROVINCE = {"basic": ("province", ""), "advanced": ("province", "basic"), "senior": ("province", "advanced")}


def _fujian_file(db, world) -> dict:
    tiers.save_plan(db, world.fujian_admin, world.fujian, ALL_PROVINCE, ("source", tiers.FUJIAN_SOURCE))
    services.save_rule_set(db, world.fujian_admin, world.fujian, "福建省报名条件", eligibility.FUJIAN_RULES,
                           basis=("source", rule_library.template("seed001").source))
    return settings_transfer.export_settings(db, world.fujian)


def test_provincial_export_reads_back_and_copies_to_another_province(db, world):
    doc = _fujian_file(db, world)
    assert doc["tiers_basis"] == {"kind": "source", "source": tiers.FUJIAN_SOURCE}
    assert doc["rule_sets"][0]["basis"]["source"].startswith("闽质监质")
    parsed = settings_transfer.check_settings(settings_transfer.read_file(json.dumps(doc).encode()))
    lines = settings_transfer.changes(db, world.jiangsu, parsed)
    assert "基础层级：负责的监管部门 县(区) → 省" in lines and "新增报名条件“福建省报名条件”" in lines
    assert settings_transfer.changes(db, world.fujian, parsed) == []  # the same set-up: nothing to change
    settings_transfer.apply_settings(db, world.province_admin, world.jiangsu, parsed)
    assert [p.bureau_level.value for p in tiers.plan(db, world.jiangsu.id)] == ["province"] * 3
    copied = db.scalar(select(EligibilityRuleSet).where(EligibilityRuleSet.province_id == world.jiangsu.id,
                                                       EligibilityRuleSet.name == "福建省报名条件"))
    assert copied.rules == eligibility.FUJIAN_RULES and basis_of(db, copied, "rules").source.startswith("闽质监质")


def _broken(doc):
    bad = copy.deepcopy(doc)
    bad["tiers"][1]["bureau_level"] = "ministry"
    bad["tiers_basis"] = {"kind": "law"}
    bad["rule_sets"][0]["rules"][0]["conditions"][0] = {"type": "salary_min", "value": 1}
    bad["rule_sets"][0]["basis"] = {"kind": "source", "source": ""}
    return bad


def test_provincial_import_names_every_bad_field(db, world):
    doc = _fujian_file(db, world)
    with pytest.raises(ValidationFailed) as exc:
        settings_transfer.check_settings(_broken(doc))
    errors = exc.value.errors
    assert set(errors) == {"tiers[2].bureau_level", "tiers_basis.kind", "rule_sets[1].rules", "rule_sets[1].basis.source"}
    assert "第 1 组条件1：未知的条件类型“salary_min”" in errors["rule_sets[1].rules"]
    loop = copy.deepcopy(doc)
    loop["tiers"][0]["prerequisite"] = "senior"
    with pytest.raises(ValidationFailed) as exc:
        settings_transfer.check_settings(loop)
    assert "先修关系形成循环" in exc.value.errors["tiers.basic-prerequisite"]
    for raw, fragment in ((b"{oops", "第 1 行"), (b'{"format": "x"}', "format"), ("\ufeff[]".encode("gbk", "ignore") + b"\xff", "UTF-8")):
        with pytest.raises(ValidationFailed) as exc:
            settings_transfer.read_file(raw)
        assert fragment in exc.value.errors["file"]


def test_provincial_import_page_previews_then_applies(client, db, login_as, world):
    doc = _fujian_file(db, world)
    db.flush()
    login_as(world.province_admin.username)
    before = db.scalar(select(func.count(EligibilityRuleSet.id)))
    upload = {"file": (io.BytesIO(json.dumps(_broken(doc)).encode()), "bad.json")}
    html = post_form(client, "/courses/settings", upload, content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-field="tiers[2].bureau_level"' in html and "salary_min" in html and 'id="import-apply"' not in html
    upload = {"file": (io.BytesIO(json.dumps(doc).encode()), "fujian.json")}
    html = post_form(client, "/courses/settings", upload, content_type="multipart/form-data").get_data(as_text=True)
    assert "基础层级：负责的监管部门 县(区) → 省" in html and 'id="import-apply"' in html
    assert tiers.plan(db, world.jiangsu.id)[0].row is None  # previewed, not applied
    assert db.scalar(select(func.count(EligibilityRuleSet.id))) == before
    resp = post_form(client, "/courses/settings", {"payload": json.dumps(doc), "confirm": "1"})
    assert resp.status_code == 302
    assert [p.bureau_level.value for p in tiers.plan(db, world.jiangsu.id)] == ["province"] * 3
    exported = json.loads(client.get("/courses/settings/export").get_data(as_text=True))
    assert exported["province"] == world.jiangsu.code and exported["tiers"][0]["bureau_level"] == "province"
