"""Regions, bureaus, institutions and enterprises. Regulator admins manage those of their own region and
below; everything is validated with national formats (GB/T 2260 codes, GB 32100 credit codes)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from lms import audit
from lms.auth.models import User
from lms.domain import OwnershipType, RegionLevel, Role, SizeClass, Tier, has_control_characters
from lms.errors import FieldConflict, Forbidden, ValidationFailed
from lms.orgs.models import Enterprise, Institution, InstitutionAuthorisation, Region, Regulator

# The bureau level that authorises and supervises each tier (seed 003).
TIER_LEVEL = {Tier.basic: RegionLevel.county, Tier.advanced: RegionLevel.city, Tier.senior: RegionLevel.province}


def level_of_code(code: str) -> RegionLevel:
    """A GB/T 2260 code's level: ``xx0000`` a province, ``xxxx00`` a city, else a county."""
    if code.endswith("0000"):
        return RegionLevel.province
    if code.endswith("00"):
        return RegionLevel.city
    return RegionLevel.county


def ensure_region(session: Session, code: str, name: str, parent: Region | None = None, regulator_name: str | None = None) -> Region:
    """Create (or return) a region and its bureau. Idempotent: used by seeding and by the admin."""
    if not re.fullmatch(r"\d{6}", code):
        raise ValidationFailed({"code": _("行政区划代码应为 6 位数字")})
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None:
        level = level_of_code(code)
        if (parent is None) != (level == RegionLevel.province):
            raise ValidationFailed({"parent": _("省级地区不能有上级，市、县级地区必须有上级")})
        if parent is not None and level.rank != parent.level.rank + 1:
            raise ValidationFailed({"parent": _("上级地区的层级不正确")})
        region = Region(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                        path=(parent.path if parent else "") + code + "/")
        session.add(region)
        session.flush()
    if regulator_name and session.scalar(select(Regulator).where(Regulator.region_id == region.id)) is None:
        session.add(Regulator(region_id=region.id, name=regulator_name))
        session.flush()
    return region


def province_of(session: Session, region: Region | int) -> Region:
    """The province a region belongs to (itself for a province): the one answer every feature uses."""
    if isinstance(region, int):
        region = session.get(Region, region)
    if region.parent_id is None:
        return region
    return session.scalar(select(Region).where(Region.code == region.province_code))


def regulator_of(session: Session, region: Region) -> Regulator | None:
    """The market-regulation bureau of a region, if one is registered."""
    return session.scalar(select(Regulator).where(Regulator.region_id == region.id))


def validate_credit_code(value: str, field: str = "credit_code") -> str:
    """The normalised unified social credit code (GB 32100), or ValidationFailed on ``field`` saying why not."""
    code = (value or "").strip().upper()
    try:
        return uscc.validate(code)
    except InvalidLength:
        raise ValidationFailed({field: _("统一社会信用代码应为 18 位（当前 %(n)d 位）", n=len(code))})
    except InvalidChecksum:
        raise ValidationFailed({field: _("统一社会信用代码校验位不正确")})
    except ValidationError:
        raise ValidationFailed({field: _("统一社会信用代码格式不正确")})


def _check_region_managed(actor: User, region: Region) -> None:
    if actor.role == Role.system_admin:
        return
    if actor.role != Role.regulator_admin or actor.region is None or not actor.region.contains(region):
        raise Forbidden(_("只能管理本地区及下级地区的记录"))


@dataclass
class InstitutionData:
    name: str
    credit_code: str
    region_id: int | None
    contact_name: str = ""
    contact_phone: str = ""
    address: str = ""


def save_institution(session: Session, actor: User, data: InstitutionData, institution: Institution | None = None) -> Institution:
    """Create or update an institution in the actor's region or below."""
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not 2 <= len(name) <= 128:
        errors["name"] = _("请填写 2-128 字的机构名称")
    elif has_control_characters(name):
        errors["name"] = _("名称中不能包含控制字符或不可见字符")
    code = ""
    clash = None
    try:
        code = validate_credit_code(data.credit_code)
        clash = session.scalar(select(Institution.id).where(Institution.credit_code == code))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    region = session.get(Region, data.region_id) if data.region_id else None
    if region is None:
        errors["region_id"] = _("请选择所在地区")
    if errors:
        raise ValidationFailed(errors)
    _check_region_managed(actor, region)
    if institution is not None:
        _check_region_managed(actor, institution.region)
    if clash is not None and (institution is None or clash != institution.id):
        raise FieldConflict({"credit_code": _("该统一社会信用代码已登记")})
    if institution is None:
        institution = Institution(credit_code=code)
        session.add(institution)
    institution.name = name
    institution.credit_code = code
    institution.region_id = region.id
    institution.contact_name = (data.contact_name or "").strip()[:64]
    institution.contact_phone = (data.contact_phone or "").strip()[:32]
    institution.address = (data.address or "").strip()[:255]
    session.flush()
    audit.record(session, actor, "institution.save", institution)
    return institution


def may_authorise(actor: User, tier: Tier) -> bool:
    """May this admin authorise institutions for ``tier``? A bureau at or above the tier's level may."""
    if actor.role == Role.system_admin:
        return True
    return actor.role == Role.regulator_admin and actor.region.level.rank <= TIER_LEVEL[tier].rank


def authorise(session: Session, actor: User, institution: Institution, tier: Tier, valid_from: dt.date, valid_until: dt.date) -> InstitutionAuthorisation:
    """Authorise (or renew) an institution for a tier. Only a bureau at or above the tier's level may."""
    _check_region_managed(actor, institution.region)
    if valid_until < valid_from:
        raise ValidationFailed({"valid_until": _("有效期截止日不能早于起始日")})
    if not may_authorise(actor, tier):
        raise Forbidden(_("%(tier)s培训须由%(level)s级监管部门授权", tier=tier.label, level=TIER_LEVEL[tier].label))
    auth = session.scalar(
        select(InstitutionAuthorisation).where(
            InstitutionAuthorisation.institution_id == institution.id, InstitutionAuthorisation.tier == tier
        )
    )
    granted_by = regulator_of(session, actor.region) if actor.role == Role.regulator_admin else None
    if auth is None:
        auth = InstitutionAuthorisation(institution_id=institution.id, tier=tier, valid_from=valid_from,
                                        valid_until=valid_until)
        institution.authorisations.append(auth)
    auth.valid_from, auth.valid_until = valid_from, valid_until
    auth.granted_by_id = granted_by.id if granted_by else None
    session.flush()
    audit.record(session, actor, "institution.authorise", institution, tier=tier.value,
                 valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat())
    return auth


def withdraw_authorisation(session: Session, actor: User, institution: Institution, tier: Tier) -> None:
    """Withdraw an institution's authorisation for a tier (audited)."""
    _check_region_managed(actor, institution.region)
    for a in list(institution.authorisations):
        if a.tier == tier:
            institution.authorisations.remove(a)
            session.delete(a)
    session.flush()
    audit.record(session, actor, "institution.withdraw", institution, tier=tier.value)


@dataclass
class EnterpriseData:
    name: str
    credit_code: str
    region_id: int | None
    industry: str
    ownership_type: str
    size_class: str
    above_designated_size: bool
    main_products: str = ""
    address: str = ""


def validate_enterprise(session: Session, data: EnterpriseData, existing: Enterprise | None = None) -> dict:
    """Check an enterprise's fields (name, unique credit code, region, enums); the cleaned values, or
    ValidationFailed naming every bad field."""
    errors: dict[str, str] = {}
    clean: dict = {}
    clean["name"] = (data.name or "").strip()
    if not 2 <= len(clean["name"]) <= 128:
        errors["name"] = _("请填写 2-128 字的企业名称")
    elif has_control_characters(clean["name"]):
        errors["name"] = _("名称中不能包含控制字符或不可见字符")
    clash = None
    try:
        clean["credit_code"] = validate_credit_code(data.credit_code)
        clash = session.scalar(select(Enterprise.id).where(Enterprise.credit_code == clean["credit_code"]))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    region = session.get(Region, data.region_id) if data.region_id else None
    if region is None:
        errors["region_id"] = _("请选择所在地区")
    clean["region"] = region
    for f, enum_cls in (("ownership_type", OwnershipType), ("size_class", SizeClass)):
        try:
            clean[f] = enum_cls(data.__dict__[f])
        except ValueError:
            errors[f] = _("请选择有效的选项")
    clean["industry"] = (data.industry or "").strip()[:64]
    clean["above_designated_size"] = bool(data.above_designated_size)
    clean["main_products"] = (data.main_products or "").strip()[:2000]
    clean["address"] = (data.address or "").strip()[:255]
    if errors:
        raise ValidationFailed(errors)
    if clash is not None and (existing is None or clash != existing.id):
        raise FieldConflict({"credit_code": _("该统一社会信用代码已登记")})
    return clean


def save_enterprise(session: Session, actor: User | None, data: EnterpriseData, enterprise: Enterprise | None = None) -> Enterprise:
    """Create or update an enterprise. ``actor`` None is a trainee's self-registration (creation only)."""
    clean = validate_enterprise(session, data, enterprise)
    region = clean.pop("region")
    if actor is not None:
        _check_region_managed(actor, region)
        if enterprise is not None:
            _check_region_managed(actor, enterprise.region)
    if enterprise is None:
        enterprise = Enterprise(credit_code=clean["credit_code"])
        session.add(enterprise)
    for k, v in clean.items():
        setattr(enterprise, k, v)
    enterprise.region_id = region.id
    session.flush()
    audit.record(session, actor, "enterprise.save", enterprise)
    return enterprise


def find_enterprise_by_code(session: Session, code: str) -> Enterprise | None:
    """The registered enterprise with this credit code (trainees name theirs by it), or None."""
    return session.scalar(select(Enterprise).where(Enterprise.credit_code == (code or "").strip().upper()))

