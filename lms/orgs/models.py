from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.domain import OwnershipType, RegionLevel, Role, SizeClass, Tier, enum_column_type
from lms.pii import EncryptedText, mask_phone
from lms.scoping import scope_rule


class Region(Base):
    """An administrative division. ``path`` is the chain of codes from the province down, ending in '/',
    so 'this region and below' is one prefix comparison."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[RegionLevel] = mapped_column(enum_column_type(RegionLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    path: Mapped[str] = mapped_column(String(64), index=True)
    # Set when a reload of GB/T 2260 (``flask setup``) no longer lists the code: records keep pointing at it.
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)

    parent: Mapped["Region | None"] = relationship(remote_side=[id])

    @property
    def province_code(self) -> str:
        return self.path.split("/")[0]

    def contains(self, other: "Region") -> bool:
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class Regulator(Base):
    """The market-regulation bureau (市场监督管理局) of one region."""

    __tablename__ = "regulators"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    name: Mapped[str] = mapped_column(String(128))

    region: Mapped[Region] = relationship()


class TierOrganisation(Base):
    """Issue 15: which level of bureau runs, files and certifies a tier in a province, and which tier must be
    held before it. A province without a row for a tier uses the example default (lms.orgs.tiers)."""

    __tablename__ = "tier_organisations"
    __table_args__ = (UniqueConstraint("province_id", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    tier: Mapped[Tier] = mapped_column(enum_column_type(Tier))
    bureau_level: Mapped[RegionLevel] = mapped_column(enum_column_type(RegionLevel))
    prerequisite: Mapped[Tier | None] = mapped_column(enum_column_type(Tier), nullable=True)


class Institution(Base):
    """A training institution (培训机构) entrusted by a bureau."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(EncryptedText, default="")  # personal data: encrypted, shown masked
    address: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship()
    authorisations: Mapped[list["InstitutionAuthorisation"]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", order_by="InstitutionAuthorisation.tier"
    )

    @property
    def contact_phone_masked(self) -> str:
        return mask_phone(self.contact_phone)

    def authorised_for(self, tier: Tier, on: dt.date) -> bool:
        return any(a.tier == tier and a.valid_from <= on <= a.valid_until for a in self.authorisations)

    def tiers_in_force(self, on: dt.date) -> list[Tier]:
        return [a.tier for a in self.authorisations if a.valid_from <= on <= a.valid_until]


class InstitutionAuthorisation(Base):
    """A bureau's authorisation of an institution to deliver one tier, for a period."""

    __tablename__ = "institution_authorisations"
    __table_args__ = (UniqueConstraint("institution_id", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    tier: Mapped[Tier] = mapped_column(enum_column_type(Tier))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("regulators.id"))

    institution: Mapped[Institution] = relationship(back_populates="authorisations")
    granted_by: Mapped[Regulator | None] = relationship()


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    industry: Mapped[str] = mapped_column(String(64), default="")
    ownership_type: Mapped[OwnershipType] = mapped_column(enum_column_type(OwnershipType))
    size_class: Mapped[SizeClass] = mapped_column(enum_column_type(SizeClass))
    above_designated_size: Mapped[bool] = mapped_column(Boolean, default=False)
    main_products: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship()


Index("ix_enterprises_name", Enterprise.name)
Index("ix_institutions_name", Institution.name)


def region_subtree_ids(user):
    """Subquery of the ids of the user's region and every region below it."""
    return select(Region.id).where(Region.path.startswith(user.region.path)).scalar_subquery()


@scope_rule(Region)
def _region_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Region.path.startswith(user.region.path)
    return True  # the region tree itself is public knowledge (GB/T 2260)


@scope_rule(Regulator)
def _regulator_scope(user):
    return True  # bureaus are public bodies


@scope_rule(TierOrganisation)
def _tier_organisation_scope(user):
    return True  # how a province organises its tiers is published, like its programmes


@scope_rule(Institution)
def _institution_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Institution.region_id.in_(region_subtree_ids(user))
    if user.role == Role.institution_staff:
        return Institution.id == user.institution_id
    return False


# Enterprise's scope rule is in lms.people.models: a trainee sees the enterprise of their own profile.
