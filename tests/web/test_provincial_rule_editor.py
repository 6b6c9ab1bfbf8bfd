"""Issue 15: a bureau copies a shipped rule set and edits it in a form (not raw JSON), previews who qualifies,
and saves; bad input names its place and changes nothing."""
import re

from sqlalchemy import func, select

from courses import rule_library
from courses.models import EligibilityRuleSet
from lms.settingbasis import basis_of
from tests import factories
from tests.conftest import post_form


def _fields(html: str) -> dict:
    """The editor's current fields as a browser would post them (selected options, checked boxes, values)."""
    data: dict = {}
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        options = re.findall(r'<option([^>]*)>', m.group(2))
        chosen = [o for o in options if re.search(r"\bselected\b", o)] or options
        if chosen:
            data[m.group(1)] = re.search(r'value="([^"]*)"', chosen[0]).group(1)
    for m in re.finditer(r'<input([^>]*)>', html):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m.group(1)))
        name = attrs.get("name")
        if not name or name == "csrf_token":
            continue
        if attrs.get("type") == "checkbox":
            if " checked" in m.group(1):
                data.setdefault(name, []).append(attrs["value"])
        else:
            data[name] = attrs.get("value", "")
    return data


def _qualified(html: str) -> int:
    return int(re.search(r"符合条件的：(\d+) / \d+ 人", html).group(1))


def test_provincial_copy_edit_preview_and_save(client, db, login_as, world):
    factories.make_trainee(db, "fz_eng", world.ent_fz, education="junior_college", title_level="intermediate", quality_years=6)
    login_as("fj_admin")
    html = client.get("/courses/rule-sets/new?copy=seed001").get_data(as_text=True)
    assert "闽质监质〔2014〕286号" in html and 'name="n-1.1-type"' in html and 'id="copy-seed000"' in html
    qualified_before = _qualified(html)
    data = _fields(html)
    assert data["g1-sizes"] == ["large", "medium"] and data["n-1.1-value"] == "bachelor"
    data.update({"province_id": world.fujian.id, "n-1.1-value": "junior_college", "op": "preview",
                 "s-education": "junior_college", "s-title": "intermediate", "s-years": "5", "s-size": "large"})
    html = post_form(client, "/courses/rule-sets/new", data).get_data(as_text=True)
    assert 'id="sample-result" data-eligible="yes"' in html
    assert _qualified(html) == qualified_before + 1  # the province's trainee with a 大专 degree now qualifies
    data["s-years"] = "2"
    html = post_form(client, "/courses/rule-sets/new", data).get_data(as_text=True)
    assert 'data-eligible="no"' in html and "2 年" in html
    data.update({"op": "save", "name": "福建省报名条件（放宽学历）", "basis_kind": "province", "basis_source": ""})
    assert post_form(client, "/courses/rule-sets/new", data).status_code == 302
    rs = db.scalar(select(EligibilityRuleSet).where(EligibilityRuleSet.name == "福建省报名条件（放宽学历）"))
    expected = rule_library.template("seed001").copy_rules()
    expected[0]["conditions"][0]["value"] = "junior_college"
    assert rs.rules == expected and rs.province_id == world.fujian.id
    assert basis_of(db, rs, "rules").kind.value == "province"


def test_provincial_editor_buttons_add_and_remove_nodes(client, db, login_as, world):
    login_as("fj_admin")
    data = _fields(client.get("/courses/rule-sets/new?copy=seed000").get_data(as_text=True))
    data.update({"province_id": world.fujian.id, "op": "add:1.1.2"})
    html = post_form(client, "/courses/rule-sets/new", data).get_data(as_text=True)
    assert 'name="n-1.1.2.3-type"' in html  # a third part in the degree-and-years branch
    data = _fields(html) | {"province_id": world.fujian.id, "op": "del:1.1.1"}
    html = post_form(client, "/courses/rule-sets/new", data).get_data(as_text=True)
    assert 'name="n-1.1.2.3-type"' not in html and 'name="n-1.1.1.3-type"' in html
    assert 'id="preview-error"' in html and "至少两个" in html  # any_of left with one part: the preview says where


def test_provincial_editor_refuses_bad_input_naming_the_place(client, db, login_as, world):
    login_as("fj_admin")
    data = _fields(client.get("/courses/rule-sets/new?copy=seed002").get_data(as_text=True))
    before = db.scalar(select(func.count(EligibilityRuleSet.id)))
    data.update({"province_id": world.fujian.id, "name": "坏规则", "op": "save", "n-1.1-value": "三年"})
    resp = post_form(client, "/courses/rule-sets/new", data)
    assert resp.status_code == 200 and "第 1 组条件1：请填写整数（当前“三年”）" in resp.get_data(as_text=True)
    data.update({"n-1.1-value": "3", "n-1.2-type": "salary_min"})
    assert "第 1 组条件2：未知的条件类型“salary_min”" in post_form(client, "/courses/rule-sets/new", data).get_data(as_text=True)
    data.update({"n-1.2-type": "education_min", "basis_kind": "source", "basis_source": ""})
    assert "须填写文件名称及条款" in post_form(client, "/courses/rule-sets/new", data).get_data(as_text=True)
    assert db.scalar(select(func.count(EligibilityRuleSet.id))) == before
