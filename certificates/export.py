"""Open Badges 3.0 / W3C Verifiable Credential 2.0 export, secured as a JWT (VC-JOSE-COSE, OB3 §8.2 "JSON Web
Token Proof Format") with the key that signed the certificate, and the public documents its ids point at:
the issuer profile, the achievement, the key (JWK) and the Bitstring Status Lists (``certificates.status_list``).

OB3 §8.2.1: the header carries ``alg``, ``kid`` and optionally ``typ`` ("JWT") — nothing else; the payload
carries ``exp`` (validUntil), ``iss`` (issuer.id), ``nbf`` (validFrom), ``jti`` (id) and ``sub``
(credentialSubject.id) beside the credential's own properties.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import select
from sqlalchemy.orm import object_session

from certificates import keys as keystore
from certificates.models import Certificate
from certificates.services import CertConfig
from certificates.signing import b64e
from lms.people.models import TraineeProfile

CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
CN = dt.timezone(dt.timedelta(hours=8))
JWT_ALGS = ("EdDSA", "ES256")


def key_url(cfg: CertConfig, kid: str, alg: str = "EdDSA") -> str:
    """The ``kid`` of a JWT: a URL that returns the key as a JWK."""
    return f"{cfg.base_url}/.well-known/cqo-certificate-keys/{kid}{'-es256' if alg == 'ES256' else ''}"


def issuer_url(cfg: CertConfig, kind: str, issuer_id: int) -> str:
    return f"{cfg.base_url}/issuers/{kind}-{issuer_id}"


def achievement_url(cfg: CertConfig, tier: str) -> str:
    return f"{cfg.base_url}/achievements/cqo-{tier}"


def status_list_url(cfg: CertConfig, purpose: str) -> str:
    return f"{cfg.base_url}/status-lists/{purpose}"


def issuer_profile(cfg: CertConfig, kind: str, issuer_id: int, name: str) -> dict:
    """The OB3 Profile an ``issuer.id`` resolves to."""
    return {"@context": CONTEXTS, "id": issuer_url(cfg, kind, issuer_id), "type": ["Profile"], "name": name,
            "url": cfg.base_url}


def achievement(cfg: CertConfig, tier: str, tier_label: str) -> dict:
    """The OB3 Achievement an ``achievement.id`` resolves to (one per tier)."""
    return {"@context": CONTEXTS, "id": achievement_url(cfg, tier), "type": ["Achievement"],
            "achievementType": "Certificate", "name": f"首席质量官培训结业（{tier_label}）",
            "description": f"首席质量官{tier_label}培训结业证书", "criteria": {"narrative": "完成全部培训课程，考勤与考核合格"}}


def identity_salt(cert: Certificate) -> str:
    """Per-certificate salt of the holder's identity hash: stable (derived from the public id), never shared."""
    return b64e(hashlib.sha256(b"cqo-ob3-salt:" + cert.cid.encode()).digest())[:22]


def identity_hash(id_number: str, salt: str) -> str:
    """OB3 IdentityObject.identityHash: ``sha256$`` + hex of SHA-256 over the identifier followed by the salt."""
    return "sha256$" + hashlib.sha256((id_number.strip().upper() + salt).encode()).hexdigest()


def _id_number(cert: Certificate) -> str | None:
    session = object_session(cert)
    if session is None:
        return None
    return session.scalar(select(TraineeProfile.id_number).where(TraineeProfile.user_id == cert.holder_user_id))


def credential(cert: Certificate, cfg: CertConfig) -> dict:
    """The certificate as an Open Badges 3.0 credential (the JWT's payload, without the registered claims)."""
    base = cfg.base_url
    snap = cert.snapshot or {}
    subject: dict = {"id": f"urn:cqo:holder:{cert.cid}", "type": ["AchievementSubject"], "name": cert.holder_name}
    id_number = _id_number(cert)
    if id_number:
        salt = identity_salt(cert)
        subject["identifier"] = [{"type": "IdentityObject", "identityHash": identity_hash(id_number, salt),
                                  "identityType": "nationalIdentityNumber", "hashed": True, "salt": salt}]
    subject["achievement"] = {
        "id": achievement_url(cfg, cert.tier.value),
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": snap.get("programme", ""),
        "description": f"{snap.get('class_name', '')}（{snap.get('class_start', '')} 至 {snap.get('class_end', '')}），"
                       f"培训机构：{snap.get('institution', '')}，监管部门：{snap.get('bureau', '')}",
        "criteria": {"narrative": "完成全部培训课程，考勤与考核合格"},
    }
    out = {
        "@context": CONTEXTS,
        "id": f"{base}/v/{cert.cid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_url(cfg, cert.issuer_kind.value, cert.issuer_id), "type": ["Profile"],
                   "name": snap.get("issuer", "")},
        "validFrom": f"{cert.issued_on.isoformat()}T00:00:00+08:00",
        "name": f"首席质量官结业证书（{snap.get('tier_label', '')}）",
        "credentialSubject": subject,
        "identifier": [{"type": "IdentifierEntry", "identifier": cert.number, "identifierType": "identifier"}],
    }
    if cert.valid_until is not None:
        out["validUntil"] = f"{cert.valid_until.isoformat()}T23:59:59+08:00"
    if cert.status_list_index is not None:
        # One entry: OB3's schema allows a single credentialStatus (VC 2.0 would allow a list). Revocation is what
        # standard verifiers check; the suspension list is published at the same index (status_list_entry).
        out["credentialStatus"] = status_list_entry(cfg, cert, "revocation")
    return out


def status_list_entry(cfg: CertConfig, cert: Certificate, purpose: str) -> dict:
    """The certificate's ``BitstringStatusListEntry`` in the list for ``purpose`` (same index in both lists)."""
    return {"id": f"{status_list_url(cfg, purpose)}#{cert.status_list_index}", "type": "BitstringStatusListEntry",
            "statusPurpose": purpose, "statusListIndex": str(cert.status_list_index),
            "statusListCredential": status_list_url(cfg, purpose)}


def sign_jwt(payload: dict, cfg: CertConfig, kid: str, alg: str | None = None) -> str:
    """``payload`` as a compact JWS: header ``alg``, ``kid`` (a resolvable URL) and ``typ: JWT`` only."""
    alg = alg or cfg.jwt_alg
    if alg not in JWT_ALGS:
        raise ValueError(f"CERT_JWT_ALG must be one of {JWT_ALGS}, not {alg!r}")
    header = {"alg": alg, "kid": key_url(cfg, kid, alg), "typ": "JWT"}
    signing_input = (b64e(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64e(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()))
    if alg == "ES256":
        r, s = decode_dss_signature(keystore.es256_private_key(cfg.key_dir, kid).sign(
            signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = keystore.private_key(cfg.key_dir, kid).sign(signing_input.encode("ascii"))
    return signing_input + "." + b64e(sig)


def _epoch(day: dt.date, end: bool = False) -> int:
    t = dt.time(23, 59, 59) if end else dt.time(0, 0)
    return int(dt.datetime.combine(day, t, tzinfo=CN).timestamp())


def credential_jwt(cert: Certificate, cfg: CertConfig, now: dt.datetime | None = None, alg: str | None = None) -> str:
    """The credential signed as a JWT with the key that signed the certificate."""
    now = now or dt.datetime.now(dt.timezone.utc)
    payload = credential(cert, cfg)
    payload.update({"iss": payload["issuer"]["id"], "sub": payload["credentialSubject"]["id"], "jti": payload["id"],
                    "nbf": _epoch(cert.issued_on), "iat": int(now.timestamp())})
    if cert.valid_until is not None:
        payload["exp"] = _epoch(cert.valid_until, end=True)
    return sign_jwt(payload, cfg, cert.key_id, alg)
