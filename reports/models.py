"""What institutions file with their bureau, and what the bureau sets: class filings, results reports, annual
work reports, offline-result imports, the province's reporting rules and the yearly appointment-rate targets."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import LabelledEnum, Role, enum_column_type
from lms.orgs.models import Institution, Region, Regulator, region_subtree_ids
from lms.scoping import scope_rule


class ReviewStatus(LabelledEnum):
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"

    @classmethod
    def _labels(cls):
        return {"submitted": _l("待审核"), "accepted": _l("已接收"), "returned": _l("已退回")}


class ClassFiling(Base):
    """A class filed (报备) with the bureau of its tier before it starts. ``snapshot`` keeps what was filed
    (programme, timetable, teachers, capacity) so later edits of the class do not rewrite the record."""

    __tablename__ = "class_filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)  # the class's region
    bureau_id: Mapped[int] = mapped_column(ForeignKey("regulators.id"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(enum_column_type(ReviewStatus), index=True)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str] = mapped_column(Text, default="")

    training_class = relationship("TrainingClass")
    institution: Mapped[Institution] = relationship()
    bureau: Mapped[Regulator] = relationship()


class ResultsReport(Base):
    """After a class: the roster with attendance rates, exam results and certificates issued (``rows``),
    filled in from the system when submitted; the bureau accepts or returns it."""

    __tablename__ = "results_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("regulators.id"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(enum_column_type(ReviewStatus), index=True)
    rows: Mapped[list] = mapped_column(JSON, default=list)
    totals: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str] = mapped_column(Text, default="")

    training_class = relationship("TrainingClass")
    institution: Mapped[Institution] = relationship()
    bureau: Mapped[Regulator] = relationship()


class AnnualWorkReport(Base):
    """An institution's annual work report (年度工作情况报告): the year's figures from the system, plus narrative."""

    __tablename__ = "annual_work_reports"
    __table_args__ = (UniqueConstraint("institution_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    narrative: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    institution: Mapped[Institution] = relationship()


class ReportingSettings(Base):
    """A province's reporting rules (data, not code)."""

    __tablename__ = "reporting_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    hold_certificates_until_report: Mapped[bool] = mapped_column(Boolean, default=False)
    key_industries: Mapped[list] = mapped_column(JSON, default=list)  # industry names as on the enterprise
    annual_report_due: Mapped[str] = mapped_column(String(5), default="01-31")  # MM-DD of the following year
    # Where the key industries come from (the province's document, or 示例/本省自定): shown beside them.
    key_industries_basis: Mapped[str] = mapped_column(Text, default="", server_default="")

    province: Mapped[Region] = relationship()


class TargetCategory(LabelledEnum):
    above_size = "above_size"
    small_micro_key = "small_micro_key"

    @classmethod
    def _labels(cls):
        # Seed 002: 「规模以上企业首席质量官聘任率」 and 「重点行业中小微企业首席质量官聘任率」 (medium, small
        # and micro firms in the industries the province lists; the stored value keeps its old name).
        return {"above_size": _l("规模以上企业"), "small_micro_key": _l("重点行业中小微企业")}


class AppointmentTarget(Base):
    """The appointment rate (聘任率) a bureau sets for its region for a year, per enterprise category."""

    __tablename__ = "appointment_targets"
    __table_args__ = (UniqueConstraint("region_id", "year", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[TargetCategory] = mapped_column(enum_column_type(TargetCategory))
    rate: Mapped[float] = mapped_column(Float)  # 0..1
    # The document the target comes from (e.g. 崇质强办文〔2022〕3号), or 示例 / 本地自定: shown beside it.
    basis: Mapped[str] = mapped_column(Text, default="", server_default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship()


class ComplianceFigure(Base):
    """A year's continuing-education compliance of the pool members registered in one region (its own entries, not
    its subregions'), as the scheduled job ``reports-dashboard-figures`` last computed it (issue 20): the live
    figure is a pass over every member's credit records (2,000,000 rows for a province of 200,000), too slow for
    a page. The dashboard sums these rows over a region's subtree and shows ``computed_at``."""

    __tablename__ = "report_compliance_figures"
    __table_args__ = (UniqueConstraint("year", "region_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    members: Mapped[int] = mapped_column(Integer, default=0)  # held to the rule that year (seed 002 §4(3))
    compliant: Mapped[int] = mapped_column(Integer, default=0)
    hours_short: Mapped[int] = mapped_column(Integer, default=0)
    report_missing: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CountFigure(Base):
    """A count the dashboard shows for one region (its own records, not its subregions'), kept by the same job
    (issue 20): trainees trained, assessed and passed and certificates first issued (``figure``) per year and tier
    (``key``), and today's pool entries and current certificates per status (``year`` 0). Each is a pass over
    tables that grow with the people (57,000 enrolments, 50,000 certificates, 200,000 pool entries at the bench's
    scale): read on every view by eight bureau users, they took the two cores. A row with ``figure`` "range" holds
    the first and last years kept (``key`` "from"/"to")."""

    __tablename__ = "report_count_figures"
    __table_args__ = (UniqueConstraint("figure", "year", "region_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    figure: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResultImport(Base):
    """One accepted upload of offline results for a class: validated in full before this row exists, then
    applied in the background in chunks (``done`` of ``total`` rows). ``content_hash`` makes a second upload
    of the same file a no-op."""

    __tablename__ = "result_imports"
    __table_args__ = (UniqueConstraint("class_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / running / done / failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[list] = mapped_column(JSON, default=list)  # the validated rows, as applied
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


# ------------------------------------------------------------------ who sees what
def _by_institution_and_region(model):
    def rule(user):
        if user.role == Role.system_admin:
            return True
        if user.role == Role.regulator_admin:
            return model.region_id.in_(region_subtree_ids(user))
        if user.role == Role.institution_staff:
            return model.institution_id == user.institution_id
        return False

    return rule


scope_rule(ClassFiling)(_by_institution_and_region(ClassFiling))
scope_rule(ResultsReport)(_by_institution_and_region(ResultsReport))
scope_rule(AnnualWorkReport)(_by_institution_and_region(AnnualWorkReport))


@scope_rule(ResultImport)
def _import_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.institution_staff:
        return ResultImport.institution_id == user.institution_id
    return False


@scope_rule(ReportingSettings)
def _settings_scope(user):
    return True  # a province's rules are public


@scope_rule(AppointmentTarget)
def _target_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return AppointmentTarget.region_id.in_(
            select(Region.id).where(Region.path.startswith(user.region.path)).scalar_subquery())
    return False


@scope_rule(ComplianceFigure)
def _figure_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return ComplianceFigure.region_id.in_(region_subtree_ids(user))
    return False


@scope_rule(CountFigure)
def _count_figure_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return CountFigure.region_id.in_(region_subtree_ids(user))
    return False
