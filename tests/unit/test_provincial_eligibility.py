"""Issue 15: eligibility as an expression tree (all_of / any_of / not over typed conditions), the seeds' rule
sets shipped as data with their documents, and a decided application keeping the rules it was decided by."""
import datetime as dt

import pytest

from courses import eligibility, rule_library, services
from courses.eligibility import Facts, evaluate_condition, evaluate_facts
from courses.services import enrolment
from lms.db import utcnow
from lms.demo import PLEDGE_VERSION
from lms.domain import EducationLevel as E, QualityQualification as Q, SizeClass, TitleLevel as T
from lms.errors import ValidationFailed
from lms.settingbasis import basis_of
from tests import courses_support as cs
from tests import factories


def facts(edu="bachelor", title="intermediate", qual="none", years=5, age=40, size="medium", industry="机械制造"):
    return Facts(E(edu), T(title), Q(qual), years, age, SizeClass(size), industry, "350000/350100/")


def test_provincial_every_operator_decides_and_explains():
    edu = {"type": "education_min", "value": "bachelor"}
    years = {"type": "quality_years_min", "value": 5}
    both = {"type": "all_of", "conditions": [edu, years]}
    c = evaluate_condition(both, facts(years=3))
    assert not c.met and "未满足" in c.detail and "3 年" in c.detail and "学历" not in c.detail
    assert evaluate_condition(both, facts()).met
    either = {"type": "any_of", "conditions": [{"type": "qualification_min", "value": "engineer"}, both]}
    c = evaluate_condition(either, facts(edu="junior_college", years=3))
    assert not c.met and c.detail.startswith("均不满足") and "质量专业资格" in c.detail and "大专" in c.detail
    assert evaluate_condition(either, facts(edu="senior_high", qual="engineer", years=0)).met
    banned = {"type": "not", "condition": {"type": "industry", "values": ["烟花爆竹"]}}
    c = evaluate_condition(banned, facts(industry="烟花爆竹"))
    assert not c.met and "烟花爆竹" in c.detail and "不属于" in c.label
    assert evaluate_condition(banned, facts()).met
    size = {"type": "enterprise_size", "values": ["small", "micro"]}
    c = evaluate_condition(size, facts(size="large"))
    assert not c.met and "大型" in c.detail and "小型、微型" in c.detail
    assert evaluate_condition({"type": "age_max", "value": 55}, facts(age=55)).met
    c = evaluate_condition({"type": "age_min", "value": 25}, facts(age=22))
    assert not c.met and "22" in c.detail
    c = evaluate_condition({"type": "title_min", "value": "intermediate"}, facts(title="junior"))
    assert not c.met and "初级" in c.detail and "中级" in c.detail
    reasons = lambda: ["证书因严重质量事故被撤销"]  # noqa: E731
    c = evaluate_condition({"type": "not_disqualified"}, facts(), reasons)
    assert not c.met and "严重质量事故" in c.detail


def test_provincial_rules_read_in_chinese():
    rules = rule_library.template("seed000").rules
    text = eligibility.describe_group(rules[0])
    assert "质量工程师(中级)及以上质量专业资格" in text and "，或" in text and "学历本科及以上，且5 年以上" in text.replace(" 5", "5")


@pytest.mark.parametrize("rules, fragment", [
    ([{"conditions": [{"type": "salary_min", "value": 1}]}], "第 1 组条件1：未知的条件类型“salary_min”"),
    ([{"conditions": [{"type": "all_of", "conditions": [{"type": "age_max", "value": 5}]}]}], "第 1 组条件1-1：年龄"),
    ([{"conditions": [{"type": "not", "condition": {"type": "education_min", "value": "x"}}]}], "第 1 组条件1-1："),
    ([{"conditions": [{"type": "education_min", "value": "bachelor", "valeu": 1}]}], "未知的字段“valeu”"),
    ([{"name": "甲", "size": ["large"], "conditions": []}], "第 1 组：未知的字段“size”"),
    ([{"conditions": [{"type": "enterprise_size", "values": ["giant"]}]}], "企业规模"),
    ([{"conditions": [{"type": "industry", "values": []}]}], "行业"),
    ([{"conditions": [{"type": "all_of", "conditions": []}]}], "至少一个"),
])
def test_provincial_rule_errors_name_the_place(rules, fragment):
    with pytest.raises(ValidationFailed) as exc:
        eligibility.validate_rules(rules)
    assert fragment in exc.value.errors["rules"]


def test_provincial_seed_rule_sets_follow_their_text():
    for t in rule_library.LIBRARY:
        eligibility.validate_rules(t.rules)
        assert "号" in t.source  # each names its document
    pilot = rule_library.template("seed000").rules
    # 取得中级以上质量专业技术人员职业资格,或具有大学本科以上学历和5年以上质量工作经历
    assert evaluate_facts(pilot, facts(edu="senior_high", qual="engineer", years=0)).eligible
    assert evaluate_facts(pilot, facts(edu="bachelor", years=5)).eligible
    assert not evaluate_facts(pilot, facts(edu="bachelor", years=4, qual="assistant_engineer")).eligible
    fujian = rule_library.template("seed001").rules
    # 小微企业应具有中专以上学历,取得初级及以上专业技术职称,3年以上质量工作经历
    assert evaluate_facts(fujian, facts(edu="secondary_technical", title="junior", years=3, size="micro")).eligible
    assert not evaluate_facts(fujian, facts(edu="secondary_technical", title="junior", years=3, size="large")).eligible
    chongyang = rule_library.template("seed002").rules
    # 从事质量管理工作3年以上，具有大专及以上或相当学历
    assert evaluate_facts(chongyang, facts(edu="junior_college", title="none", years=3, size="micro")).eligible
    unmet = evaluate_facts(chongyang, facts(edu="senior_high", years=2)).unmet
    assert {c.code for c in unmet} == {"education_min", "quality_years_min"}


def test_provincial_copies_do_not_touch_the_shipped_rules():
    shipped = rule_library.template("seed002")
    mine = shipped.copy_rules()
    mine[0]["conditions"][0]["value"] = 1
    assert shipped.rules[0]["conditions"][0]["value"] == 3


def test_provincial_decided_application_keeps_its_rules(db, world):
    saved = list(eligibility._prerequisite_checkers)
    eligibility._prerequisite_checkers.clear()
    try:
        klass = cs.training_class(db, world)
        rs = klass.programme.eligibility_rule_set
        user = factories.make_trainee(db, "keeper", world.ent_qd, education="bachelor", title_level="intermediate",
                                      quality_years=6)
        e = enrolment.apply(db, user, klass, pledge_version=PLEDGE_VERSION, today=klass.enrol_opens_on)
        assert e.eligibility["rule_set"]["id"] == rs.id
        enrolment.approve(db, world.staff_nt, e, utcnow())
        before = e.eligibility["decided_under"]
        assert before["rules"] == eligibility.JIANGSU_RULES and before["basis"] == "示例"
        services.save_rule_set(db, world.sysadmin, world.jiangsu, rs.name, rule_library.template("seed002").copy_rules(), rs,
                               basis=("source", rule_library.template("seed002").source))
        db.refresh(e)
        assert e.eligibility["decided_under"] == before  # the decision keeps the rules it was made under
        assert basis_of(db, rs, "rules").source.startswith("崇质强办文")
    finally:
        eligibility._prerequisite_checkers[:] = saved


def test_provincial_rule_set_basis_refusals(db, world):
    with pytest.raises(ValidationFailed) as exc:
        services.save_rule_set(db, world.sysadmin, world.fujian, "福建", eligibility.FUJIAN_RULES, basis=("source", " "))
    assert "条款" in exc.value.errors["basis_source"]
    with pytest.raises(ValidationFailed) as exc:
        services.save_rule_set(db, world.sysadmin, world.fujian, "福建", eligibility.FUJIAN_RULES, basis=("law", ""))
    assert "依据" in exc.value.errors["basis_kind"]
