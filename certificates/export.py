"""Open Badges 3.0 / W3C Verifiable Credential 2.0 export, secured as a JWT (EdDSA, VC-JOSE-COSE) with the
key that signed the certificate."""
from __future__ import annotations

import datetime as dt
import json

from certificates import keys as keystore
from certificates.models import Certificate
from certificates.services import CertConfig
from certificates.signing import b64e


def credential(cert: Certificate, cfg: CertConfig) -> dict:
    """The certificate as an Open Badges 3.0 credential (the JWT's payload)."""
    base = cfg.base_url
    snap = cert.snapshot or {}
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": f"{base}/v/{cert.cid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"{base}/.well-known/cqo-certificate-keys.json#issuer", "type": ["Profile"],
                   "name": snap.get("issuer", "")},
        "validFrom": f"{cert.issued_on.isoformat()}T00:00:00+08:00",
        "validUntil": f"{cert.valid_until.isoformat()}T23:59:59+08:00",
        "name": f"首席质量官结业证书（{snap.get('tier_label', '')}）",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": cert.holder_name,
            "achievement": {
                "id": f"{base}/achievements/cqo-{cert.tier.value}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": snap.get("programme", ""),
                "description": f"{snap.get('class_name', '')}（{snap.get('class_start', '')} 至 {snap.get('class_end', '')}），"
                               f"培训机构：{snap.get('institution', '')}，监管部门：{snap.get('bureau', '')}",
                "criteria": {"narrative": "完成全部培训课程，考勤与考核合格"},
            },
        },
        "credentialStatus": {"id": f"{base}/api/v1/verify/{cert.cid}", "type": "CQOCertificateStatus",
                             "statusPurpose": "revocation"},
        "identifier": [{"type": "IdentifierEntry", "identifier": cert.number, "identifierType": "identifier"}],
    }


def credential_jwt(cert: Certificate, cfg: CertConfig, now: dt.datetime | None = None) -> str:
    """The credential signed as a JWT with the key that signed the certificate."""
    now = now or dt.datetime.now(dt.timezone.utc)
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": cert.key_id}
    payload = credential(cert, cfg)
    payload.update({"iss": payload["issuer"]["id"], "jti": payload["id"], "iat": int(now.timestamp())})
    signing_input = (b64e(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64e(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()))
    sig = keystore.private_key(cfg.key_dir, cert.key_id).sign(signing_input.encode("ascii"))
    return signing_input + "." + b64e(sig)
