"""The eligibility rule sets the seeds state, shipped as data with the document and clause each quotes
(issue 15). A bureau copies one into its province and edits it in the rule-set form; the copy keeps the
document as its basis until the bureau changes a condition and says what its own basis is.

- seed 000, 任职条件 of the national pilot: "取得中级以上质量专业技术人员职业资格,或具有大学本科以上学历和5年以上
  质量工作经历";
- seed 001, 《福建省企业首席质量官管理办法(试行)》(闽质监质〔2014〕286号) 第五条 (三)(四), with 第六条's
  disqualifications: "大型及中型企业应具有大学本科以上学历,取得中级及以上专业技术职称,5年以上质量工作经历;
  小微企业应具有中专以上学历,取得初级及以上专业技术职称,3年以上质量工作经历";
- seed 002, 崇质强办文〔2022〕3号 三(二) 任职条件: "首席质量官应从事质量管理工作3年以上，具有大专及以上或相当学历".
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from courses import eligibility


@dataclass(frozen=True)
class RuleTemplate:
    key: str
    name: object
    source: str  # document and clause: the basis (依据) of a copy
    rules: list

    def copy_rules(self) -> list:
        """A deep copy a bureau may edit without touching the shipped data."""
        return copy.deepcopy(self.rules)


NATIONAL_PILOT = [{"name": "全部企业", "conditions": [
    {"type": "any_of", "conditions": [
        {"type": "qualification_min", "value": "engineer"},
        {"type": "all_of", "conditions": [{"type": "education_min", "value": "bachelor"},
                                          {"type": "quality_years_min", "value": 5}]}]},
    {"type": "not_disqualified"},
]}]
CHONGYANG = [{"name": "全部企业", "conditions": [
    {"type": "quality_years_min", "value": 3},
    {"type": "education_min", "value": "junior_college"},
]}]

LIBRARY = (
    RuleTemplate("seed000", _l("全国试点任职条件"), "《市场监管知识讲座 第10期·首席质量官》任职条件（国办发〔2012〕27号试点）", NATIONAL_PILOT),
    RuleTemplate("seed001", _l("福建省首席质量官任职条件"), "闽质监质〔2014〕286号 第五条（三）（四）、第六条",
                 eligibility.FUJIAN_RULES),
    RuleTemplate("seed002", _l("崇阳县首席质量官任职条件"), "崇质强办文〔2022〕3号 三（二）任职条件", CHONGYANG),
)


def template(key: str) -> RuleTemplate | None:
    """The shipped rule set called ``key``, or None."""
    return next((t for t in LIBRARY if t.key == key), None)
