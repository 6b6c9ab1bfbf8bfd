from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, false, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import EducationLevel, Gender, QualityQualification, Role, TitleLevel, enum_column_type
from lms.orgs.models import Enterprise, region_subtree_ids
from lms.pii import EncryptedText, mask_id_number, mask_phone
from lms.scoping import scope_rule


class TraineeProfile(Base):
    """The real-name fields of the registration form (seed 002, annex 登记表).

    ``id_number`` and ``phone`` are encrypted at rest; ``id_number_hash`` is a keyed hash for uniqueness
    and exact look-ups. Gender and date of birth are derived from the ID number, never typed.
    """

    __tablename__ = "trainee_profiles"
    # PostgreSQL (issue 20): the characters of the name, GIN-indexed, so that "part of a name" (the regulator's
    # pool search) finds its matches by index: names are two or three characters, too short for trigrams.
    # ``NAME_CHARS`` is the indexed expression; SQLite matches on the name index instead.
    __table_args__ = (Index("ix_trainee_profiles_name_chars", text("string_to_array(real_name, NULL)"),
                            postgresql_using="gin").ddl_if(dialect="postgresql"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    real_name: Mapped[str] = mapped_column(String(64), index=True)
    id_number: Mapped[str] = mapped_column(EncryptedText)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    gender: Mapped[Gender] = mapped_column(enum_column_type(Gender))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    education: Mapped[EducationLevel] = mapped_column(enum_column_type(EducationLevel))
    school: Mapped[str] = mapped_column(String(128), default="")
    major: Mapped[str] = mapped_column(String(64), default="")
    title_level: Mapped[TitleLevel] = mapped_column(enum_column_type(TitleLevel))
    professional_title: Mapped[str] = mapped_column(String(64), default="")
    quality_qualification: Mapped[QualityQualification] = mapped_column(
        enum_column_type(QualityQualification), default=QualityQualification.none
    )
    quality_years: Mapped[int] = mapped_column(Integer)
    current_post: Mapped[str] = mapped_column(String(64), default="")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    phone: Mapped[str] = mapped_column(EncryptedText)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(128), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    postcode: Mapped[str] = mapped_column(String(6), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(backref="trainee_profile")
    enterprise: Mapped[Enterprise | None] = relationship()

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class PledgeSignature(Base):
    """A signed integrity pledge (质量诚信承诺书): which text version, when, and in which context."""

    __tablename__ = "pledge_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(64), default="registration")
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PledgeText(Base):
    """A version of the pledge's wording. Signatures point to the version they accepted."""

    __tablename__ = "pledge_texts"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@scope_rule(TraineeProfile)
def _profile_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        ents = select(Enterprise.id).where(Enterprise.region_id.in_(region_subtree_ids(user))).scalar_subquery()
        return TraineeProfile.enterprise_id.in_(ents)
    if user.role == Role.trainee:
        return TraineeProfile.user_id == user.id
    # Institution staff see the trainees who apply to their classes: that rule is added by the courses
    # package, which owns enrolments.
    return _extra_staff_rule(user)


_staff_rules: list = []


def add_staff_profile_rule(fn) -> None:
    """Let a feature widen what institution staff may see of profiles (e.g. their applicants)."""
    _staff_rules.append(fn)


def _extra_staff_rule(user):
    conds = [fn(user) for fn in _staff_rules]
    return or_(*conds) if conds else false()


@scope_rule(PledgeSignature)
def _pledge_scope(user):
    if user.role == Role.system_admin:
        return True
    return PledgeSignature.user_id == user.id


# Declared here rather than beside Enterprise (lms.orgs.models): a trainee sees the enterprise of their own
# profile, and the organisations know nothing of profiles (people imports orgs, never the other way round).
@scope_rule(Enterprise)
def _enterprise_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Enterprise.region_id.in_(region_subtree_ids(user))
    if user.role == Role.trainee:
        own = select(TraineeProfile.enterprise_id).where(TraineeProfile.user_id == user.id).scalar_subquery()
        return Enterprise.id == own
    if user.role == Role.enterprise:  # an enterprise's account sees its own enterprise (issue 14)
        return Enterprise.id == user.enterprise_id if user.enterprise_id else False
    return False
