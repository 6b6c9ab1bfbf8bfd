"""Continuing education (年度继续教育): the per-province rule, credit records, claims for external
activities, the annual performance report (履职报告), and each year's rolled-up standing."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, false, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import LabelledEnum, Role, enum_column_type
from lms.orgs.models import Enterprise, Region, region_subtree_ids
from lms.people.models import TraineeProfile
from lms.scoping import scope_rule


class SubjectCategory(LabelledEnum):
    public = "public"
    professional = "professional"

    @classmethod
    def _labels(cls):
        return {"public": _l("公需科目"), "professional": _l("专业科目")}


class ClaimStatus(LabelledEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"

    @classmethod
    def _labels(cls):
        return {"pending": _l("待审核"), "approved": _l("已通过"), "rejected": _l("已退回")}


FIRST_YEAR_RULES = ("exempt", "prorate")


class ProvinceRule(Base):
    """A province's rules: the yearly CE requirement (calendar year) and the change-registration deadline.

    The default is seed 002 §4(3): 「首席质量官在任期内应按规定递交年度质量管理绩效报告或继续教育证明」 — a CQO
    in office hands in a performance report OR proof of CE (``ce_either``); the year a person is certified or
    appointed is not held against them (``first_year`` "exempt"; a province may choose "prorate"). The hours
    (90, professional ≥ 60, per domain.md) are no seed's: a province's own choice (本省自定) or an example
    (示例), as their recorded basis says (``lms.settingbasis``). With ``ce_either`` off a province requires the
    hours AND (when ``report_required``) the report."""

    __tablename__ = "province_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    required_hours: Mapped[int] = mapped_column(Integer, default=90)
    professional_min_hours: Mapped[int] = mapped_column(Integer, default=60)
    report_required: Mapped[bool] = mapped_column(Boolean, default=True)
    report_due_month: Mapped[int] = mapped_column(Integer, default=12)
    change_registration_days: Mapped[int] = mapped_column(Integer, default=30)
    ce_either: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    first_year: Mapped[str] = mapped_column(String(16), default="exempt", server_default="exempt")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    province: Mapped[Region] = relationship()


class CreditRecord(Base):
    """Hours credited to a person for a year. ``source_ref`` is unique: awarding twice is a no-op."""

    __tablename__ = "credit_records"
    # The roll-up reads one year's records a range of people at a time (talent's standings): by
    # (year, user_id), covering the two columns it sums, so that no table row is read; it also serves every
    # "this year's records" query the plain year index served.
    __table_args__ = (Index("ix_credit_records_year_user_id", "year", "user_id", "subject_category", "hours"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False))
    subject_category: Mapped[SubjectCategory] = mapped_column(enum_column_type(SubjectCategory))
    source: Mapped[str] = mapped_column(String(16))  # system | external
    source_ref: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditClaim(Base):
    """An external activity the trainee claims, with evidence, for the bureau or an institution to review."""

    __tablename__ = "credit_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    organiser: Mapped[str] = mapped_column(String(128), default="")
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    activity_date: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False))
    subject_category: Mapped[SubjectCategory] = mapped_column(enum_column_type(SubjectCategory))
    evidence_path: Mapped[str] = mapped_column(String(255))
    evidence_name: Mapped[str] = mapped_column(String(128))
    evidence_mime: Mapped[str] = mapped_column(String(100))
    status: Mapped[ClaimStatus] = mapped_column(enum_column_type(ClaimStatus), default=ClaimStatus.pending, index=True)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AnnualReport(Base):
    """The annual performance report (履职报告) a CQO files each year."""

    __tablename__ = "annual_reports"
    __table_args__ = (UniqueConstraint("user_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class YearStanding(Base):
    """A person's CE standing for a closed year, written by the roll-up (rewritten if it runs again)."""

    __tablename__ = "year_standings"
    # The roll-up writes and reads one year's standings a range of people at a time (user_id > lo AND user_id <= hi
    # AND year = y), the pool's page a person's years: the unique (user_id, year) index answers both (EXPLAIN on
    # both databases, tests/unit/test_perf_rollup.py). A (year, user_id) index beside it served no query and cost
    # every upsert a third index (issue 20, revision 0020s dropped it); no query reads the standings by year alone.
    __table_args__ = (UniqueConstraint("user_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # the unique (user_id, year) serves
    year: Mapped[int] = mapped_column(Integer)
    hours_total: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False))
    hours_professional: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False))
    report_filed: Mapped[bool] = mapped_column(Boolean)
    # held: the person was held to the rule that year (in office, not their first year); compliant: not held, or
    # held and the rule met; hours_ok: the (prorated) hours were met.
    held: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    hours_ok: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    compliant: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def _people_in_region(user):
    ents = select(Enterprise.id).where(Enterprise.region_id.in_(region_subtree_ids(user)))
    return select(TraineeProfile.user_id).where(TraineeProfile.enterprise_id.in_(ents)).scalar_subquery()


def _own_or_region(model):
    def rule(user):
        if user.role == Role.system_admin:
            return True
        if user.role == Role.regulator_admin:
            return model.user_id.in_(_people_in_region(user))
        if user.role == Role.trainee:
            return model.user_id == user.id
        return False

    return rule


scope_rule(CreditRecord)(_own_or_region(CreditRecord))
scope_rule(AnnualReport)(_own_or_region(AnnualReport))
scope_rule(YearStanding)(_own_or_region(YearStanding))


@scope_rule(CreditClaim)
def _claim_scope(user):
    if user.role == Role.institution_staff:
        return CreditClaim.institution_id == user.institution_id
    return _own_or_region(CreditClaim)(user)


@scope_rule(ProvinceRule)
def _rule_scope(user):
    return True  # the rules are published requirements
