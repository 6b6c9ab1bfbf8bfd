"""Signing keys: Ed25519, kept in files under ``CERT_KEY_DIR`` (never in the database).

``keyring.json`` lists every key with its signing window; ``<kid>.pem`` holds each private key (mode 0600).
Rotation starts a new key and closes the old one's window; old keys stay published so the certificates
they signed keep verifying.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates.signing import b64e

KEYRING = "keyring.json"
_lock = threading.Lock()
# The demo's certificates are signed with keys whose kid starts with this; a production site (LMS_ENV=production)
# neither publishes them nor signs with them, so a demo certificate never verifies as genuine there.
DEMO_PREFIX = "demo-"
DEMO_PROVINCE_PREFIXES = ("demo-", "demo-fj-")  # the demo's key sets: Jiangsu, Fujian (certificates.demo)
_trust_demo = True


def configure(trust_demo_keys: bool) -> None:
    global _trust_demo
    _trust_demo = trust_demo_keys
    _doc_cache.clear()


class NoSigningKey(RuntimeError):
    def __str__(self) -> str:
        return (f"no certificate signing key in {self.args[0]}: run `python -m lms.secrets init` "
                f"(or `flask --app wsgi cert-keys rotate`) once")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    valid_from: str  # ISO date the key started signing
    valid_until: str | None  # ISO date it stopped (None while active)


def _read(key_dir: Path) -> dict:
    path = key_dir / KEYRING
    if not path.exists():
        return {"active": None, "keys": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _write(key_dir: Path, ring: dict) -> None:
    tmp = key_dir / (KEYRING + ".tmp")
    tmp.write_text(json.dumps(ring, indent=2), encoding="utf-8")
    os.replace(tmp, key_dir / KEYRING)


def list_keys(key_dir: str | Path) -> list[KeyInfo]:
    """Every signing key of the key ring, with its window."""
    ring = _read(Path(key_dir))
    return [KeyInfo(k["kid"], k["valid_from"], k.get("valid_until")) for k in ring["keys"]]


def active_kid(key_dir: str | Path) -> str | None:
    """The id of the key that signs new certificates, if any."""
    return _read(Path(key_dir)).get("active")


def create_key(key_dir: str | Path, today: dt.date, prefix: str = "cqo-") -> str:
    """Create a key and make it the active one; the previous active key stops signing today."""
    key_dir = Path(key_dir)
    with _lock:
        key_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(key_dir, 0o700)
        ring = _read(key_dir)
        kid = f"{prefix}{today:%Y%m%d}-{secrets.token_hex(4)}"
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        fd = os.open(key_dir / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        for k in ring["keys"]:
            if k["kid"] == ring.get("active") and not k.get("valid_until"):
                k["valid_until"] = today.isoformat()
        ring["keys"].append({"kid": kid, "valid_from": today.isoformat(), "valid_until": None})
        ring["active"] = kid
        _write(key_dir, ring)
        _cache.clear()
        return kid


def ensure_key(key_dir: str | Path, today: dt.date) -> tuple[str, bool]:
    """The active key id, creating the first key if there is none. Returns (kid, created)."""
    kid = active_kid(key_dir)
    if kid:
        return kid, False
    return create_key(key_dir, today), True


def ensure_demo_key(key_dir: str | Path, today: dt.date, prefix: str = DEMO_PREFIX) -> str:
    """The demo's signing key (made active): ``seed-demo`` signs with it, never with a production key.
    ``prefix``: the demo province's key set (``demo-`` Jiangsu, ``demo-fj-`` Fujian; always under ``demo-``)."""
    if not prefix.startswith(DEMO_PREFIX):
        raise ValueError(f"a demo key's id starts with {DEMO_PREFIX!r}")
    kid = active_kid(key_dir)
    if kid and kid.startswith(prefix) and (prefix != DEMO_PREFIX or not _other_demo_province(kid)):
        return kid
    return create_key(key_dir, today, prefix=prefix)


def _other_demo_province(kid: str) -> bool:
    return any(kid.startswith(p) for p in DEMO_PROVINCE_PREFIXES if p != DEMO_PREFIX)


_cache: dict[tuple[str, str], Ed25519PrivateKey | ec.EllipticCurvePrivateKey] = {}


def private_key(key_dir: str | Path, kid: str) -> Ed25519PrivateKey:
    """The private key ``kid`` (cached per process)."""
    cache_key = (str(key_dir), kid)
    if cache_key not in _cache:
        pem = (Path(key_dir) / f"{kid}.pem").read_bytes()
        _cache[cache_key] = serialization.load_pem_private_key(pem, password=None)
    return _cache[cache_key]


def signing_key(key_dir: str | Path) -> tuple[str, Ed25519PrivateKey]:
    """The active key's id and private key; ``NoSigningKey`` when none was created."""
    kid = active_kid(key_dir)
    if not kid or (kid.startswith(DEMO_PREFIX) and not _trust_demo):
        raise NoSigningKey(str(key_dir))
    return kid, private_key(key_dir, kid)


_doc_cache: dict[str, tuple[tuple, dict]] = {}


def public_document(key_dir: str | Path) -> dict:
    """What ``/.well-known/cqo-certificate-keys.json`` publishes: each key as a JWK with its window. Cached per
    process until ``keyring.json`` changes (a rotation, possibly by another process: hence its stat, not a flag);
    every JSON verification with a signature asks for it."""
    try:
        st = (Path(key_dir) / KEYRING).stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        stamp = None
    hit = _doc_cache.get(str(key_dir))
    if stamp is not None and hit is not None and hit[0] == stamp:
        return hit[1]
    doc = _public_document(key_dir)
    if stamp is not None:
        _doc_cache[str(key_dir)] = (stamp, doc)
    return doc


def _public_document(key_dir: str | Path) -> dict:
    out = []
    for k in list_keys(key_dir):
        if k.kid.startswith(DEMO_PREFIX) and not _trust_demo:
            continue
        pub = private_key(key_dir, k.kid).public_key().public_bytes(serialization.Encoding.Raw,
                                                                     serialization.PublicFormat.Raw)
        out.append({"kid": k.kid, "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "x": b64e(pub),
                    "valid_from": k.valid_from, "valid_until": k.valid_until})
    return {"issuer": "首席质量官培训平台", "keys": out}


# ------------------------------------------------------------------ JOSE forms of a key (Open Badges 3.0 JWT)
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def es256_private_key(key_dir: str | Path, kid: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key paired with Ed25519 key ``kid`` (for ES256 JWTs): derived from it, so it lives and dies with
    it, shares its window and needs no file of its own."""
    cache_key = (str(key_dir), kid + "#es256")
    if cache_key not in _cache:
        raw = private_key(key_dir, kid).private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                      serialization.NoEncryption())
        scalar = int.from_bytes(hashlib.sha256(b"cqo-es256:" + raw).digest(), "big") % (_P256_ORDER - 1) + 1
        _cache[cache_key] = ec.derive_private_key(scalar, ec.SECP256R1())
    return _cache[cache_key]


def jwk(key_dir: str | Path, kid: str, alg: str = "EdDSA") -> dict:
    """The public key ``kid`` as a JWK for ``alg`` (EdDSA or ES256); KeyError for an unknown or unpublished kid."""
    info = {k.kid: k for k in list_keys(key_dir)}.get(kid)
    if info is None or (kid.startswith(DEMO_PREFIX) and not _trust_demo):
        raise KeyError(kid)
    window = {"valid_from": info.valid_from, "valid_until": info.valid_until}
    if alg == "ES256":
        nums = es256_private_key(key_dir, kid).public_key().public_numbers()
        return {"kid": kid + "-es256", "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
                "x": b64e(nums.x.to_bytes(32, "big")), "y": b64e(nums.y.to_bytes(32, "big")), **window}
    pub = private_key(key_dir, kid).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kid": kid, "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "x": b64e(pub), **window}
