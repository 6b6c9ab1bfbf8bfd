"""Eligibility rule sets: per province and enterprise size, every unmet condition explained; the prerequisite hook."""
import datetime as dt

import pytest

from courses import eligibility
from lms.domain import SizeClass, Tier
from lms.errors import ValidationFailed
from tests import courses_support as cs
from tests import factories

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _no_checkers():
    saved = list(eligibility._prerequisite_checkers)
    eligibility._prerequisite_checkers.clear()
    yield
    eligibility._prerequisite_checkers[:] = saved


def _evaluate(db, world, user, prog):
    return eligibility.evaluate(db, user, prog, TODAY)


def test_fujian_large_enterprise_lists_every_unmet_condition(db, world):
    prog = cs.programme(db, world, province=world.fujian, rules=eligibility.FUJIAN_RULES)
    user = factories.make_trainee(db, "weak", world.ent_fz, education="junior_college", title_level="junior", quality_years=2)
    ev = _evaluate(db, world, user, prog)
    assert not ev.eligible and ev.group == "大中型企业"
    unmet = {c.code: c for c in ev.unmet}
    assert set(unmet) == {"education_min", "title_min", "quality_years_min"}
    assert "大专" in unmet["education_min"].detail and "本科" in unmet["education_min"].detail
    assert "2 年" in unmet["quality_years_min"].detail and "5 年" in unmet["quality_years_min"].detail


def test_fujian_small_enterprise_has_the_lower_bar(db, world):
    prog = cs.programme(db, world, province=world.fujian, rules=eligibility.FUJIAN_RULES)
    small = factories.make_enterprise(db, world.fuzhou, size="small", above=False)
    user = factories.make_trainee(db, "small", small, education="secondary_technical", title_level="junior", quality_years=3)
    ev = _evaluate(db, world, user, prog)
    assert ev.eligible and ev.group == "小微企业"
    user2 = factories.make_trainee(db, "small2", small, education="senior_high", title_level="none", quality_years=3)
    assert {c.code for c in _evaluate(db, world, user2, prog).unmet} == {"education_min", "title_min"}


def test_nantong_variant_accepts_a_quality_engineer_without_a_degree(db, world):
    prog = cs.programme(db, world)  # Jiangsu rules, Nantong group wins for Qidong enterprises
    eng = factories.make_trainee(db, "eng", world.ent_qd, education="senior_high", title_level="none",
                                 quality_qualification="engineer", quality_years=3)
    ev = _evaluate(db, world, eng, prog)
    assert ev.eligible and ev.group.startswith("南通市")
    novice = factories.make_trainee(db, "novice", world.ent_qd, education="senior_high", quality_years=1)
    unmet = {c.code: c for c in _evaluate(db, world, novice, prog).unmet}
    assert set(unmet) == {"any_of", "quality_years_min"}
    assert "均不满足" in unmet["any_of"].detail


def test_group_selection_prefers_the_lowest_region_then_size():
    rules = eligibility.JIANGSU_RULES
    assert eligibility.select_group(rules, SizeClass.large, "320000/320600/320681/")["region"] == "320600"
    assert eligibility.select_group(rules, SizeClass.large, "320000/321000/")["name"] == "大中型企业"
    assert eligibility.select_group(rules, SizeClass.micro, "320000/321000/")["name"] == "小微企业"
    assert eligibility.select_group([{"sizes": ["large"], "conditions": []}], SizeClass.small, "") is None


def test_prerequisite_without_a_certificate_system_is_unmet_with_a_reason(db, world):
    prog = cs.programme(db, world, tier=Tier.advanced)
    ev = _evaluate(db, world, world.trainee, prog)
    pre = next(c for c in ev.conditions if c.code == "prerequisite")
    assert not pre.met and "证书系统尚未启用" in pre.detail and "基础" in pre.detail


def test_registered_prerequisite_checker_decides(db, world):
    prog = cs.programme(db, world, tier=Tier.advanced)
    asked = []
    eligibility.register_prerequisite_checker(lambda s, u, tier, on: asked.append(tier) or u.username == "wangfang")
    assert _evaluate(db, world, world.trainee, prog).eligible
    assert asked == [Tier.basic]
    other = factories.make_trainee(db, "other", world.ent_qd)
    pre = next(c for c in _evaluate(db, world, other, prog).conditions if c.code == "prerequisite")
    assert not pre.met and "基础" in pre.detail


def test_basic_tier_and_switched_off_prerequisite_need_no_certificate(db, world):
    basic = cs.programme(db, world, tier=Tier.basic)
    assert all(c.code != "prerequisite" for c in _evaluate(db, world, world.trainee, basic).conditions)
    senior = cs.programme(db, world, tier=Tier.senior, requires_lower_tier=False)
    assert _evaluate(db, world, world.trainee, senior).eligible


def test_disqualification_checker_is_reported(db, world):
    prog = cs.programme(db, world)
    fn = eligibility.register_disqualification_checker(lambda s, u: "证书因严重质量事故被撤销" if u.username == "wangfang" else None)
    try:
        ev = _evaluate(db, world, world.trainee, prog)
        c = next(c for c in ev.unmet if c.code == "not_disqualified")
        assert "严重质量事故" in c.detail
    finally:
        eligibility._disqualification_checkers.remove(fn)


@pytest.mark.parametrize("rules, fragment", [
    ([], "非空"),
    ([{"conditions": [{"type": "iq_min", "value": 3}]}], "条件类型"),
    ([{"conditions": [{"type": "education_min", "value": "phd"}]}], "取值"),
    ([{"sizes": ["huge"], "conditions": []}], "企业规模"),
    ([{"region": "32", "conditions": []}], "行政区划代码"),
    ([{"conditions": [{"type": "any_of", "conditions": [{"type": "not_disqualified"}]}]}], "至少两个"),
])
def test_rule_sets_are_validated(rules, fragment):
    with pytest.raises(ValidationFailed) as exc:
        eligibility.validate_rules(rules)
    assert fragment in exc.value.errors["rules"]


def test_no_profile_is_explained(db, world):
    prog = cs.programme(db, world)
    ev = _evaluate(db, world, world.staff_nt, prog)
    assert [c.code for c in ev.unmet] == ["profile"]
