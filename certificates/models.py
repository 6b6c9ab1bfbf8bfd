"""Certificates and what they need: per-province settings, serial counters, status changes, issuing jobs
and the verification log."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Enrollment, TrainingClass
from lms import changes
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import LabelledEnum, RegionLevel, Role, Tier, enum_column_type
from lms.orgs.models import Region, region_subtree_ids
from lms.scoping import condition, scope_rule

DEFAULT_NUMBER_PATTERN = "{region_code}-{tier_code}-{year}-{serial:05d}"


class CertificateStatus(LabelledEnum):
    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"
    expired = "expired"
    superseded = "superseded"

    @classmethod
    def _labels(cls):
        return {"valid": _l("有效"), "suspended": _l("已暂停"), "revoked": _l("已撤销"), "expired": _l("已过期"),
                "superseded": _l("已换发")}


class ReasonCategory(LabelledEnum):
    """Why a bureau suspends or revokes (seed 001 §6 lists the disqualifications)."""

    quality_fault = "quality_fault"
    improper_gain = "improper_gain"
    abuse_of_power = "abuse_of_power"
    leaking_secrets = "leaking_secrets"
    false_information = "false_information"
    criminal_penalty = "criminal_penalty"
    under_investigation = "under_investigation"
    issued_in_error = "issued_in_error"
    other = "other"

    @classmethod
    def _labels(cls):
        return {
            "quality_fault": _l("发生严重质量事故或负有重大过失"),
            "improper_gain": _l("利用职务谋取不正当利益"),
            "abuse_of_power": _l("滥用职权、玩忽职守"),
            "leaking_secrets": _l("泄露企业商业秘密"),
            "false_information": _l("提供虚假材料"),
            "criminal_penalty": _l("受到刑事处罚"),
            "under_investigation": _l("正在调查核实"),
            "issued_in_error": _l("证书信息有误或误发"),
            "other": _l("其他"),
        }


class IssuerKind(LabelledEnum):
    institution = "institution"
    bureau = "bureau"

    @classmethod
    def _labels(cls):
        return {"institution": _l("培训机构"), "bureau": _l("该层级监管部门")}


class CertificateSettings(Base):
    """A province's certificate rules, as data: the number pattern and who issues each tier."""

    __tablename__ = "certificate_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    number_pattern: Mapped[str] = mapped_column(String(128), default=DEFAULT_NUMBER_PATTERN)
    issuers: Mapped[dict] = mapped_column(JSON, default=dict)  # {"basic": "bureau" | "institution", ...}
    # Certificates print the holder's photo and carry its fingerprint in the QR code (issue 16). No seed asks
    # for it: the province's own choice (本省自定), off by default.
    holder_photo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    province: Mapped[Region] = relationship()


class CertificateCounter(Base):
    """The last serial used per issuer, tier and year. Incremented with ``UPDATE … SET n = n + 1`` inside the
    issuing transaction, so a rolled-back issue leaves no gap and two racing runs never share a serial."""

    __tablename__ = "certificate_counters"
    __table_args__ = (UniqueConstraint("issuer_kind", "issuer_id", "tier", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_kind: Mapped[IssuerKind] = mapped_column(enum_column_type(IssuerKind))
    issuer_id: Mapped[int] = mapped_column(Integer)
    tier: Mapped[Tier] = mapped_column(enum_column_type(Tier))
    year: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer, default=0)


class Certificate(Base):
    """A completion certificate, frozen at issue: ``snapshot`` holds what was printed and signed."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    cid: Mapped[str] = mapped_column(String(64), unique=True)  # random, ≥128 bits; the public id in the QR
    number: Mapped[str] = mapped_column(String(64), unique=True)
    holder_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(64), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    # Equals enrollment_id while this is the enrolment's current certificate, NULL once superseded: the
    # unique constraint makes "issue twice" impossible even when two runs race.
    current_for_enrollment_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)  # the class's region
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("regulators.id"))
    issuer_kind: Mapped[IssuerKind] = mapped_column(enum_column_type(IssuerKind))
    issuer_id: Mapped[int] = mapped_column(Integer)
    tier: Mapped[Tier] = mapped_column(enum_column_type(Tier), index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    # None: no end date (长期有效): the province sets no validity (issue 14: no seed sets one)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    key_id: Mapped[str] = mapped_column(String(64))
    signed_part: Mapped[str] = mapped_column(Text)
    # This server's seal on signed_part (certificates.seal): a scan presenting these very bytes skips the Ed25519
    # computation; NULL (issued before revision 0020t, not yet sealed by `flask cert-keys seal`): checked in full.
    seal: Mapped[str | None] = mapped_column(String(64))
    # The certificate's bit in the published Bitstring Status Lists (revocation, suspension): set once, never reused.
    status_list_index: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    status: Mapped[CertificateStatus] = mapped_column(enum_column_type(CertificateStatus), index=True,
                                                      default=CertificateStatus.valid)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[ReasonCategory | None] = mapped_column(enum_column_type(ReasonCategory))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    superseded_by: Mapped["Certificate | None"] = relationship(foreign_keys=[superseded_by_id], remote_side=[id])
    supersedes: Mapped["Certificate | None"] = relationship(foreign_keys=[supersedes_id], remote_side=[id])
    region: Mapped[Region] = relationship()
    events: Mapped[list["CertificateEvent"]] = relationship(back_populates="certificate",
                                                             order_by="CertificateEvent.at")


class CertificateEvent(Base):
    """Every change of a certificate's status: who, when, why."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))  # issue, suspend, reinstate, revoke, supersede, expire
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[ReasonCategory | None] = mapped_column(enum_column_type(ReasonCategory))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    certificate: Mapped[Certificate] = relationship(back_populates="events")
    actor = relationship("User")

    @property
    def action_label(self) -> str:
        """The action as people read it (the column keeps the code)."""
        labels = {"issue": _l("发证"), "reissue": _l("换发新证"), "supersede": _l("被新证书替代"), "suspend": _l("暂停"),
                  "reinstate": _l("恢复"), "revoke": _l("撤销"), "expire": _l("到期失效")}
        return str(labels.get(self.action, self.action))

    @property
    def from_label(self) -> str:
        """The status before, as people read it ("" for a new certificate)."""
        return CertificateStatus(self.from_status).label if self.from_status else ""

    @property
    def to_label(self) -> str:
        """The status after, as people read it."""
        return CertificateStatus(self.to_status).label


class IssueJob(Base):
    """A background run issuing a class's (or one trainee's) certificates; its items carry the progress."""

    __tablename__ = "certificate_issue_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, running, done
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["IssueJobItem"]] = relationship(back_populates="job", order_by="IssueJobItem.id",
                                                       cascade="all, delete-orphan")


class IssueJobItem(Base):
    __tablename__ = "certificate_issue_job_items"
    __table_args__ = (UniqueConstraint("job_id", "enrollment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("certificate_issue_jobs.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, issued, skipped, failed
    message: Mapped[str] = mapped_column(Text, default="")
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))

    job: Mapped[IssueJob] = relationship(back_populates="items")


class VerificationLog(Base):
    """One verification: what was looked up and the answer, never who asked (no address, no agent)."""

    __tablename__ = "certificate_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # page, api, holder_check
    result: Mapped[str] = mapped_column(String(16))  # the status answered, or unknown / match / mismatch
    signature_valid: Mapped[bool | None] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PartnerProvince(Base):
    """A partner province whose certificates we recognise (seed 004: 跨地域互认互通): its public address, its
    published keys (a copy of its ``cqo-certificate-keys.json``), and the agreement under which it was added."""

    __tablename__ = "certificate_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(255), unique=True)
    keys: Mapped[dict] = mapped_column(JSON, default=dict)
    agreement_note: Mapped[str] = mapped_column(Text)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HolderPhoto(Base):
    """A trainee's ID-style photo for certificates (issue 16): the re-encoded JPEG (no EXIF) kept through
    ``lms.uploads``, and its fingerprint (``certificates.photos.fingerprint``). One a person; a new upload replaces
    it. Certificates already issued keep the photo they printed (their snapshot names its file)."""

    __tablename__ = "certificate_holder_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    fingerprint: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# ------------------------------------------------------------------ scoping

@scope_rule(Certificate)
def _certificate_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return Certificate.region_id.in_(region_subtree_ids(user))
    if user.role == Role.institution_staff:
        return Certificate.institution_id == user.institution_id
    if user.role == Role.trainee:
        return Certificate.holder_user_id == user.id
    return False


@scope_rule(IssueJob)
def _job_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return IssueJob.class_id.in_(select(TrainingClass.id).where(TrainingClass.region_id.in_(region_subtree_ids(user))))
    if user.role == Role.institution_staff:
        return IssueJob.class_id.in_(select(TrainingClass.id).where(TrainingClass.institution_id == user.institution_id))
    return False


@scope_rule(CertificateSettings)
def _settings_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin and user.region is not None and user.region.level == RegionLevel.province:
        return CertificateSettings.province_id == user.region_id
    return False


@scope_rule(PartnerProvince)
def _partner_scope(user):
    return user.role == Role.system_admin


@scope_rule(VerificationLog)
def _log_scope(user):
    return user.role == Role.system_admin


@scope_rule(CertificateEvent)
def _event_scope(user):
    return CertificateEvent.certificate_id.in_(select(Certificate.id).where(condition(Certificate, user)))


@scope_rule(HolderPhoto)
def _photo_scope(user):
    # The holder, and the staff of a class the holder is enrolled in (who issue the certificate): an
    # institution's staff for its classes, a bureau for classes in its region. Never public.
    if user.role == Role.system_admin:
        return True
    if user.role == Role.trainee:
        return HolderPhoto.user_id == user.id
    if user.role == Role.institution_staff:
        classes = select(TrainingClass.id).where(TrainingClass.institution_id == user.institution_id)
    elif user.role == Role.regulator_admin:
        classes = select(TrainingClass.id).where(TrainingClass.region_id.in_(region_subtree_ids(user)))
    else:
        return False
    return HolderPhoto.user_id.in_(select(Enrollment.user_id).where(Enrollment.class_id.in_(classes)))


# Every change to a certificate is pushed to the server processes (PostgreSQL's notifications, lms/changes.py), so
# that a process may keep the public records it read (certificates.services.KeptRecords) while none has changed.
changes.watch(Certificate.__table__)
