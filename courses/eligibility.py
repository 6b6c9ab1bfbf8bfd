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
from lms.people.models import TraineeProfile

CONDITION_TYPES = ("education_min", "title_min", "qualification_min", "quality_years_min", "not_disqualified", "any_of")


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


def lower_tier(tier: Tier) -> Tier | None:
    """The tier below ``tier`` (None for the basic tier)."""
    order = list(Tier)
    i = order.index(tier)
    return order[i - 1] if i > 0 else None


def check_prerequisite(session: Session, user, programme, on_date: dt.date) -> Condition | None:
    """The prerequisite as a condition, or None when the programme has none (basic tier, or switched off)."""
    below = lower_tier(programme.tier)
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
def validate_rules(rules: Any) -> list:
    """Check a rule set's structure; raise ValidationFailed on ``rules`` naming the first problem."""

    def fail(msg):
        raise ValidationFailed({"rules": msg})

    def check_condition(c, where):
        if not isinstance(c, dict) or c.get("type") not in CONDITION_TYPES:
            fail(_("%(where)s：条件类型须为 %(types)s 之一", where=where, types="、".join(CONDITION_TYPES)))
        t, v = c["type"], c.get("value")
        enum = {"education_min": EducationLevel, "title_min": TitleLevel, "qualification_min": QualityQualification}.get(t)
        if enum is not None and v not in enum.__members__:
            fail(_("%(where)s：%(type)s 的取值须为 %(values)s 之一", where=where, type=t, values="、".join(enum.__members__)))
        if t == "quality_years_min" and not (isinstance(v, int) and 0 <= v <= 60):
            fail(_("%(where)s：质量工作年限须为 0-60 的整数", where=where))
        if t == "any_of":
            subs = c.get("conditions")
            if not isinstance(subs, list) or len(subs) < 2:
                fail(_("%(where)s：any_of 须包含至少两个条件", where=where))
            for j, sub in enumerate(subs, 1):
                check_condition(sub, f"{where}-{j}")

    if not isinstance(rules, list) or not rules:
        fail(_("规则须为非空列表"))
    for i, group in enumerate(rules, 1):
        where = _("第 %(n)d 组", n=i)
        if not isinstance(group, dict) or not isinstance(group.get("conditions"), list):
            fail(_("%(where)s：须包含 conditions 列表", where=where))
        for s in group.get("sizes") or []:
            if s not in SizeClass.__members__:
                fail(_("%(where)s：企业规模 %(s)s 无效", where=where, s=s))
        region = group.get("region")
        if region is not None and not (isinstance(region, str) and len(region) == 6 and region.isdigit()):
            fail(_("%(where)s：地区须为 6 位行政区划代码", where=where))
        for j, c in enumerate(group["conditions"], 1):
            check_condition(c, f"{where}{_('条件')}{j}")
    return rules


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


def describe_condition(c: dict) -> str:
    """A rule's condition as the programme page shows it, in the words the evaluation uses (no codes)."""
    t, v = c["type"], c.get("value")
    if t == "education_min":
        return _("学历：%(need)s及以上", need=EducationLevel(v).label)
    if t == "title_min":
        return _("职称：%(need)s及以上", need=TitleLevel(v).label)
    if t == "qualification_min":
        return _("质量专业资格：%(need)s及以上", need=QualityQualification(v).label)
    if t == "quality_years_min":
        return _("质量工作年限：%(n)d 年及以上", n=v)
    if t == "not_disqualified":
        return _("无取消资格情形")
    return _("满足其一：") + " / ".join(describe_condition(s) for s in c["conditions"])


def _evaluate_condition(session: Session, c: dict, profile, user) -> Condition:
    t, v = c["type"], c.get("value")
    if t == "education_min":
        need = EducationLevel(v)
        have = profile.education
        return Condition(t, _("学历：%(need)s及以上", need=need.label), have.rank >= need.rank,
                         _("您填报的学历为%(have)s，要求%(need)s及以上", have=have.label, need=need.label))
    if t == "title_min":
        need = TitleLevel(v)
        have = profile.title_level
        return Condition(t, _("职称：%(need)s及以上", need=need.label), have.rank >= need.rank,
                         _("您填报的职称等级为%(have)s，要求%(need)s及以上", have=have.label, need=need.label))
    if t == "qualification_min":
        need = QualityQualification(v)
        have = profile.quality_qualification
        return Condition(t, _("质量专业资格：%(need)s及以上", need=need.label), have.rank >= need.rank,
                         _("您填报的质量专业资格为%(have)s，要求%(need)s及以上", have=have.label, need=need.label))
    if t == "quality_years_min":
        return Condition(t, _("质量工作年限：%(n)d 年及以上", n=v), profile.quality_years >= v,
                         _("您填报的质量工作年限为 %(have)d 年，要求不少于 %(n)d 年", have=profile.quality_years, n=v))
    if t == "not_disqualified":
        reasons = [r for fn in _disqualification_checkers if (r := fn(session, user))]
        return Condition(t, _("无取消资格情形"), not reasons,
                         "；".join(reasons) if reasons else _("未发现严重质量事故、以权谋私、泄露秘密等取消资格情形"))
    if t == "any_of":
        subs = [_evaluate_condition(session, s, profile, user) for s in c["conditions"]]
        label = _("满足其一：") + " / ".join(s.label for s in subs)
        met = any(s.met for s in subs)
        detail = _("已满足：") + next(s.label for s in subs if s.met) if met else _("均不满足：") + "；".join(s.detail for s in subs)
        return Condition(t, label, met, detail)
    raise ValueError(t)


def evaluate(session: Session, user, programme, on_date: dt.date) -> Evaluation:
    """Evaluate the programme's eligibility rules and its prerequisite for ``user``; every condition is
    listed with a Chinese explanation, so an applicant sees all that is missing at once."""
    ev = Evaluation()
    profile = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    rule_set = programme.eligibility_rule_set
    if profile is None:
        ev.conditions.append(Condition("profile", _("实名资料"), False, _("尚未填写实名资料，请先在“我的资料”中填写")))
    elif rule_set is not None:
        ent = profile.enterprise
        if ent is None:
            ev.conditions.append(Condition("enterprise", _("所在企业"), False,
                                           _("资料中没有所在企业，无法确定适用的企业规模条件")))
        group = select_group(rule_set.rules, ent.size_class if ent else None, ent.region.path if ent else "")
        if group is None:
            if ent is not None:
                ev.conditions.append(Condition("group", _("适用规则"), False, _(
                    "规则集“%(name)s”中没有适用于%(size)s企业的条件，请联系培训机构", name=rule_set.name,
                    size=ent.size_class.label)))
        else:
            ev.group = group.get("name", "")
            ev.conditions.extend(_evaluate_condition(session, c, profile, user) for c in group["conditions"])
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
NANTONG = {"name": "南通市（《南通市首席质量官管理办法》）", "region": "320600", "conditions": [
    {"type": "any_of", "conditions": [{"type": "education_min", "value": "junior_college"},
                                      {"type": "qualification_min", "value": "engineer"}]},
    {"type": "quality_years_min", "value": 3},
    {"type": "not_disqualified"},
]}
FUJIAN_RULES = [LARGE_MEDIUM, SMALL_MICRO]
JIANGSU_RULES = [LARGE_MEDIUM, SMALL_MICRO, NANTONG]
