"""The domain's shared vocabulary (domain.md's glossary). Each enum carries its Chinese label; labels are
marked for translation so English pages show English."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum


class LabelledEnum(str, enum.Enum):
    """A string enum whose members have a translatable label and, where it matters, an order."""

    @property
    def label(self) -> str:
        return str(self._labels()[self.value])

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @property
    def rank(self) -> int:
        return list(type(self)).index(self)


class Tier(LabelledEnum):
    basic = "basic"
    advanced = "advanced"
    senior = "senior"

    @classmethod
    def _labels(cls):
        return {"basic": _l("基础"), "advanced": _l("提升"), "senior": _l("高级")}

    @property
    def code(self) -> str:
        return {"basic": "B", "advanced": "A", "senior": "S"}[self.value]


class RegionLevel(LabelledEnum):
    province = "province"
    city = "city"
    county = "county"

    @classmethod
    def _labels(cls):
        return {"province": _l("省"), "city": _l("市"), "county": _l("县(区)")}


class Role(LabelledEnum):
    trainee = "trainee"
    institution_staff = "institution_staff"
    regulator_admin = "regulator_admin"
    system_admin = "system_admin"
    enterprise = "enterprise"  # an enterprise's account (user.enterprise_id): registers its CQO (issue 14)

    @classmethod
    def _labels(cls):
        return {
            "trainee": _l("学员"),
            "institution_staff": _l("培训机构工作人员"),
            "regulator_admin": _l("监管部门管理员"),
            "system_admin": _l("系统管理员"),
            "enterprise": _l("企业账号"),
        }


class Gender(LabelledEnum):
    male = "male"
    female = "female"

    @classmethod
    def _labels(cls):
        return {"male": _l("男"), "female": _l("女")}


class EducationLevel(LabelledEnum):
    """In ascending order: ``rank`` compares levels."""

    junior_high = "junior_high"
    senior_high = "senior_high"
    secondary_technical = "secondary_technical"
    junior_college = "junior_college"
    bachelor = "bachelor"
    master = "master"
    doctorate = "doctorate"

    @classmethod
    def _labels(cls):
        return {
            "junior_high": _l("初中及以下"),
            "senior_high": _l("高中"),
            "secondary_technical": _l("中专"),
            "junior_college": _l("大专"),
            "bachelor": _l("本科"),
            "master": _l("硕士研究生"),
            "doctorate": _l("博士研究生"),
        }


class TitleLevel(LabelledEnum):
    """Professional title (职称) level, ascending."""

    none = "none"
    junior = "junior"
    intermediate = "intermediate"
    associate_senior = "associate_senior"
    senior = "senior"

    @classmethod
    def _labels(cls):
        return {
            "none": _l("无"),
            "junior": _l("初级"),
            "intermediate": _l("中级"),
            "associate_senior": _l("副高级"),
            "senior": _l("正高级"),
        }


class QualityQualification(LabelledEnum):
    """Quality professional qualification (质量专业技术人员职业资格), ascending."""

    none = "none"
    assistant_engineer = "assistant_engineer"
    engineer = "engineer"
    senior_engineer = "senior_engineer"

    @classmethod
    def _labels(cls):
        return {
            "none": _l("无"),
            "assistant_engineer": _l("助理质量工程师(初级)"),
            "engineer": _l("质量工程师(中级)"),
            "senior_engineer": _l("高级质量工程师"),
        }


class SizeClass(LabelledEnum):
    large = "large"
    medium = "medium"
    small = "small"
    micro = "micro"

    @classmethod
    def _labels(cls):
        return {"large": _l("大型"), "medium": _l("中型"), "small": _l("小型"), "micro": _l("微型")}

    @property
    def is_large_or_medium(self) -> bool:
        return self in (SizeClass.large, SizeClass.medium)


class OwnershipType(LabelledEnum):
    state = "state"
    collective = "collective"
    private = "private"
    joint_stock = "joint_stock"
    foreign = "foreign"
    other = "other"

    @classmethod
    def _labels(cls):
        return {
            "state": _l("国有"),
            "collective": _l("集体"),
            "private": _l("民营"),
            "joint_stock": _l("股份制"),
            "foreign": _l("外资/合资"),
            "other": _l("其他"),
        }


def enum_column_type(enum_cls: type[enum.Enum]):
    """A portable, non-native enum column (VARCHAR on every backend, no DDL to migrate per value)."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def has_control_characters(text: str) -> bool:
    """Does ``text`` hold a control or invisible formatting character (C0/C1 controls, bidi overrides, zero-width
    marks)? Names with them are refused (issue 18): they break lists and exports and can disguise one name as
    another."""
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or 0x200B <= ord(ch) <= 0x200F or 0x202A <= ord(ch) <= 0x202E
               or 0x2066 <= ord(ch) <= 0x2069 or ord(ch) == 0xFEFF for ch in text)
