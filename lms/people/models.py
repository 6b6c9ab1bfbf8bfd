from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, Column, Date, ForeignKey, Index, Integer, String, Table, Text, event, false, or_, select, text
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


# SQLite (issue 20): each character of each trainee's name, kept by triggers on trainee_profiles (below), so that
# "part of a name" (the regulator's pool search) reads the profiles holding its characters by primary key instead
# of every name of the name index (~25-60 ms at 200,000 people, once a page). The counterpart of PostgreSQL's GIN
# index on the name's characters: there the table exists (one schema for both) but stays empty and unread.
trainee_name_chars = Table(
    "trainee_name_chars", Base.metadata,
    Column("ch", String(1), primary_key=True), Column("user_id", Integer, primary_key=True),
    sqlite_with_rowid=False)

# The name's positions 1..64 (real_name is VARCHAR(64)): a trigger body may not hold a WITH clause.
_POSITIONS = " UNION ALL ".join(f"SELECT {i} AS n" for i in range(1, 65))
_CHARS_OF_NEW = ("INSERT OR IGNORE INTO trainee_name_chars (ch, user_id) SELECT substr(NEW.real_name, p.n, 1), NEW.user_id "
                 f"FROM ({_POSITIONS}) AS p WHERE p.n <= length(NEW.real_name);")
NAME_CHARS_SQLITE_DDL = (
    f"CREATE TRIGGER IF NOT EXISTS trainee_name_chars_ins AFTER INSERT ON trainee_profiles BEGIN {_CHARS_OF_NEW} END",
    "CREATE TRIGGER IF NOT EXISTS trainee_name_chars_upd AFTER UPDATE OF real_name ON trainee_profiles BEGIN "
    f"DELETE FROM trainee_name_chars WHERE user_id = OLD.user_id; {_CHARS_OF_NEW} END",
    "CREATE TRIGGER IF NOT EXISTS trainee_name_chars_del AFTER DELETE ON trainee_profiles BEGIN "
    "DELETE FROM trainee_name_chars WHERE user_id = OLD.user_id; END",
)
NAME_CHARS_SQLITE_FILL = ("INSERT OR IGNORE INTO trainee_name_chars (ch, user_id) SELECT substr(t.real_name, p.n, 1), t.user_id "
                          f"FROM trainee_profiles AS t JOIN ({_POSITIONS}) AS p ON p.n <= length(t.real_name)")
for _ddl in NAME_CHARS_SQLITE_DDL:  # with the schema (create_all, once both tables exist); migration 0020p otherwise
    event.listen(Base.metadata, "after_create", DDL(_ddl).execute_if(dialect="sqlite"))
