"""Programmes of a province (or, where the province allows, of one of its cities; optionally of one industry line:
issue 15, several per tier and year), and the provinces' eligibility rule sets."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import eligibility
from courses.models import Course, EligibilityRuleSet, Programme
from courses.services.access import require_role
from courses.services.plans import programme_scope_errors
from lms import audit
from lms.domain import RegionLevel, Role, Tier
from lms.errors import Forbidden, ValidationFailed
from lms.orgs.models import Region
from lms.scoping import require_writable
from lms.settingbasis import BasisKind, basis_of, set_basis


@dataclass
class ProgrammeData:
    province_id: int
    tier: str
    year: int
    name: str
    pass_mark: float
    min_attendance_rate: float  # 0..1
    certificate_validity_years: int | None  # None: no validity, certificates have no end date (issue 14)
    requires_lower_tier: bool
    eligibility_rule_set_id: int | None
    course_ids: list[int] = field(default_factory=list)
    video_done_pct: int = 90  # issue 17: the share of a video that completes it
    video_no_skip_ahead: bool = False
    video_check_minutes: int | None = None  # attention checks about this often; None: none
    basis_kind: str = "example"  # where the pass mark, attendance, validity and hours come from (lms.settingbasis)
    basis_source: str = ""  # the document and clause, when basis_kind is "source"
    city_id: int | None = None  # a city's own programme (where the province allows it), issue 15
    industry: str | None = None  # an industry line's programme; None: every industry

# The programme's values that are province settings, each shown with its basis.
PROGRAMME_SETTINGS = ("total_hours", "pass_mark", "min_attendance_rate", "certificate_validity_years",
                      "video_done_pct", "video_no_skip_ahead", "video_check_minutes")


def _checked_programme(session: Session, actor, data: ProgrammeData, programme: Programme | None):
    """The programme form's values checked: (errors by field, province, tier, rule set, courses)."""
    errors: dict[str, str] = {}
    province = session.get(Region, data.province_id)
    if province is None or province.level != RegionLevel.province:
        errors["province_id"] = _("请选择省份")
    elif actor.role == Role.regulator_admin and not actor.region.path.startswith(province.path):
        errors["province_id"] = _("只能为本省制定培训方案（须为省级监管部门管理员）")
    if actor.role == Role.regulator_admin and actor.region.level not in (RegionLevel.province, RegionLevel.city):
        errors["province_id"] = _("只能为本省制定培训方案（须为省级监管部门管理员）")
    else:
        errors.update(programme_scope_errors(session, actor, province if "province_id" not in errors else None,
                                             data.city_id, data.industry))
    try:
        tier = Tier(data.tier)
    except ValueError:
        errors["tier"] = _("请选择培训层级")
        tier = None
    if not 2000 <= (data.year or 0) <= 2100:
        errors["year"] = _("年度须在 2000 到 2100 之间")
    if not (data.name or "").strip():
        errors["name"] = _("请填写方案名称")
    if not 0 < (data.pass_mark or 0) <= 100:
        errors["pass_mark"] = _("合格分数须在 1 到 100 之间")
    if not 50 <= (data.video_done_pct or 0) <= 100:
        errors["video_done_pct"] = _("视频学完比例须在 50% 到 100% 之间")
    if data.video_check_minutes is not None and not 1 <= data.video_check_minutes <= 120:
        errors["video_check_minutes"] = _("随机提问间隔须在 1 到 120 分钟之间，或留空")
    if not 0 < (data.min_attendance_rate or 0) <= 1:
        errors["min_attendance_rate"] = _("最低出勤率须在 1% 到 100% 之间")
    if data.certificate_validity_years is not None and not 1 <= data.certificate_validity_years <= 10:
        errors["certificate_validity_years"] = _("证书有效期须为 1 到 10 年")
    rule_set = session.get(EligibilityRuleSet, data.eligibility_rule_set_id) if data.eligibility_rule_set_id else None
    if data.eligibility_rule_set_id and (rule_set is None or (province and rule_set.province_id != province.id)):
        errors["eligibility_rule_set_id"] = _("报名条件规则集须属于同一省份")
    courses = list(session.scalars(select(Course).where(Course.id.in_(data.course_ids or [])))) if data.course_ids else []
    if not courses:
        errors["course_ids"] = _("请至少选择一门课程")
    errors.update(_basis_errors(data))
    return errors, province, tier, rule_set, courses


def save_programme(session: Session, actor, data: ProgrammeData, programme: Programme | None = None) -> Programme:
    """Create or update a programme. Province admins edit their own province's, a city's admin its city's (where
    the province allows); total hours are the sum of the courses' hours. Several programmes may share a tier
    and year (per city, per industry line: issue 15)."""
    require_role(actor, Role.regulator_admin, Role.system_admin)
    if programme is not None:
        require_writable(session, programme, actor)  # the programme as stored, not the province in the form (issue 18)
    errors, province, tier, rule_set, courses = _checked_programme(session, actor, data, programme)
    if errors:
        raise ValidationFailed(errors)
    if programme is None:
        programme = Programme(province_id=province.id)
        session.add(programme)
    programme.province_id = province.id
    programme.city_id = data.city_id or None
    programme.industry = (data.industry or "").strip() or None
    programme.tier = tier
    programme.year = data.year
    programme.name = data.name.strip()
    programme.pass_mark = data.pass_mark
    programme.min_attendance_rate = data.min_attendance_rate
    programme.video_done_pct, programme.video_no_skip_ahead = data.video_done_pct, bool(data.video_no_skip_ahead)
    programme.video_check_minutes = data.video_check_minutes
    programme.certificate_validity_years = data.certificate_validity_years
    programme.requires_lower_tier = bool(data.requires_lower_tier)
    programme.eligibility_rule_set_id = rule_set.id if rule_set else None
    programme.courses = courses
    programme.total_hours = round(sum(c.hours for c in courses), 1)
    session.flush()
    for name in PROGRAMME_SETTINGS:
        set_basis(session, programme, name, *_basis_for(name, data))
    audit.record(session, actor, "programme.save", programme, tier=tier.value, year=data.year, basis=data.basis_kind)
    return programme


def _basis_for(name: str, data: ProgrammeData) -> tuple[str, str]:
    """The basis recorded for one of the programme's settings: the form's, except the certificate validity, which
    no seed sets (issue 14): whether and how long certificates are valid is the province's own choice (本省自定),
    or the province's document where the form names one; a validity set is never an example."""
    if name == "certificate_validity_years" and data.certificate_validity_years is not None and data.basis_kind != "source":
        return "province", ""
    return data.basis_kind, data.basis_source


def _basis_errors(data: ProgrammeData) -> dict[str, str]:
    """A document basis names its document; an unknown kind is refused (checked before anything changes)."""
    try:
        kind = BasisKind(data.basis_kind)
    except ValueError:
        return {"basis_kind": _("请选择数值的依据：依据文件、本省自定或示例")}
    if kind is BasisKind.source and not (data.basis_source or "").strip():
        return {"basis_source": _("选择“依据”时须填写文件名称及条款")}
    return {}


def save_rule_set(session: Session, actor, province: Region, name: str, rules, rule_set: EligibilityRuleSet | None = None,
                  basis: tuple[str, str] | None = None) -> EligibilityRuleSet:
    """Create or update a province's eligibility rule set after checking its structure; ``basis`` (kind,
    source) says where the rules come from (None keeps the recorded one; a new set without one is 示例)."""
    require_role(actor, Role.regulator_admin, Role.system_admin)
    if rule_set is not None:
        require_writable(session, rule_set, actor)
    if actor.role == Role.regulator_admin and not (
        actor.region.level == RegionLevel.province and actor.region.path == province.path
    ):
        raise Forbidden(_("只有本省省级监管部门可以修改报名条件"))
    if not (name or "").strip():
        raise ValidationFailed({"name": _("请填写规则集名称")})
    eligibility.validate_rules(rules)
    if basis is not None:
        if basis[0] not in BasisKind.__members__:
            raise ValidationFailed({"basis_kind": _("请选择报名条件的依据：依据文件、本省自定或示例")})
        if basis[0] == BasisKind.source.value and not (basis[1] or "").strip():
            raise ValidationFailed({"basis_source": _("选择“依据”时须填写文件名称及条款")})
    if rule_set is None:
        rule_set = EligibilityRuleSet(province_id=province.id)
        session.add(rule_set)
    rule_set.name = name.strip()
    rule_set.rules = rules
    session.flush()
    if basis is not None:
        set_basis(session, rule_set, "rules", basis[0], basis[1])
    audit.record(session, actor, "eligibility_rules.save", rule_set)
    return rule_set




def programme_basis(session: Session, programme: Programme):
    """The basis recorded for the programme's settings (the form shows it when editing)."""
    return basis_of(session, programme, "pass_mark")
