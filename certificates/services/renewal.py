"""Renewal (续期) of a certificate whose province sets a validity: the same number gets a new validity, signed
again, recorded as the certificate's event. Who qualifies (a CQO meeting the continuing-education rule) is the
talent pool's decision (``talent.services.entries.renew_certificates``); this module only does the renewal."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from certificates import keys as keystore
from certificates import seal, signing
from certificates.models import Certificate, CertificateEvent, CertificateStatus
from certificates.services.issuing import signed_fields, valid_until_for
from certificates.services.numbering import CertConfig
from courses.models import TrainingClass
from lms import audit
from lms.auth.models import User
from lms.errors import DomainError


def validity_years(session: Session, cert: Certificate) -> int | None:
    """The validity the certificate's programme (its province's setting) gives, in years; None: no validity."""
    return session.get(TrainingClass, cert.class_id).programme.certificate_validity_years or None


def renew(session: Session, actor: User | None, cert: Certificate, cfg: CertConfig, today: dt.date, *,
          note: str = "") -> Certificate:
    """Renew a current, valid certificate for another period of its programme's validity from the day after its
    present end (same number and holder; signed again with the active key); the renewal is an event."""
    if cert.status != CertificateStatus.valid or cert.current_for_enrollment_id is None:
        raise DomainError(_("只能为有效的现行证书续期（当前：%(s)s）", s=cert.status.label))
    years = validity_years(session, cert)
    if cert.valid_until is None or years is None:
        raise DomainError(_("该证书未设有效期，无需续期"))
    if cert.valid_until < today:
        raise DomainError(_("证书已于 %(d)s 到期，不能续期", d=cert.valid_until.isoformat()))
    try:
        kid, private = keystore.signing_key(cfg.key_dir)
    except keystore.NoSigningKey:
        raise DomainError(_("尚未创建证书签名密钥：请系统管理员运行 python -m lms.secrets init"))
    before = cert.valid_until
    cert.valid_until = valid_until_for(before + dt.timedelta(days=1), years)
    cert.key_id = kid
    cert.signed_part = signing.sign(private, signed_fields(cert))
    cert.seal = seal.make(private, cert.signed_part)
    session.add(CertificateEvent(certificate_id=cert.id, action="renew", from_status=cert.status.value,
                                 to_status=cert.status.value, actor_id=getattr(actor, "id", None),
                                 note=(note or _("有效期由 %(a)s 续至 %(b)s", a=before.isoformat(),
                                                 b=cert.valid_until.isoformat()))[:2000]))
    session.flush()
    audit.record(session, actor, "certificate.renew", cert, until=cert.valid_until.isoformat())
    return cert
