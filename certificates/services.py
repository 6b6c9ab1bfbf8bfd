"""Certificates: completion checks, issuing with numbering and signing, reissue, status changes, expiry,
and the public answers verification gives. Services flush, never commit."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates import keys as keystore
from certificates import signing
from certificates.models import (
    DEFAULT_NUMBER_PATTERN, Certificate, CertificateCounter, CertificateEvent, CertificateSettings,
    CertificateStatus, IssuerKind, ReasonCategory, VerificationLog,
)
from courses import gates
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from lms import audit, completion
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import RegionLevel, Role, Tier
from lms.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from lms.orgs.models import Region, Regulator
from lms.orgs.services import bureau_for_tier
from lms.pii import mask_name


@dataclass(frozen=True)
class CertConfig:
    """Where the signing keys are and the public address printed in QR codes."""

    key_dir: str
    base_url: str

    @classmethod
    def from_app(cls, app) -> "CertConfig":
        return cls(key_dir=app.config["CERT_KEY_DIR"], base_url=app.config["PUBLIC_BASE_URL"].rstrip("/"))


# ------------------------------------------------------------------ province settings
DEFAULT_ISSUERS = {t.value: IssuerKind.bureau.value for t in Tier}
_PLACEHOLDERS = {"region_code", "tier_code", "year", "serial", "issuer_code"}


def settings_for(session: Session, province: Region) -> tuple[str, dict]:
    """The province's number pattern and issuer per tier (defaults where nothing is configured)."""
    row = session.scalar(select(CertificateSettings).where(CertificateSettings.province_id == province.id))
    issuers = dict(DEFAULT_ISSUERS)
    if row is not None:
        issuers.update({k: v for k, v in (row.issuers or {}).items() if k in issuers})
    return (row.number_pattern if row is not None else DEFAULT_NUMBER_PATTERN), issuers


def validate_pattern(pattern: str, issuers: dict) -> None:
    fields = set(re.findall(r"{([a-z_]+)(?::[^}]*)?}", pattern or ""))
    errors = {}
    if not pattern or len(pattern) > 128 or not fields <= _PLACEHOLDERS or "serial" not in fields:
        errors["number_pattern"] = _("编号规则须包含 {serial}，只能使用 {region_code} {tier_code} {year} {serial} {issuer_code}")
    else:
        try:
            pattern.format(region_code="320600", tier_code="B", year=2026, serial=1, issuer_code="0001")
        except (ValueError, KeyError, IndexError):
            errors["number_pattern"] = _("编号规则格式不正确")
    # Institutions of one region would print the same numbers without their own code in them.
    if not errors and IssuerKind.institution.value in issuers.values() and "issuer_code" not in fields:
        errors["number_pattern"] = _("由培训机构发证时，编号规则须包含 {issuer_code}，以免同一地区的机构编号重复")
    if errors:
        raise ValidationFailed(errors)


def save_settings(session: Session, actor: User, province: Region, pattern: str, issuers: dict) -> CertificateSettings:
    """Set a province's number pattern and issuer per tier (province bureau or system admin)."""
    if province.level != RegionLevel.province:
        raise ValidationFailed({"province": _("请选择省级地区")})
    if actor.role != Role.system_admin and not (
            actor.role == Role.regulator_admin and actor.region_id == province.id):
        raise Forbidden(_("只有省级监管部门可以设置本省的证书规则"))
    clean = {}
    for t in Tier:
        v = (issuers or {}).get(t.value, DEFAULT_ISSUERS[t.value])
        if v not in IssuerKind.__members__:
            raise ValidationFailed({f"issuer_{t.value}": _("发证主体无效")})
        clean[t.value] = v
    pattern = (pattern or "").strip()
    validate_pattern(pattern, clean)
    row = session.scalar(select(CertificateSettings).where(CertificateSettings.province_id == province.id))
    if row is None:
        row = CertificateSettings(province_id=province.id)
        session.add(row)
    row.number_pattern, row.issuers = pattern, clean
    session.flush()
    audit.record(session, actor, "certificate_settings.save", row, pattern=pattern, issuers=clean)
    return row


def _province_of(session: Session, region: Region) -> Region:
    node = region
    while node.parent is not None:
        node = node.parent
    return node


@dataclass(frozen=True)
class Issuer:
    kind: IssuerKind
    id: int
    name: str
    region_code: str
    code: str


def resolve_issuer(session: Session, cls: TrainingClass) -> tuple[Issuer, Regulator | None, str]:
    """Who issues this class's certificates, the supervising bureau, and the number pattern."""
    tier = cls.programme.tier
    pattern, issuers = settings_for(session, _province_of(session, cls.region))
    bureau = bureau_for_tier(session, cls.region, tier)
    if issuers[tier.value] == IssuerKind.institution.value:
        inst = cls.institution
        issuer = Issuer(IssuerKind.institution, inst.id, inst.name, inst.region.code, f"{inst.id:04d}")
    else:
        if bureau is None:
            raise DomainError(_("找不到该培训班所在地区的监管部门，无法发证"))
        issuer = Issuer(IssuerKind.bureau, bureau.id, bureau.name, bureau.region.code, f"{bureau.id:04d}")
    return issuer, bureau, pattern


def next_serial(session: Session, issuer: Issuer, tier: Tier, year: int) -> int:
    """Take the next serial in the caller's transaction: gap-free (a rollback returns it) and race-safe (the
    UPDATE locks the counter row until the transaction ends)."""
    where = (CertificateCounter.issuer_kind == issuer.kind, CertificateCounter.issuer_id == issuer.id,
             CertificateCounter.tier == tier, CertificateCounter.year == year)
    # UPDATE ... RETURNING: the bump and the read in one statement (PostgreSQL; SQLite since 3.35).
    bump = update(CertificateCounter).where(*where).values(n=CertificateCounter.n + 1).returning(CertificateCounter.n)
    n = session.execute(bump).scalar()
    if n is None:
        try:
            with session.begin_nested():
                session.add(CertificateCounter(issuer_kind=issuer.kind, issuer_id=issuer.id, tier=tier, year=year, n=0))
        except IntegrityError:
            pass  # another run created it first
        n = session.execute(bump).scalar_one()
    return n


# ------------------------------------------------------------------ completion and permissions
def completion_check(session: Session, enrollment: Enrollment) -> list[completion.RuleResult]:
    """Each completion rule, met or not. No rule registered means not complete (fail closed)."""
    results = completion.check(session, enrollment)
    if not results:
        return [completion.RuleResult("no_rules", _("结业条件"), False,
                                      _("尚未配置任何结业条件（考勤、课程、考试），不能发证"))]
    return results


def _class_access(session: Session, actor: User, cls: TrainingClass) -> None:
    """Staff of the class's institution, a bureau over the class's region, or the system admin; anyone else
    gets the same 404 as for a missing class, and the attempt is audited."""
    ok = (actor.role == Role.system_admin
          or (actor.role == Role.institution_staff and actor.institution_id == cls.institution_id)
          or (actor.role == Role.regulator_admin and actor.region is not None and actor.region.contains(cls.region)))
    if not ok:
        # Courses owns TrainingClass's scope rule; the refusal is reported the way get_visible reports one.
        audit._record_denied(session, actor, TrainingClass, cls.id)
        raise NotFound(_("记录不存在或无权查看"))


def get_class(session: Session, actor: User, class_id: int) -> TrainingClass:
    cls = session.get(TrainingClass, class_id)
    if cls is None:
        raise NotFound(_("记录不存在或无权查看"))
    _class_access(session, actor, cls)
    return cls


def classes_for(session: Session, actor: User):
    """A statement listing the classes ``actor`` may issue certificates for."""
    from lms.orgs.models import region_subtree_ids

    stmt = select(TrainingClass).order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())
    if actor.role == Role.system_admin:
        return stmt
    if actor.role == Role.institution_staff:
        return stmt.where(TrainingClass.institution_id == actor.institution_id)
    if actor.role == Role.regulator_admin:
        return stmt.where(TrainingClass.region_id.in_(region_subtree_ids(actor)))
    return stmt.where(False)


def current_certificate(session: Session, enrollment_id: int) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.current_for_enrollment_id == enrollment_id))


# ------------------------------------------------------------------ issuing
def valid_until_for(issued_on: dt.date, years: int) -> dt.date:
    try:
        end = issued_on.replace(year=issued_on.year + years)
    except ValueError:  # 29 February
        end = issued_on.replace(year=issued_on.year + years, day=28)
    return end - dt.timedelta(days=1)


def _holder_name(session: Session, user: User) -> str:
    from lms.people.models import TraineeProfile

    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    return prof.real_name if prof is not None else user.display_name


def new_cid() -> str:
    return secrets.token_urlsafe(18)  # 144 random bits


def verify_url(cert: Certificate, base_url: str) -> str:
    """What the QR code holds: the public page, with the signed part in the fragment (never sent to the server)."""
    return f"{base_url.rstrip('/')}/v/{cert.cid}#{cert.signed_part}"


def signed_fields(cert: Certificate) -> dict:
    return {"holder_name": cert.holder_name, "number": cert.number, "tier": cert.tier.value,
            "issued_on": cert.issued_on.isoformat(), "valid_until": cert.valid_until.isoformat(), "kid": cert.key_id}


def _create(session: Session, actor: User | None, enrollment: Enrollment, cfg: CertConfig, today: dt.date,
            valid_until: dt.date | None = None, supersedes: Certificate | None = None,
            issuer_cache: dict | None = None) -> Certificate:
    if not cfg.base_url:  # production has no default address: a QR code must never point at a made-up host
        raise DomainError(_("未设置站点地址 PUBLIC_BASE_URL，不能发放证书（证书二维码须指向本站的正式地址）"))
    cls = enrollment.training_class
    programme = cls.programme
    tier = programme.tier
    if issuer_cache is None:
        issuer, bureau, pattern = resolve_issuer(session, cls)
    else:
        if cls.id not in issuer_cache:
            issuer_cache[cls.id] = resolve_issuer(session, cls)
        issuer, bureau, pattern = issuer_cache[cls.id]
    serial = next_serial(session, issuer, tier, today.year)
    number = pattern.format(region_code=issuer.region_code, tier_code=tier.code, year=today.year, serial=serial,
                            issuer_code=issuer.code)
    try:
        kid, private = keystore.signing_key(cfg.key_dir)
    except keystore.NoSigningKey:
        raise DomainError(_("尚未创建证书签名密钥：请系统管理员运行 python -m lms.secrets init"))
    holder = enrollment.user
    name = _holder_name(session, holder)
    years = programme.certificate_validity_years or 3
    cert = Certificate(
        cid=new_cid(), number=number, holder_user_id=holder.id, holder_name=name, enrollment_id=enrollment.id,
        current_for_enrollment_id=enrollment.id, class_id=cls.id, institution_id=cls.institution_id,
        region_id=cls.region_id, bureau_id=bureau.id if bureau else None, issuer_kind=issuer.kind,
        issuer_id=issuer.id, tier=tier, issued_on=today, valid_until=valid_until or valid_until_for(today, years),
        key_id=kid, status=CertificateStatus.valid, status_changed_at=utcnow(), issued_by_id=getattr(actor, "id", None),
        supersedes_id=supersedes.id if supersedes else None,
        snapshot={
            "holder_name": name, "tier": tier.value, "tier_label": tier.label, "programme": programme.name,
            "programme_year": programme.year, "class_name": cls.name, "class_start": cls.start_date.isoformat(),
            "class_end": cls.end_date.isoformat(), "institution": cls.institution.name,
            "bureau": bureau.name if bureau else "", "issuer": issuer.name, "issuer_kind": issuer.kind.value,
            "region": cls.region.name,
        },
        signed_part="",
    )
    cert.signed_part = signing.sign(private, signed_fields(cert))
    session.add(cert)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("该学员本次培训的证书已颁发，未重复发证"))
    session.add(CertificateEvent(certificate_id=cert.id, action="issue" if supersedes is None else "reissue",
                                 from_status="", to_status=cert.status.value, actor_id=getattr(actor, "id", None)))
    audit.record(session, actor, "certificate.issue", cert, number=number, reissue_of=supersedes.id if supersedes else None)
    _enter_pool(session, cert, programme)
    return cert


def _enter_pool(session: Session, cert: Certificate, programme) -> None:
    """An issued certificate puts its holder in the talent pool, and the class's hours count as the year's
    continuing-education credits (per course, by subject category; once per certificate's enrolment)."""
    from credits.services import award_system_credit
    from lms.people.models import TraineeProfile
    from talent.services import on_certificate_issued

    enterprise_id = session.scalar(select(TraineeProfile.enterprise_id).where(TraineeProfile.user_id == cert.holder_user_id))
    on_certificate_issued(session, user_id=cert.holder_user_id, certificate_id=cert.id, number=cert.number,
                          tier=cert.tier.value, issued_on=cert.issued_on, valid_until=cert.valid_until,
                          region_id=cert.region_id, enterprise_id=enterprise_id)
    for course in programme.required_courses:
        award_system_credit(session, user_id=cert.holder_user_id, year=cert.issued_on.year, hours=course.hours,
                            subject_category=course.subject_category.value,
                            source_ref=f"enrollment:{cert.enrollment_id}:course:{course.id}",
                            title=f"{programme.name} · {course.title}")


def _pool_status(session: Session, cert: Certificate, today: dt.date, reason: str = "") -> None:
    """Tell the talent pool that a certificate stopped (or started again) being in force."""
    from talent.services import on_certificate_status_changed

    on_certificate_status_changed(session, user_id=cert.holder_user_id, certificate_id=cert.id,
                                  status=cert.status.value, reason=reason, today=today)


def issue(session: Session, actor: User, enrollment: Enrollment, cfg: CertConfig, today: dt.date, *,
          issuer_cache: dict | None = None) -> Certificate:
    """Issue the certificate of one complete enrolment. Refused, with every unmet rule, if incomplete, and
    refused when a class gate says so (filing not accepted; certificates held until the results report is accepted).
    ``issuer_cache``: a dict the caller keeps for one batch of issuing (one transaction), so that the issuer,
    bureau and number pattern of a class are looked up once, not once a certificate."""
    cls = enrollment.training_class
    _class_access(session, actor, cls)
    if enrollment.status != EnrollmentStatus.approved:
        raise DomainError(_("该学员未被录取，不能发证"))
    if current_certificate(session, enrollment.id) is not None:
        raise Conflict(_("该学员本次培训的证书已颁发，未重复发证"))
    gates.check(session, cls, gates.CERTIFY)
    results = completion_check(session, enrollment)
    if not completion.is_complete(results):
        unmet = "；".join(f"{r.label}：{r.detail}" for r in results if not r.met)
        raise DomainError(_("未达到结业条件，不能发证：%(unmet)s", unmet=unmet))
    return _create(session, actor, enrollment, cfg, today, issuer_cache=issuer_cache)


def reissue(session: Session, actor: User, cert: Certificate, note: str, cfg: CertConfig, today: dt.date) -> Certificate:
    """Correct a certificate: a new one (fresh snapshot, new number, same validity) supersedes it."""
    enrollment = session.get(Enrollment, cert.enrollment_id)
    _class_access(session, actor, enrollment.training_class)
    if cert.status not in (CertificateStatus.valid, CertificateStatus.suspended):
        raise DomainError(_("只能换发有效或暂停中的证书（当前：%(s)s）", s=cert.status.label))
    note = (note or "").strip()
    if not 2 <= len(note) <= 500:
        raise ValidationFailed({"note": _("请填写换发原因（2-500 字）")})
    old_status = cert.status
    cert.status, cert.status_changed_at, cert.current_for_enrollment_id = CertificateStatus.superseded, utcnow(), None
    session.flush()
    new = _create(session, actor, enrollment, cfg, today, valid_until=cert.valid_until, supersedes=cert)
    cert.superseded_by_id = new.id
    session.add(CertificateEvent(certificate_id=cert.id, action="supersede", from_status=old_status.value,
                                 to_status=CertificateStatus.superseded.value, note=note, actor_id=actor.id))
    session.flush()
    _pool_status(session, cert, today, note)
    return new


# ------------------------------------------------------------------ status changes
ACTIONS = {
    # action: (allowed from, to)
    "suspend": ({CertificateStatus.valid}, CertificateStatus.suspended),
    "reinstate": ({CertificateStatus.suspended}, CertificateStatus.valid),
    "revoke": ({CertificateStatus.valid, CertificateStatus.suspended, CertificateStatus.expired}, CertificateStatus.revoked),
}


def can_change_status(actor: User, cert: Certificate) -> bool:
    """Province and city bureaus over the certificate's region (seed 003: they issue and withdraw)."""
    return (actor.role == Role.regulator_admin and actor.region is not None
            and actor.region.level in (RegionLevel.province, RegionLevel.city) and actor.region.contains(cert.region))


def change_status(session: Session, actor: User, cert: Certificate, action: str, reason: str | None, note: str,
                  today: dt.date) -> Certificate:
    """Suspend, reinstate or revoke, with a reason category and a note; logged and visible at once."""
    if action not in ACTIONS:
        raise ValidationFailed({"action": _("无效的操作")})
    if not can_change_status(actor, cert):
        audit.record(session, actor, "certificate.status_refused", cert, requested=action)
        raise Forbidden(_("只有证书所在地的省、市级监管部门可以暂停、恢复或撤销证书"))
    allowed, target = ACTIONS[action]
    if cert.status not in allowed:
        raise DomainError(_("证书当前状态为「%(s)s」，不能执行此操作", s=cert.status.label))
    errors = {}
    category = None
    if action != "reinstate":
        if reason not in ReasonCategory.__members__:
            errors["reason"] = _("请选择原因类别")
        else:
            category = ReasonCategory(reason)
    note = (note or "").strip()
    if len(note) > 1000 or (action != "reinstate" and category == ReasonCategory.other and len(note) < 2):
        errors["note"] = _("原因为「其他」时请填写说明（不超过 1000 字）")
    if errors:
        raise ValidationFailed(errors)
    if target == CertificateStatus.valid and cert.valid_until < today:
        target = CertificateStatus.expired
    before = cert.status
    cert.status, cert.status_changed_at = target, utcnow()
    cert.status_reason = category if action != "reinstate" else None
    session.add(CertificateEvent(certificate_id=cert.id, action=action, from_status=before.value,
                                 to_status=target.value, reason=category, note=note, actor_id=actor.id))
    session.flush()
    audit.record(session, actor, f"certificate.{action}", cert, reason=category.value if category else None,
                 from_status=before.value, to_status=target.value)
    _pool_status(session, cert, today, f"{category.label}：{note}" if category else note)
    return cert


def effective_status(cert: Certificate, today: dt.date) -> CertificateStatus:
    """The status a verifier sees: a valid certificate past its date is expired even before the job runs."""
    if cert.status == CertificateStatus.valid and cert.valid_until < today:
        return CertificateStatus.expired
    return cert.status


def expire_due(session: Session, today: dt.date) -> int:
    """Mark valid certificates past their validity as expired. Idempotent."""
    due = session.scalars(select(Certificate).where(Certificate.status == CertificateStatus.valid,
                                                    Certificate.valid_until < today)).all()
    for cert in due:
        cert.status, cert.status_changed_at = CertificateStatus.expired, utcnow()
        session.add(CertificateEvent(certificate_id=cert.id, action="expire", from_status="valid", to_status="expired"))
        session.flush()
        _pool_status(session, cert, today, _("证书已过有效期"))
    session.flush()
    return len(due)


def has_tier_in_force(session: Session, user_id: int, tier: Tier, on_date: dt.date) -> bool:
    """Whether the person holds a certificate of ``tier`` in force on ``on_date`` (the prerequisite for the
    next tier): valid status, issued on or before and valid through that day."""
    return bool(session.scalar(select(exists().where(
        Certificate.holder_user_id == user_id, Certificate.tier == tier,
        Certificate.status == CertificateStatus.valid, Certificate.issued_on <= on_date,
        Certificate.valid_until >= on_date))))


# ------------------------------------------------------------------ public verification
_CID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


# What public verification reads: every scan runs this, so it selects plain columns (a row with the same
# attribute names as a Certificate) instead of building an ORM object. ``public_view``, ``signed_fields``,
# ``effective_status``, ``holder_check`` and ``log_verification`` accept either.
_PUBLIC_TABLE = Certificate.__table__
_PUBLIC_COLUMNS = [_PUBLIC_TABLE.c[name] for name in (
    "id", "cid", "number", "holder_user_id", "holder_name", "tier", "issued_on", "valid_until", "snapshot", "key_id",
    "status", "status_changed_at", "status_reason", "superseded_by_id")]


def find_public(session: Session, cid: str):
    """The public record of the certificate with this QR id, or None (also for a malformed id)."""
    if not _CID_RE.match(cid or ""):
        return None
    return session.connection().execute(select(*_PUBLIC_COLUMNS).where(_PUBLIC_TABLE.c.cid == cid)).first()


def signature_matches(cert: Certificate, signed_part: str, key_doc: dict) -> bool:
    """The signed part checks with a published key and says exactly what this certificate says."""
    res = signing.check(signed_part, signing.public_keys_from_document(key_doc))
    return res.ok and res.fields == signed_fields(cert)


def public_view(session: Session, cert: Certificate, today: dt.date) -> dict:
    """What anyone may see: no ID number, phone, score or photo; the holder's name masked."""
    status = effective_status(cert, today)
    snap = cert.snapshot or {}
    out = {
        "status": status.value, "status_label": status.label, "number": cert.number,
        "holder_name": mask_name(cert.holder_name), "tier": cert.tier.value, "tier_label": cert.tier.label,
        "programme": snap.get("programme", ""), "institution": snap.get("institution", ""),
        "bureau": snap.get("bureau", ""), "issuer": snap.get("issuer", ""),
        "issued_on": cert.issued_on.isoformat(), "valid_until": cert.valid_until.isoformat(),
    }
    if status in (CertificateStatus.revoked, CertificateStatus.suspended):
        out["status_changed_on"] = _local_date(cert.status_changed_at)
        out["reason_category"] = cert.status_reason.value if cert.status_reason else None
        out["reason_label"] = cert.status_reason.label if cert.status_reason else ""
    succ = None
    if status == CertificateStatus.superseded and cert.superseded_by_id is not None:
        succ = session.connection().execute(
            select(*_PUBLIC_COLUMNS).where(_PUBLIC_TABLE.c.id == cert.superseded_by_id)).first()
    if succ is not None:
        out["superseded_on"] = _local_date(cert.status_changed_at)
        out["superseded_by"] = {"number": succ.number, "verify_path": f"/v/{succ.cid}",
                                "status": effective_status(succ, today).value}
    return out


def _local_date(value: dt.datetime | None) -> str | None:
    from lms.templating import SHANGHAI

    return value.astimezone(SHANGHAI).date().isoformat() if value else None


def log_verification(session: Session, cert: Certificate | None, channel: str, result: str,
                     signature_valid: bool | None = None, batched: bool = False) -> None:
    """Record that a verification happened and its answer; nothing about who asked. ``batched``: hand the row
    to the process's batch writer (``certificates.verification_log``) instead of this transaction, so that the
    public pages do not write (the production setting; tests write in the transaction to see the row)."""
    if batched:
        from certificates.verification_log import writer

        writer.add(session.get_bind(), cert.id if cert else None, channel, result, signature_valid)
        return
    session.add(VerificationLog(certificate_id=cert.id if cert else None, channel=channel, result=result,
                                signature_valid=signature_valid))
    session.flush()


def holder_check(session: Session, cert: Certificate, id_number: str) -> bool:
    """Does the typed ID number belong to the holder? Answers only yes or no."""
    from lms.people.services import holder_matches

    cleaned = (id_number or "").strip().upper()
    ok = len(cleaned) == 18 and all(c in string.digits + "X" for c in cleaned) and holder_matches(
        session, cert.holder_user_id, cleaned)
    log_verification(session, cert, "holder_check", "match" if ok else "mismatch")
    return ok
