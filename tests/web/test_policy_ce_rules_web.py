"""Issue 14, part A, over HTTP: a province bureau chooses its CE rule — seed 002's either-or or hours AND report,
the first year exempt or prorated — and records where its hours come from; the pages show the hours with that
basis (no seed sets them: 示例 until the province says otherwise); bad input changes nothing."""
from credits import queries as credit_queries
from lms.settingbasis import BasisKind, basis_of
from tests.conftest import login, post_form

FORM = {"required_hours": "72", "professional_min_hours": "40", "report_required": "y", "report_due_month": "11",
        "change_registration_days": "30", "ce_either": "y", "first_year": "prorate", "basis_kind": "province",
        "basis_source": ""}


def test_policy_rule_form_saves_choice_and_basis(client, db, world):
    login(client, "js_admin")
    page = client.get("/credits/rules").get_data(as_text=True)
    assert "〔示例〕" in page and 'id="ce-rule-basis"' in page  # the default hours are an example
    assert post_form(client, "/credits/rules", FORM).status_code == 302
    rule = credit_queries.rule_for(db, world.jiangsu.id)
    assert (rule.required_hours, rule.ce_either, rule.first_year) == (72, True, "prorate")
    assert basis_of(db, rule, "required_hours").kind is BasisKind.province
    page = client.get("/credits/rules").get_data(as_text=True)
    assert "〔本省自定〕" in page
    both = {k: v for k, v in FORM.items() if k != "ce_either"}
    assert post_form(client, "/credits/rules", {**both, "first_year": "exempt"}).status_code == 302
    db.expire_all()
    assert credit_queries.rule_for(db, world.jiangsu.id).ce_either is False


def test_policy_rule_form_refuses_a_basis_without_its_document(client, db, world):
    login(client, "js_admin")
    r = post_form(client, "/credits/rules", {**FORM, "basis_kind": "source", "basis_source": "  ", "required_hours": "60"})
    assert r.status_code == 200 and "须填写文件名称及条款" in r.get_data(as_text=True)
    db.expire_all()
    assert credit_queries.rule_for(db, world.jiangsu.id).required_hours == 90  # nothing changed
    r = post_form(client, "/credits/rules", {**FORM, "first_year": "sometimes"})
    assert r.status_code == 200 and credit_queries.rule_for(db, world.jiangsu.id).first_year == "exempt"
