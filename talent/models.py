"""The talent pool (人才库), appointment registrations (登记表), public notices (公示), the evaluation
indicator tree and evaluations. Certificates are referenced by plain columns (no foreign key): the
pool follows the certificates feature's signals (``talent.wiring``, ``talent.services.entries``)."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from lms import changes
from lms.auth.models import User
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import LabelledEnum, Role, Tier, enum_column_type
from lms.orgs.models import Enterprise, Region, region_subtree_ids
from lms.pii import EncryptedText, mask_phone
from lms.scoping import scope_rule


class PoolStatus(LabelledEnum):
    active = "active"
    warning = "warning"
    lapsed = "lapsed"
    exited = "exited"
    suspended = "suspended"  # a bureau's suspension (talent.services.sanctions)

    @classmethod
    def _labels(cls):
        return {"active": _l("在库"), "warning": _l("警示"), "lapsed": _l("失效"), "exited": _l("退出"),
                "suspended": _l("暂停")}


class Cause(LabelledEnum):
    certified = "certified"
    missed_credits = "missed_credits"
    missing_report = "missing_report"
    overdue_registration = "overdue_registration"
    revoked_certificate = "revoked_certificate"
    certificate_expired = "certificate_expired"
    disqualification = "disqualification"
    manual = "manual"
    restored = "restored"
    moved = "moved"
    renewed = "renewed"
    sanction = "sanction"  # a bureau's warning or suspension (talent.services.sanctions)

    @classmethod
    def _labels(cls):
        return {
            "certified": _l("取得证书入库"),
            "missed_credits": _l("继续教育学时不足"),
            "missing_report": _l("未提交年度履职报告"),
            "overdue_registration": _l("变更登记逾期"),
            "revoked_certificate": _l("证书被撤销"),
            "certificate_expired": _l("证书已过期"),
            "disqualification": _l("取消资格"),
            "manual": _l("人工决定"),
            "restored": _l("恢复合规"),
            "moved": _l("变更所在企业或地区"),
            "renewed": _l("证书续期"),
            "sanction": _l("监管部门处理"),
        }


class RegistrationStatus(LabelledEnum):
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"

    @classmethod
    def _labels(cls):
        return {"submitted": _l("待审核"), "accepted": _l("已受理"), "returned": _l("已退回")}


class TalentEntry(Base):
    __tablename__ = "talent_entries"
    # The pool list (talent.queries.pool_filter / pool_page) in one index: in the list's order (region, id:
    # every list is scoped to a region and below) with the filter columns after, so that a filtered page or
    # count over 200,000 people walks this index alone, in order, without reading a row or sorting. It replaces
    # the single-column indexes on region_id (its prefix) and on status, with which SQLite fetched every row of
    # a status and sorted them for each page.
    # The pool list's order (region, id) with its filters; and each of the list's equality filters followed by the
    # order (issue 20), so that a filtered page and its capped count read that filter's range in list order, not
    # the whole pool (PostgreSQL scanned all 200,000 entries for a rare status or a star rating).
    # Each also carries the other filter columns (issue 20, migration 0020p): a filter on two of them (stars and
    # a status, say) is then read from the index alone (SQLite read each star-rated row for its status: ~65 ms).
    __table_args__ = (Index("ix_talent_entries_list", "region_id", "id", "status", "highest_tier", "stars", "enterprise_id"),
                      Index("ix_talent_entries_status_list", "status", "region_id", "id", "highest_tier", "stars", "enterprise_id"),
                      Index("ix_talent_entries_tier_list", "highest_tier", "region_id", "id", "status", "stars", "enterprise_id"),
                      Index("ix_talent_entries_stars_list", "stars", "region_id", "id", "status", "highest_tier", "enterprise_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))  # indexed by ix_talent_entries_list
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    highest_tier: Mapped[Tier | None] = mapped_column(enum_column_type(Tier))
    status: Mapped[PoolStatus] = mapped_column(enum_column_type(PoolStatus), default=PoolStatus.active)
    status_cause: Mapped[Cause] = mapped_column(enum_column_type(Cause), default=Cause.certified)
    status_since: Mapped[dt.date] = mapped_column(Date)
    entered_on: Mapped[dt.date] = mapped_column(Date)
    registration_due_on: Mapped[dt.date | None] = mapped_column(Date)
    stars: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(16), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    region: Mapped[Region] = relationship(foreign_keys=[region_id])
    enterprise: Mapped[Enterprise | None] = relationship()
    certificates: Mapped[list["TalentCertificate"]] = relationship(back_populates="entry", order_by="TalentCertificate.issued_on")
    events: Mapped[list["TalentEvent"]] = relationship(back_populates="entry", order_by="TalentEvent.id")

    @property
    def name(self) -> str:
        prof = self.user.trainee_profile
        return prof[0].real_name if prof else self.user.display_name

    @property
    def profile(self):
        prof = self.user.trainee_profile
        return prof[0] if prof else None

    @property
    def current_appointment(self) -> "Appointment | None":
        return object_session(self).scalar(
            select(Appointment).where(Appointment.user_id == self.user_id, Appointment.status == RegistrationStatus.accepted)
            .order_by(Appointment.appointed_on.desc(), Appointment.id.desc()).limit(1))


class TalentCertificate(Base):
    __tablename__ = "talent_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entries.id", ondelete="CASCADE"), index=True)
    certificate_id: Mapped[int] = mapped_column(Integer, unique=True)  # certificates.id, no FK by contract
    number: Mapped[str] = mapped_column(String(64), index=True)
    tier: Mapped[Tier] = mapped_column(enum_column_type(Tier))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    status_reason: Mapped[str] = mapped_column(Text, default="")

    entry: Mapped[TalentEntry] = relationship(back_populates="certificates")

    def in_force(self, on: dt.date) -> bool:
        return self.status == "valid" and (self.valid_until is None or self.valid_until >= on)


class TalentEvent(Base):
    """One status change of an entry, with its cause (and the reason for manual decisions)."""

    __tablename__ = "talent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entries.id", ondelete="CASCADE"), index=True)
    on: Mapped[dt.date] = mapped_column(Date)
    from_status: Mapped[PoolStatus | None] = mapped_column(enum_column_type(PoolStatus))
    to_status: Mapped[PoolStatus] = mapped_column(enum_column_type(PoolStatus))
    cause: Mapped[Cause] = mapped_column(enum_column_type(Cause))
    reason: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[TalentEntry] = relationship(back_populates="events")


class Appointment(Base):
    """An appointment registration (登记表, seed 002 annex): enterprise data, CQO data, appointment letter,
    enterprise opinion and date. ``kind`` is 'initial' or 'change' (变更登记)."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="initial")
    appointed_on: Mapped[dt.date] = mapped_column(Date)
    # The day the appointment stopped being in force (replaced, the CQO left, disqualified); None while in force.
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    # enterprise data (beyond the enterprise record itself)
    enterprise_head: Mapped[str] = mapped_column(String(64))
    enterprise_head_phone: Mapped[str] = mapped_column(EncryptedText)  # personal data: encrypted, shown masked
    quality_head: Mapped[str] = mapped_column(String(64), default="")
    quality_head_phone: Mapped[str] = mapped_column(EncryptedText, default="")
    # CQO data beyond the profile
    cv: Mapped[str] = mapped_column(Text)
    awards: Mapped[str] = mapped_column(Text, default="")
    # enterprise opinion
    opinion: Mapped[str] = mapped_column(Text)
    opinion_date: Mapped[dt.date] = mapped_column(Date)
    letter_path: Mapped[str] = mapped_column(String(255))
    letter_name: Mapped[str] = mapped_column(String(128))
    letter_mime: Mapped[str] = mapped_column(String(100))
    status: Mapped[RegistrationStatus] = mapped_column(enum_column_type(RegistrationStatus), default=RegistrationStatus.submitted, index=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # who filed it (the enterprise's account, or the CQO) and when the CQO confirmed an appointment in their name
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    enterprise: Mapped[Enterprise] = relationship()

    # Issue 20: the roll-up reads a chunk's accepted appointments (status = accepted AND user_id in a range, with the
    # dates it needs) from this index alone. With only the single-column indexes, SQLite (no statistics) chose the
    # status index and read every accepted appointment of the province for each of ~950 chunks: 4 s → 179 s at
    # full scale once the bench's data had appointments.
    __table_args__ = (Index("ix_appointments_status_user", "status", "user_id", "appointed_on", "ended_on", "enterprise_id"),)

    @property
    def enterprise_head_phone_masked(self) -> str:
        return mask_phone(self.enterprise_head_phone)

    @property
    def quality_head_phone_masked(self) -> str:
        return mask_phone(self.quality_head_phone)


class Notice(Base):
    """A public notice (公示): a dated snapshot of a bureau's pool with an objection period."""

    __tablename__ = "talent_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))
    published_on: Mapped[dt.date] = mapped_column(Date)
    objection_until: Mapped[dt.date] = mapped_column(Date)
    contact: Mapped[str] = mapped_column(String(128), default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 'appointed' (seed 003: 公示受聘首席质量官的信息) or 'certified' (newly certified people); the day it closed
    kind: Mapped[str] = mapped_column(String(16), default="appointed")
    closed_on: Mapped[dt.date | None] = mapped_column(Date)

    region: Mapped[Region] = relationship()


class NoticeEntry(Base):
    """One line of a notice. Only masked data is copied in: the full ID never reaches this table."""

    __tablename__ = "talent_notice_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("talent_notices.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(32))
    enterprise_name: Mapped[str] = mapped_column(String(128))
    region_name: Mapped[str] = mapped_column(String(64))
    tier: Mapped[Tier | None] = mapped_column(enum_column_type(Tier))
    certificate_numbers: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[PoolStatus] = mapped_column(enum_column_type(PoolStatus))
    stars: Mapped[int | None] = mapped_column(Integer)


class NoticeCertificate(Base):
    """Exact look-up of a notice line by certificate number."""

    __tablename__ = "talent_notice_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_entry_id: Mapped[int] = mapped_column(ForeignKey("talent_notice_entries.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64), index=True)


class Indicator(Base):
    """A node of a province's evaluation indicator tree (《首席质量官评价规范》): six first-level
    indicators with weights (percent), second and third levels below with maximum points."""

    __tablename__ = "eval_indicators"
    __table_args__ = (UniqueConstraint("province_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("eval_indicators.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    weight: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False), default=0)
    max_points: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False), default=0)
    evidence_type: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    # the settings' names (lms.settingbasis): the name from the standard or an example, the weight a province's
    @property
    def indicator_name(self) -> str:
        return self.name

    @property
    def indicator_weight(self) -> float:
        return self.weight


class Evaluation(Base):
    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entries.id", ondelete="CASCADE"), index=True)
    evaluated_on: Mapped[dt.date] = mapped_column(Date)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))
    grade: Mapped[str] = mapped_column(String(16))
    stars: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    scores: Mapped[list["EvaluationScore"]] = relationship(cascade="all, delete-orphan")


class EvaluationScore(Base):
    __tablename__ = "evaluation_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("eval_indicators.id", ondelete="CASCADE"))
    points: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))


class InRegions(ColumnElement):
    """``column IN (subquery)``, written ``column = ANY(ARRAY(subquery))`` on PostgreSQL (issue 20): there the IN
    became a join of the scope's few regions with the entries, whose rows the planner then sorted to find the
    list's order (a province's page 500: 200,000 rows, 235-270 ms at full scale); as an array computed once
    (an InitPlan) it is a condition of the (region_id, id) index, read in the list's order (2 ms, EXPLAIN
    ANALYZE in bench/results/pool_search_plans_postgresql_after.txt). Same rows on every database."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, subquery):
        self.column, self.subquery = column, subquery


@compiles(InRegions)
def _in_regions(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.subquery, **kw)}"


@compiles(InRegions, "postgresql")
def _in_regions_array(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY{compiler.process(element.subquery, **kw)})"


def _entries_visible(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return InRegions(TalentEntry.region_id, region_subtree_ids(user))
    if user.role == Role.trainee:
        return TalentEntry.user_id == user.id
    return False


scope_rule(TalentEntry)(_entries_visible)


def _via_entry(col):
    def rule(user):
        cond = _entries_visible(user)
        if cond is True or cond is False:
            return cond
        return col.in_(select(TalentEntry.id).where(cond).scalar_subquery())

    return rule


scope_rule(TalentEvent)(_via_entry(TalentEvent.entry_id))
scope_rule(TalentCertificate)(_via_entry(TalentCertificate.entry_id))
scope_rule(Evaluation)(_via_entry(Evaluation.entry_id))


@scope_rule(Appointment)
def _appointment_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Appointment.enterprise_id.in_(
            select(Enterprise.id).where(Enterprise.region_id.in_(region_subtree_ids(user))).scalar_subquery())
    if user.role == Role.trainee:
        return Appointment.user_id == user.id
    if user.role == Role.enterprise:  # the enterprise's own registrations (issue 14)
        return Appointment.enterprise_id == user.enterprise_id if user.enterprise_id else False
    return False


@scope_rule(Notice)
def _notice_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Notice.region_id.in_(region_subtree_ids(user))
    return False  # the public reads published notices through the public_ views


@scope_rule(Indicator)
def _indicator_scope(user):
    return True  # evaluation standards are published documents


# ------------------------------------------------------------------ sanctions (issue 14)
class SanctionKind(LabelledEnum):
    """What a bureau does to a pool member (seed 002 五(三): 「建立警示和退出机制」; seed 001 第六条: who may
    not be a CQO). Lapse (失效) is the year-end roll-up's (seed 002 §4(3), two years short of the CE rule): a row
    of kind ``lapse`` recorded set-based by ``talent.services.rollup``, ended when the member is restored."""

    warning = "warning"
    suspension = "suspension"
    disqualification = "disqualification"
    lapse = "lapse"

    @classmethod
    def _labels(cls):
        return {"warning": _l("警示"), "suspension": _l("暂停"), "disqualification": _l("取消资格"), "lapse": _l("失效")}


class SanctionReason(LabelledEnum):
    """Why: the triggers of seed 002 五(三) (warnings, suspensions) and the cases of seed 001 第六条
    (disqualification), or another reason that the evidence must explain."""

    concealed = "concealed"
    delayed = "delayed"
    false_report = "false_report"
    serious_fault = "serious_fault"
    improper_gain = "improper_gain"
    abuse_of_power = "abuse_of_power"
    leaking_secrets = "leaking_secrets"
    harming_partners = "harming_partners"
    other = "other"
    ce_lapsed = "ce_lapsed"  # the roll-up's lapse only (never chosen by a bureau)

    @classmethod
    def _labels(cls):
        return {
            "concealed": _l("对违法违规行为或重大风险隐患知情不报"),
            "delayed": _l("对违法违规行为或重大风险隐患拖延不报"),
            "false_report": _l("作虚假报告"),
            "serious_fault": _l("违反法律法规，在质量岗位工作中造成重大失误或谋取不正当利益，或受刑事处分"),
            "improper_gain": _l("利用履行职责之便谋取不正当利益"),
            "abuse_of_power": _l("滥用职权，干预企业正常经营秩序"),
            "leaking_secrets": _l("向与履职无关的第三方泄露企业秘密或者合作伙伴信息"),
            "harming_partners": _l("其他损害合作伙伴和企业合法权益的行为"),
            "other": _l("其他（须在证据中说明）"),
            "ce_lapsed": _l("连续两个年度未递交绩效报告或继续教育证明"),
        }


class Sanction(Base):
    """One sanction of a pool member: kind, reason (with the clause it rests on), evidence, the acting bureau,
    from when and until when, and how it was lifted. Never deleted: the history is the rows."""

    __tablename__ = "talent_sanctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entries.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SanctionKind] = mapped_column(enum_column_type(SanctionKind))
    reason: Mapped[SanctionReason] = mapped_column(enum_column_type(SanctionReason))
    basis: Mapped[str] = mapped_column(String(255))
    evidence: Mapped[str] = mapped_column(Text)  # for the bureaus only, never public
    bureau_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    lift_reason: Mapped[str] = mapped_column(Text, default="")
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[TalentEntry] = relationship()
    bureau_region: Mapped[Region] = relationship()


scope_rule(Sanction)(_via_entry(Sanction.entry_id))


class ObjectionStatus(LabelledEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"

    @classmethod
    def _labels(cls):
        return {"open": _l("待处理"), "upheld": _l("异议成立"), "dismissed": _l("异议不成立")}


class NoticeObjection(Base):
    """An objection the public lodged against a notice (or one line of it) during its period, and how the bureau
    resolved it. The contact is personal data: encrypted, shown masked."""

    __tablename__ = "talent_notice_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("talent_notices.id", ondelete="CASCADE"), index=True)
    notice_entry_id: Mapped[int | None] = mapped_column(ForeignKey("talent_notice_entries.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str] = mapped_column(EncryptedText)
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[ObjectionStatus] = mapped_column(enum_column_type(ObjectionStatus), default=ObjectionStatus.open)
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    notice: Mapped[Notice] = relationship()
    notice_entry: Mapped[NoticeEntry | None] = relationship()

    @property
    def contact_masked(self) -> str:
        return mask_phone(self.contact) if self.contact and "@" not in self.contact else (self.contact or "")[:2] + "***"


@scope_rule(NoticeObjection)
def _objection_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return NoticeObjection.notice_id.in_(
            select(Notice.id).where(Notice.region_id.in_(region_subtree_ids(user))).scalar_subquery())
    return False


class AppointmentRule(Base):
    """A province's own requirement of an appointee beyond a certificate in force (seed 001 第五条(五)): the lowest
    tier it accepts, with its basis (本省自定 or a document and clause). No row: any tier in force."""

    __tablename__ = "talent_appointment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    min_tier: Mapped[Tier | None] = mapped_column(enum_column_type(Tier))
    basis: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@scope_rule(AppointmentRule)
def _appointment_rule_scope(user):
    return True  # a province's published requirement


# ------------------------------------------------------------------ evaluation as data (issue 15)
class GradeBand(Base):
    """One grade band of a province: a total in ``[low, high)`` (the top band also takes ``high``) earns
    ``stars`` and the grade name. The bands of a province cover 0–100 without gap or overlap."""

    __tablename__ = "eval_grade_bands"
    __table_args__ = (UniqueConstraint("province_id", "low"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    low: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))
    high: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))
    stars: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(16), default="")

    @property
    def band_stars(self) -> int:  # the setting's name (lms.settingbasis)
        return self.stars


class EvalSettings(Base):
    """A province's settings of the scoring flow: how far an expert's total may stand from the experts'
    median before it is flagged (points), and the lowest stars a 评选 nomination needs."""

    __tablename__ = "eval_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    outlier_threshold: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False), default=10)
    nomination_min_stars: Mapped[int] = mapped_column(Integer, default=4)


class AssessmentStep(LabelledEnum):
    self = "self"
    enterprise = "enterprise"
    experts = "experts"
    bureau = "bureau"
    confirmed = "confirmed"

    @classmethod
    def _labels(cls):
        return {"self": _l("待本人自评"), "enterprise": _l("待企业意见"), "experts": _l("待专家评分"),
                "bureau": _l("待监管部门确认"), "confirmed": _l("已确认")}


class Assessment(Base):
    """A year's evaluation of a pool member in steps: self-assessment by the CQO → the enterprise's opinion →
    the experts' scores → the bureau's confirmation. Scores are stored by indicator code."""

    __tablename__ = "eval_assessments"
    __table_args__ = (UniqueConstraint("entry_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entries.id", ondelete="CASCADE"), index=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    step: Mapped[AssessmentStep] = mapped_column(enum_column_type(AssessmentStep), default=AssessmentStep.self)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    self_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    self_total: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    self_note: Mapped[str] = mapped_column(Text, default="")
    enterprise_opinion: Mapped[str] = mapped_column(Text, default="")
    enterprise_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    stars: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(16), default="")
    bureau_note: Mapped[str] = mapped_column(Text, default="")
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_on: Mapped[dt.date | None] = mapped_column(Date)
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[TalentEntry] = relationship()
    experts: Mapped[list["AssessmentExpert"]] = relationship(cascade="all, delete-orphan", order_by="AssessmentExpert.id")


class AssessmentExpert(Base):
    """An expert the bureau assigned to an assessment, with their scores once submitted."""

    __tablename__ = "eval_assessment_experts"
    __table_args__ = (UniqueConstraint("assessment_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("eval_assessments.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    total: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outlier: Mapped[bool] = mapped_column(Boolean, default=False)

    expert: Mapped[User] = relationship()


def _assessment_scope(user):
    mine = Assessment.id.in_(select(AssessmentExpert.assessment_id).where(AssessmentExpert.expert_id == user.id)
                             .scalar_subquery())
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return or_(Assessment.entry_id.in_(select(TalentEntry.id).where(
            TalentEntry.region_id.in_(region_subtree_ids(user))).scalar_subquery()), mine)
    if user.role == Role.trainee:
        return or_(Assessment.entry_id.in_(select(TalentEntry.id).where(TalentEntry.user_id == user.id)
                                           .scalar_subquery()), mine)
    if user.role == Role.enterprise and user.enterprise_id:
        return Assessment.entry_id.in_(select(TalentEntry.id).where(TalentEntry.enterprise_id == user.enterprise_id)
                                       .scalar_subquery())
    return mine


scope_rule(Assessment)(_assessment_scope)


@scope_rule(GradeBand)
def _band_scope(user):
    return True  # grade bands are published with the standard


@scope_rule(EvalSettings)
def _eval_settings_scope(user):
    return True


class SelectionStatus(LabelledEnum):
    open = "open"
    decided = "decided"
    published = "published"

    @classmethod
    def _labels(cls):
        return {"open": _l("提名中"), "decided": _l("已评定"), "published": _l("已公布")}


class Selection(Base):
    """A bureau's yearly selection of outstanding CQOs (优秀企业首席质量官评选, seed 002): nominations from the
    starred, the panel's decision, the result published as a notice."""

    __tablename__ = "eval_selections"
    __table_args__ = (UniqueConstraint("region_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(128))
    min_stars: Mapped[int] = mapped_column(Integer)
    status: Mapped[SelectionStatus] = mapped_column(enum_column_type(SelectionStatus), default=SelectionStatus.open)
    panel_note: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("talent_notices.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    region: Mapped[Region] = relationship()
    nominations: Mapped[list["Nomination"]] = relationship(cascade="all, delete-orphan", order_by="Nomination.id")


class Nomination(Base):
    """A starred pool member put forward for a selection, and the panel's decision on them."""

    __tablename__ = "eval_nominations"
    __table_args__ = (UniqueConstraint("selection_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("eval_selections.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entries.id", ondelete="CASCADE"))
    stars: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    selected: Mapped[bool | None] = mapped_column(Boolean)

    entry: Mapped[TalentEntry] = relationship()


@scope_rule(Selection)
def _selection_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Selection.region_id.in_(region_subtree_ids(user))
    return False  # the public reads the published result as a notice


# The public verification reads the holder's entry and sanctions into its record (talent.services.sanctions'
# PUBLIC_STANDING_JOIN); every change to them is pushed to the server processes that keep such records (lms/changes.py).
changes.watch(TalentEntry.__table__)
changes.watch(Sanction.__table__)
