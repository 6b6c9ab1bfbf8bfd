"""W3C Bitstring Status List v1.0: the revoked and the suspended certificates published as two signed
``BitstringStatusListCredential`` documents, one bit per certificate (``Certificate.status_list_index``).

§4.1 (Bitstring Generation Algorithm): the list is at least 16 KB (131,072 entries) so one entry tells
nothing about the others; index 0 is the left-most bit of the first byte; the bitstring is GZIP-compressed and
base64url-encoded without padding, with the multibase prefix ``u``.
"""
from __future__ import annotations

import base64
import datetime as dt
import gzip

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates import export
from certificates import keys as keystore
from certificates.models import Certificate, CertificateStatus
from certificates.services import CertConfig
from certificates.status_verdict import bit, decode  # noqa: F401  (the reading side, shared with the offline verifier)

MIN_BITS = 131072  # 16 KB: §6.1 Herd privacy
PURPOSES = {"revocation": CertificateStatus.revoked, "suspension": CertificateStatus.suspended}
TTL_MS = 3600 * 1000  # how long a verifier may cache the list (the route's max-age)


def encode(indices: list[int] | set[int], size: int) -> str:
    """The ``encodedList`` of a bitstring of ``size`` bits with ``indices`` set."""
    bits = bytearray(size // 8)
    for i in indices:
        bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode("ascii")


def credential(session: Session, cfg: CertConfig, purpose: str, now: dt.datetime) -> dict:
    """The status list credential for ``purpose`` (``revocation`` or ``suspension``), as of ``now``."""
    status = PURPOSES[purpose]
    top = session.scalar(select(func.max(Certificate.status_list_index))) or 0
    size = max(MIN_BITS, (top // 8 + 1) * 8)
    indices = set(session.scalars(select(Certificate.status_list_index).where(
        Certificate.status == status, Certificate.status_list_index.is_not(None))))
    url = export.status_list_url(cfg, purpose)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": cfg.base_url,
        "validFrom": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode(indices, size), "ttl": TTL_MS},
    }


def credential_jwt(session: Session, cfg: CertConfig, purpose: str, now: dt.datetime | None = None) -> str:
    """The status list credential signed (as a JWT) with the active signing key, always EdDSA (whatever
    ``CERT_JWT_ALG`` says for the credentials): the offline verifiers and partner provinces check it with the
    Ed25519 keys of ``cqo-certificate-keys.json``; its ``kid`` URL resolves to that JWK for anyone else."""
    now = now or dt.datetime.now(dt.timezone.utc)
    payload = credential(session, cfg, purpose, now)
    payload.update({"iss": payload["issuer"], "jti": payload["id"], "iat": int(now.timestamp()),
                    "nbf": int(now.timestamp())})
    kid, _ = keystore.signing_key(cfg.key_dir)
    return export.sign_jwt(payload, cfg, kid, alg="EdDSA")
