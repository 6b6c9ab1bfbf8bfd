"""Province settings and numbering: the number pattern and issuer per tier, who issues a class's
certificates, the gap-free serial, and where the keys and the public address are (``CertConfig``)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates import signing
from certificates.models import DEFAULT_NUMBER_PATTERN, CertificateCounter, CertificateSettings, IssuerKind
from courses.models import TrainingClass
from lms import audit
from lms.auth.models import User
from lms.domain import RegionLevel, Role, Tier
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.orgs.models import Region, Regulator
from lms.orgs.services import province_of
from lms.orgs.tiers import bureau_for_tier
from lms.settingbasis import BasisKind, set_basis


@dataclass(frozen=True)
class CertConfig:
    """Where the signing keys are and the public address printed in QR codes."""

    key_dir: str
    base_url: str
    jwt_alg: str = "EdDSA"  # the Open Badges JWT's signature: EdDSA or ES256
    upload_dir: str = ""  # where the holders' photos are kept (certificates.photos), for printing them

    @classmethod
    def from_app(cls, app) -> "CertConfig":
        return cls(key_dir=app.config["CERT_KEY_DIR"], base_url=app.config["PUBLIC_BASE_URL"].rstrip("/"),
                   jwt_alg=app.config.get("CERT_JWT_ALG") or "EdDSA", upload_dir=app.config["UPLOAD_DIR"])


DEFAULT_ISSUERS = {t.value: IssuerKind.bureau.value for t in Tier}
_PLACEHOLDERS = {"region_code", "tier_code", "year", "serial", "issuer_code"}


def settings_for(session: Session, province: Region) -> tuple[str, dict]:
    """The province's number pattern and issuer per tier (defaults where nothing is configured)."""
    row = session.scalar(select(CertificateSettings).where(CertificateSettings.province_id == province.id))
    issuers = dict(DEFAULT_ISSUERS)
    if row is not None:
        issuers.update({k: v for k, v in (row.issuers or {}).items() if k in issuers})
    return (row.number_pattern if row is not None else DEFAULT_NUMBER_PATTERN), issuers


def settings_row(session: Session, province: Region) -> CertificateSettings:
    """The province's settings row, or an unsaved one with the defaults (nothing is added to the session)."""
    row = session.scalar(select(CertificateSettings).where(CertificateSettings.province_id == province.id))
    return row if row is not None else CertificateSettings(province_id=province.id, holder_photo=False)


def validate_pattern(pattern: str, issuers: dict) -> None:
    """Refuse a number pattern that is malformed, lacks the serial, or would repeat numbers across institutions."""
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


def save_settings(session: Session, actor: User, province: Region, pattern: str, issuers: dict,
                  holder_photo: bool | None = None) -> CertificateSettings:
    """Set a province's number pattern, issuer per tier and (``holder_photo``, None: unchanged) whether its
    certificates print the holder's photo (province bureau or system admin). The photo is no seed's rule: the
    choice is recorded as the province's own (本省自定, ``lms.settingbasis``)."""
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
    if holder_photo is not None:
        row.holder_photo = bool(holder_photo)
    session.flush()
    if holder_photo is not None:
        set_basis(session, row, "holder_photo", BasisKind.province)
    audit.record(session, actor, "certificate_settings.save", row, pattern=pattern, issuers=clean,
                 holder_photo=row.holder_photo)
    return row


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
    pattern, issuers = settings_for(session, province_of(session, cls.region))
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
    return next_serials(session, issuer, tier, year, 1)[0]


def next_serials(session: Session, issuer: Issuer, tier: Tier, year: int, count: int) -> range:
    """Take the next ``count`` serials at once, as ``next_serial`` takes one (a batch of issuing, issue 20: one
    statement for the batch instead of one a certificate)."""
    where = (CertificateCounter.issuer_kind == issuer.kind, CertificateCounter.issuer_id == issuer.id,
             CertificateCounter.tier == tier, CertificateCounter.year == year)
    # UPDATE ... RETURNING: the bump and the read in one statement (PostgreSQL; SQLite since 3.35).
    bump = update(CertificateCounter).where(*where).values(n=CertificateCounter.n + count).returning(
        CertificateCounter.n)
    n = session.execute(bump).scalar()
    if n is None:
        try:
            with session.begin_nested():
                session.add(CertificateCounter(issuer_kind=issuer.kind, issuer_id=issuer.id, tier=tier, year=year, n=0))
        except IntegrityError:
            pass  # another run created it first
        n = session.execute(bump).scalar_one()
    return range(n - count + 1, n + 1)
