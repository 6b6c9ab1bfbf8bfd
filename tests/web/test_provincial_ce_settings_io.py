"""Issue 15: the CE rule (hours, report and its due month, change-registration period, pass condition, first
year) travels in the province settings file with its basis — exported, checked field by field with the place
named, its changes listed before applying, then saved; a file without the section leaves the rule alone."""
import copy
import io
import json

import pytest

from courses import settings_transfer
from credits import queries, services
from lms.errors import ValidationFailed
from lms.settingbasis import basis_of
from tests.conftest import post_form

SOURCE = "闽质监质〔2099〕9号 第四条"  # a made-up document name: carried from one province to another


def _fujian_doc(db, world) -> dict:
    services.save_rule(db, world.fujian_admin, world.fujian.id, required_hours=48, professional_min_hours=24,
                       report_required=True, report_due_month=10, change_registration_days=45, ce_either=False,
                       first_year="prorate", basis_kind="source", basis_source=SOURCE)
    return settings_transfer.export_settings(db, world.fujian)


def _parse(doc):
    return settings_transfer.check_settings(settings_transfer.read_file(json.dumps(doc).encode()))


def test_provincial_ce_rule_exported_and_copied(db, world):
    doc = _fujian_doc(db, world)
    assert doc["ce_rule"] == {"required_hours": 48, "professional_min_hours": 24, "report_due_month": 10,
                              "change_registration_days": 45, "report_required": True, "ce_either": False,
                              "first_year": "prorate", "basis": {"kind": "source", "source": SOURCE}}
    parsed = _parse(doc)
    lines = settings_transfer.changes(db, world.jiangsu, parsed)
    assert "继续教育规则：年度继续教育学时 90 → 48" in lines and "继续教育规则：变更登记期限 30 → 45" in lines
    assert f"继续教育规则：依据 示例 → {SOURCE}" in lines
    assert settings_transfer.changes(db, world.fujian, parsed) == []
    settings_transfer.apply_settings(db, world.province_admin, world.jiangsu, parsed)
    rule = queries.rule_for(db, world.jiangsu.id)
    assert (rule.required_hours, rule.report_due_month, rule.change_registration_days, rule.ce_either, rule.first_year) == \
        (48, 10, 45, False, "prorate")
    assert basis_of(db, rule, "report_due_month").source == SOURCE


def test_provincial_ce_rule_import_names_each_bad_field(db, world):
    doc = _fujian_doc(db, world)
    bad = copy.deepcopy(doc)
    bad["ce_rule"].update(required_hours="90", report_due_month=13, ce_either="yes", first_year="never")
    bad["ce_rule"]["basis"] = {"kind": "source", "source": ""}
    with pytest.raises(ValidationFailed) as exc:
        _parse(bad)
    assert set(exc.value.errors) == {"ce_rule.required_hours", "ce_rule.ce_either"}  # types first
    assert "须为整数" in exc.value.errors["ce_rule.required_hours"]
    bad["ce_rule"].update(required_hours=90, ce_either=True)  # types right: now the bounds are checked
    with pytest.raises(ValidationFailed) as exc:
        _parse(bad)
    errors = exc.value.errors
    assert set(errors) == {"ce_rule.report_due_month", "ce_rule.first_year", "ce_rule.basis"}
    assert errors["ce_rule.report_due_month"] == "ce_rule.report_due_month：月份须在 1 到 12 之间"
    before = queries.rule_for(db, world.jiangsu.id).required_hours
    del doc["ce_rule"]  # an older file: the rule is left as it is
    settings_transfer.apply_settings(db, world.province_admin, world.jiangsu, _parse(doc))
    assert queries.rule_for(db, world.jiangsu.id).required_hours == before


def test_provincial_ce_rule_import_page_shows_changes(client, db, login_as, world):
    doc = _fujian_doc(db, world)
    db.flush()
    login_as(world.province_admin.username)
    bad = copy.deepcopy(doc)
    bad["ce_rule"]["report_due_month"] = 0
    html = post_form(client, "/courses/settings", {"file": (io.BytesIO(json.dumps(bad).encode()), "bad.json")},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-field="ce_rule.report_due_month"' in html and 'id="import-apply"' not in html
    html = post_form(client, "/courses/settings", {"file": (io.BytesIO(json.dumps(doc).encode()), "fujian.json")},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "继续教育规则：年度继续教育学时 90 → 48" in html and 'id="import-apply"' in html
    assert queries.rule_for(db, world.jiangsu.id).id is None  # previewed, not applied
