"""Who may enrol: eligibility rule sets as data, evaluated with an explanation of every unmet condition,
and the prerequisite (a certificate of the tier below, still in force), checked through a hook that the
certificates package fills.

A rule set's ``rules`` is a list of groups; the group that applies to a trainee is the most specific one
matching the enterprise's region and size::

    [{"name": "大中型企业", "sizes": ["large", "medium"],
      "conditions": [{"type": "education_min", "value": "bachelor"},
                     {"type": "title_min", "value": "intermediate"},
                     {"type": "quality_years_min", "value": 5},
                     {"type": "not_disqualified"}]},
     {"name": "南通市", "region": "320600",
      "conditions": [{"type": "any_of", "conditions": [{"type": "education_min", "value": "junior_college"},
                                                        {"type": "qualification_min", "value": "engineer"}]},
                     {"type": "quality_years_min", "value": 3}]}]

A group without ``sizes`` applies to every size; a group with ``region`` (a GB/T 2260 code) applies to
enterprises in that region and below and wins over one without.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.domain import EducationLevel, QualityQualification, SizeClass, TitleLevel, Tier
from lms.errors import ValidationFailed
from lms.orgs import tiers
from lms.people.models import TraineeProfile
from lms.settingbasis import basis_of

LEAF_TYPES = ("education_min", "title_min", "qualification_min", "quality_years_min", "not_disqualified",
              "enterprise_size", "industry", "age_min", "age_max")
GROUP_TYPES = ("all_of", "any_of", "not")
CONDITION_TYPES = LEAF_TYPES + GROUP_TYPES
ENUM_OF = {"education_min": EducationLevel, "title_min": TitleLevel, "qualification_min": QualityQualification}


def type_labels() -> dict[str, str]:
    """The Chinese name of every condition type (the form's choices, the messages)."""
    return {"education_min": _("学历不低于"), "title_min": _("职称不低于"), "qualification_min": _("质量专业资格不低于"),
            "quality_years_min": _("质量工作年限不少于"), "not_disqualified": _("无取消资格情形"),
            "enterprise_size": _("企业规模属于"), "industry": _("所属行业属于"), "age_min": _("年龄不小于"),
            "age_max": _("年龄不大于"), "all_of": _("同时满足以下全部"), "any_of": _("满足以下其一"), "not": _("不得满足以下条件")}


@dataclass
class Facts:
    """What a rule looks at: the trainee's profile and enterprise (or a sample profile in the editor's preview)."""

    education: EducationLevel
    title_level: TitleLevel
    quality_qualification: QualityQualification
    quality_years: int
    age: int | None = None
    size: SizeClass | None = None
    industry: str = ""
    region_path: str = ""


def facts_of(profile, on_date: dt.date) -> Facts:
    """The facts of a trainee profile on ``on_date``."""
    ent = profile.enterprise
    born = profile.birth_date
    age = on_date.year - born.year - ((on_date.month, on_date.day) < (born.month, born.day)) if born else None
    return Facts(profile.education, profile.title_level, profile.quality_qualification, profile.quality_years, age,
                 ent.size_class if ent else None, (ent.industry or "") if ent else "", ent.region.path if ent else "")


@dataclass
class Condition:
    code: str
    label: str
    met: bool
    detail: str


@dataclass
class Evaluation:
    """Every condition checked, met or not; ``eligible`` when all are met."""

    conditions: list[Condition] = field(default_factory=list)
    group: str = ""

    @property
    def eligible(self) -> bool:
        return all(c.met for c in self.conditions)

    @property
    def unmet(self) -> list[Condition]:
        return [c for c in self.conditions if not c.met]

    def as_dict(self) -> dict:
        return {"eligible": self.eligible, "group": self.group, "conditions": [asdict(c) for c in self.conditions]}


# ------------------------------------------------------------------ hooks filled by other packages
_prerequisite_checkers: list[Callable[[Session, Any, Tier, dt.date], bool]] = []
_disqualification_checkers: list[Callable[[Session, Any], str | None]] = []


def register_prerequisite_checker(fn: Callable[[Session, Any, Tier, dt.date], bool]) -> Callable:
    """Register ``fn(session, user, tier, on_date) -> bool``: does the user hold a certificate of ``tier``
    in force on ``on_date``? The certificates package registers the real one; re-registering replaces."""
    _prerequisite_checkers[:] = [fn]
    return fn


def register_disqualification_checker(fn: Callable[[Session, Any], str | None]) -> Callable:
    """Register ``fn(session, user) -> reason or None`` (e.g. a certificate revoked for misconduct)."""
    _disqualification_checkers.append(fn)
    return fn


def check_prerequisite(session: Session, user, programme, on_date: dt.date) -> Condition | None:
    """The prerequisite as a condition, or None when the programme has none (basic tier, or switched off)."""
    below = tiers.prerequisite_of(session, programme.province_id, programme.tier)
    if below is None or not programme.requires_lower_tier:
        return None
    label = _("先修条件：持有有效的%(tier)s层级证书", tier=below.label)
    if not _prerequisite_checkers:
        return Condition("prerequisite", label, False,
                         _("证书系统尚未启用，无法核验您是否持有有效的%(tier)s层级证书，请联系培训机构", tier=below.label))
    held = _prerequisite_checkers[0](session, user, below, on_date)
    return Condition("prerequisite", label, bool(held),
                     _("已持有有效的%(tier)s层级证书", tier=below.label) if held
                     else _("未查到您在 %(d)s 有效的%(tier)s层级证书：须先完成%(tier)s培训并取得证书",
                            d=on_date.isoformat(), tier=below.label))


# ------------------------------------------------------------------ validation of rule sets
def _check_condition(c: Any, where: str) -> None:
    """Check one node of the expression tree; ValidationFailed on ``rules`` naming ``where`` and what is wrong."""

    def fail(msg):
        raise ValidationFailed({"rules": msg})

    if not isinstance(c, dict):
        fail(_("%(where)s：条件须为对象", where=where))
    t, v = c.get("type"), c.get("value")
    if t not in CONDITION_TYPES:
        fail(_("%(where)s：未知的条件类型“%(t)s”，可用：%(types)s", where=where, t=t, types="、".join(CONDITION_TYPES)))
    unknown = sorted(set(c) - {"type", "value", "values", "conditions", "condition"})
    if unknown:
        fail(_("%(where)s：未知的字段“%(f)s”", where=where, f="、".join(unknown)))
    enum = ENUM_OF.get(t)
    if enum is not None and v not in enum.__members__:
        fail(_("%(where)s：%(type)s的取值须为 %(values)s 之一", where=where, type=type_labels()[t], values="、".join(enum.__members__)))
    if t == "quality_years_min" and not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 60):
        fail(_("%(where)s：质量工作年限须为 0-60 的整数", where=where))
    if t in ("age_min", "age_max") and not (isinstance(v, int) and not isinstance(v, bool) and 16 <= v <= 80):
        fail(_("%(where)s：年龄须为 16-80 的整数", where=where))
    if t == "enterprise_size":
        vals = c.get("values")
        if not isinstance(vals, list) or not vals or any(x not in SizeClass.__members__ for x in vals):
            fail(_("%(where)s：企业规模须为 %(values)s 中的一个或多个", where=where, values="、".join(SizeClass.__members__)))
    if t == "industry":
        vals = c.get("values")
        if not isinstance(vals, list) or not vals or any(not isinstance(x, str) or not x.strip() or len(x) > 64 for x in vals):
            fail(_("%(where)s：请填写至少一个行业名称（每个不超过 64 字）", where=where))
    if t in ("all_of", "any_of"):
        subs = c.get("conditions")
        if not isinstance(subs, list) or len(subs) < (2 if t == "any_of" else 1):
            fail(_("%(where)s：“满足以下其一”须包含至少两个条件", where=where) if t == "any_of"
                 else _("%(where)s：“同时满足”须包含至少一个条件", where=where))
        for j, sub in enumerate(subs, 1):
            _check_condition(sub, f"{where}-{j}")
    if t == "not":
        if not isinstance(c.get("condition"), dict):
            fail(_("%(where)s：“不得满足”须包含一个条件", where=where))
        _check_condition(c["condition"], f"{where}-1")


def validate_rules(rules: Any) -> list:
    """Check a rule set's structure; raise ValidationFailed on ``rules`` naming the first problem and its place."""

    def fail(msg):
        raise ValidationFailed({"rules": msg})

    if not isinstance(rules, list) or not rules:
        fail(_("规则须为非空列表"))
    for i, group in enumerate(rules, 1):
        where = _("第 %(n)d 组", n=i)
        if not isinstance(group, dict) or not isinstance(group.get("conditions"), list):
            fail(_("%(where)s：须包含 conditions 列表", where=where))
        unknown = sorted(set(group) - {"name", "sizes", "region", "conditions"})
        if unknown:
            fail(_("%(where)s：未知的字段“%(f)s”", where=where, f="、".join(unknown)))
        for s in group.get("sizes") or []:
            if s not in SizeClass.__members__:
                fail(_("%(where)s：企业规模 %(s)s 无效", where=where, s=s))
        region = group.get("region")
        if region is not None and not (isinstance(region, str) and len(region) == 6 and region.isdigit()):
            fail(_("%(where)s：地区须为 6 位行政区划代码", where=where))
        for j, c in enumerate(group["conditions"], 1):
            _check_condition(c, f"{where}{_('条件')}{j}")
    return rules


# ------------------------------------------------------------------ reading a rule in Chinese
def describe(c: dict) -> str:
    """One condition (or a whole branch) as a Chinese sentence, the way the rule reads on every page."""
    t, v = c["type"], c.get("value")
    if t in ENUM_OF:
        return {"education_min": _("学历%(v)s及以上"), "title_min": _("%(v)s及以上职称"),
                "qualification_min": _("%(v)s及以上质量专业资格")}[t] % {"v": ENUM_OF[t](v).label}
    if t == "quality_years_min":
        return _("%(n)d 年以上质量工作经历", n=v)
    if t == "age_min":
        return _("年满 %(n)d 周岁", n=v)
    if t == "age_max":
        return _("不超过 %(n)d 周岁", n=v)
    if t == "not_disqualified":
        return _("无取消资格情形")
    if t == "enterprise_size":
        return _("%(v)s企业", v="、".join(SizeClass(x).label for x in c["values"]))
    if t == "industry":
        return _("行业为%(v)s", v="、".join(c["values"]))
    if t == "not":
        return _("不属于（%(x)s）", x=describe(c["condition"]))
    parts = [describe(s) for s in c["conditions"]]
    return (_("（%(x)s）", x=_("，且").join(parts)) if t == "all_of" else _("（%(x)s）", x=_("，或").join(parts)))


def describe_group(group: dict) -> str:
    """A group's conditions as one sentence, with whom the group applies to."""
    who = []
    if group.get("sizes"):
        who.append("、".join(SizeClass(s).label for s in group["sizes"]) + _("企业"))
    if group.get("region"):
        who.append(_("地区代码 %(c)s 及以下", c=group["region"]))
    body = _("，且").join(describe(c) for c in group["conditions"]) or _("无条件")
    return (f"{group.get('name') or _('适用于全部')}（{'，'.join(who)}）：" if who else f"{group.get('name') or _('适用于全部')}：") + body


# ------------------------------------------------------------------ evaluation
def select_group(rules: list, size: SizeClass | None, region_path: str) -> dict | None:
    """The most specific group for this enterprise: a region match beats none, a longer (lower) region
    beats a shorter one, and a size match is required when the group names sizes."""
    best, best_key = None, (-1, -1)
    codes = [c for c in region_path.split("/") if c]
    for group in rules:
        sizes = group.get("sizes") or []
        if sizes and (size is None or size.value not in sizes):
            continue
        region = group.get("region")
        if region and region not in codes:
            continue
        key = (codes.index(region) + 1 if region else 0, 1 if sizes else 0)
        if key > best_key:
            best, best_key = group, key
    return best


def _leaf(t: str, c: dict, f: Facts, disqualified: Callable[[], list[str]]) -> Condition:
    v = c.get("value")
    if t in ENUM_OF:
        need = ENUM_OF[t](v)
        have = {"education_min": f.education, "title_min": f.title_level, "qualification_min": f.quality_qualification}[t]
        what = {"education_min": _("学历"), "title_min": _("职称等级"), "qualification_min": _("质量专业资格")}[t]
        return Condition(t, describe(c), have.rank >= need.rank,
                         _("您填报的%(what)s为%(have)s，要求%(need)s及以上", what=what, have=have.label, need=need.label))
    if t == "quality_years_min":
        return Condition(t, describe(c), f.quality_years >= v,
                         _("您填报的质量工作年限为 %(have)d 年，要求不少于 %(n)d 年", have=f.quality_years, n=v))
    if t in ("age_min", "age_max"):
        met = f.age is not None and (f.age >= v if t == "age_min" else f.age <= v)
        return Condition(t, describe(c), met, _("您的年龄为 %(a)s 周岁，要求%(r)s", a=f.age if f.age is not None else "—", r=describe(c)))
    if t == "enterprise_size":
        return Condition(t, describe(c), f.size is not None and f.size.value in c["values"],
                         _("您所在企业的规模为%(s)s，要求%(r)s", s=f.size.label if f.size else _("未知"), r=describe(c)))
    if t == "industry":
        return Condition(t, describe(c), f.industry.strip() in [x.strip() for x in c["values"]],
                         _("您所在企业的行业为“%(i)s”，要求%(r)s", i=f.industry or _("未填写"), r=describe(c)))
    reasons = disqualified()
    return Condition(t, describe(c), not reasons,
                     "；".join(reasons) if reasons else _("未发现严重质量事故、以权谋私、泄露秘密等取消资格情形"))


def evaluate_condition(c: dict, f: Facts, disqualified: Callable[[], list[str]] = lambda: []) -> Condition:
    """Evaluate one node of the tree; a branch that is not met says which of its parts are not and why."""
    t = c["type"]
    if t not in GROUP_TYPES:
        return _leaf(t, c, f, disqualified)
    if t == "not":
        sub = evaluate_condition(c["condition"], f, disqualified)
        return Condition(t, describe(c), not sub.met,
                         _("须不满足“%(x)s”，而您满足：%(d)s", x=sub.label, d=sub.detail) if sub.met else _("不属于“%(x)s”", x=sub.label))
    subs = [evaluate_condition(s, f, disqualified) for s in c["conditions"]]
    if t == "all_of":
        unmet = [s for s in subs if not s.met]
        return Condition(t, describe(c), not unmet,
                         _("未满足：") + "；".join(s.detail for s in unmet) if unmet else _("全部满足"))
    met = next((s for s in subs if s.met), None)
    return Condition(t, describe(c), met is not None,
                     _("已满足：") + met.label if met else _("均不满足：") + "；".join(s.detail for s in subs))


def evaluate_facts(rules: list, f: Facts, disqualified: Callable[[], list[str]] = lambda: [], *,
                   rule_set_name: str = "") -> Evaluation:
    """Evaluate a rule set (its group for the enterprise, then the group's conditions) against plain facts:
    the applicant's, or a sample profile's in the editor's preview."""
    ev = Evaluation()
    group = select_group(rules, f.size, f.region_path)
    if group is None:
        ev.conditions.append(Condition("group", _("适用规则"), False, _(
            "规则集“%(name)s”中没有适用于%(size)s企业的条件，请联系培训机构", name=rule_set_name,
            size=f.size.label if f.size else _("未知规模"))))
        return ev
    ev.group = group.get("name", "")
    ev.conditions.extend(evaluate_condition(c, f, disqualified) for c in group["conditions"])
    return ev


def rule_snapshot(session: Session, rule_set) -> dict | None:
    """The rule set as it stands, to keep with an application and its decision: a later edit of the set
    does not change what an application was decided by (issue 15)."""
    if rule_set is None:
        return None
    return {"id": rule_set.id, "name": rule_set.name, "rules": rule_set.rules,
            "reading": "；".join(describe_group(g) for g in rule_set.rules),
            "basis": basis_of(session, rule_set, "rules").text}


def evaluate(session: Session, user, programme, on_date: dt.date) -> Evaluation:
    """Evaluate the programme's eligibility rules and its prerequisite for ``user``; every condition is
    listed with a Chinese explanation, so an applicant sees all that is missing at once."""
    ev = Evaluation()
    profile = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    rule_set = programme.eligibility_rule_set
    if profile is None:
        ev.conditions.append(Condition("profile", _("实名资料"), False, _("尚未填写实名资料，请先在“我的资料”中填写")))
    elif rule_set is not None:
        if profile.enterprise is None:
            ev.conditions.append(Condition("enterprise", _("所在企业"), False,
                                           _("资料中没有所在企业，无法确定适用的企业规模条件")))
        found = evaluate_facts(rule_set.rules, facts_of(profile, on_date),
                               lambda: [r for fn in _disqualification_checkers if (r := fn(session, user))],
                               rule_set_name=rule_set.name)
        if found.group or profile.enterprise is not None:
            ev.group = found.group
            ev.conditions.extend(found.conditions)
    prereq = check_prerequisite(session, user, programme, on_date)
    if prereq is not None:
        ev.conditions.append(prereq)
    return ev


# ------------------------------------------------------------------ defaults (domain.md)
LARGE_MEDIUM = {"name": "大中型企业", "sizes": ["large", "medium"], "conditions": [
    {"type": "education_min", "value": "bachelor"},
    {"type": "title_min", "value": "intermediate"},
    {"type": "quality_years_min", "value": 5},
    {"type": "not_disqualified"},
]}
SMALL_MICRO = {"name": "小微企业", "sizes": ["small", "micro"], "conditions": [
    {"type": "education_min", "value": "secondary_technical"},
    {"type": "title_min", "value": "junior"},
    {"type": "quality_years_min", "value": 3},
    {"type": "not_disqualified"},
]}
NANTONG = {"name": "南通市（示例）", "region": "320600", "conditions": [
    {"type": "any_of", "conditions": [{"type": "education_min", "value": "junior_college"},
                                      {"type": "qualification_min", "value": "engineer"}]},
    {"type": "quality_years_min", "value": 3},
    {"type": "not_disqualified"},
]}
FUJIAN_RULES = [LARGE_MEDIUM, SMALL_MICRO]
JIANGSU_RULES = [LARGE_MEDIUM, SMALL_MICRO, NANTONG]
