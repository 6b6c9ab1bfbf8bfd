"""The keys a backup cannot restore without, sealed with a passphrase: ``flask --app wsgi backup --keys``.

A database backup alone restores an unreadable system: ID and phone numbers are encrypted with
``FIELD_ENCRYPTION_KEY`` and certificates are signed with the Ed25519 keys in ``CERT_KEY_DIR``. This archive
carries the field-encryption key, the session key and every signing key (``keyring.json`` and the ``.pem``
files), as JSON encrypted with AES-256-GCM under a key derived from the passphrase with scrypt
(n=2^15, r=8, p=1, a fresh 16-byte salt); written 0600. It is made once, and again after each key rotation,
and kept apart from the data backups (see the README's key custody).

Format: ``CQOKEYS1`` | salt (16) | nonce (12) | ciphertext with its tag.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"CQOKEYS1"
SUFFIX = ".cqokeys"
MIN_PASSPHRASE = 12


class KeyArchiveError(RuntimeError):
    pass


def _derive(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def collect(field_key: str, secret_key: str | None, key_dir: str) -> dict:
    kd = Path(key_dir)
    files = {}
    if kd.exists():
        for p in sorted(kd.iterdir()):
            if p.is_file() and (p.name == "keyring.json" or p.suffix == ".pem"):
                files[p.name] = p.read_text(encoding="utf-8")
    return {"format": 1, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "FIELD_ENCRYPTION_KEY": field_key, "SECRET_KEY": secret_key, "signing_keys": files}


def seal(payload: dict, passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyArchiveError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    body = AESGCM(_derive(passphrase, salt)).encrypt(nonce, json.dumps(payload).encode("utf-8"), MAGIC)
    return MAGIC + salt + nonce + body


def unseal(blob: bytes, passphrase: str) -> dict:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 28 + 16:
        raise KeyArchiveError("not a keys archive made by `flask backup --keys`")
    salt, nonce, body = blob[8:24], blob[24:36], blob[36:]
    try:
        return json.loads(AESGCM(_derive(passphrase, salt)).decrypt(nonce, body, MAGIC))
    except InvalidTag:
        raise KeyArchiveError("wrong passphrase (or a damaged keys archive)") from None


def write(out_dir: str, field_key: str, secret_key: str | None, key_dir: str, passphrase: str,
          now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.timezone.utc)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"cqo-keys-{now:%Y%m%dT%H%M%SZ}{SUFFIX}"
    write_private(target, seal(collect(field_key, secret_key, key_dir), passphrase))
    return target


def read(path: str, passphrase: str) -> dict:
    return unseal(Path(path).read_bytes(), passphrase)


def install(payload: dict, instance: Path, key_dir: str, env_field_key: str | None) -> list[str]:
    """Put the archive's keys where this installation reads them; returns what was done, one line each.

    The field-encryption key goes into ``instance/secrets.json`` (0600; the session key too when the file has
    none), unless the environment sets another one, which would win: then this refuses. Signing keys are
    copied into ``key_dir``; the keyring becomes the archive's, keeping any key made here since (closed)."""
    done = []
    fkey = payload["FIELD_ENCRYPTION_KEY"]
    if env_field_key and env_field_key != fkey:
        raise KeyArchiveError("FIELD_ENCRYPTION_KEY is set in the environment to another key than the archive's: "
                              "remove it from the environment (or set it to the archived one) and restore again")
    path = instance / "secrets.json"
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if current.get("FIELD_ENCRYPTION_KEY") != fkey:
        current["FIELD_ENCRYPTION_KEY"] = fkey
        if payload.get("SECRET_KEY"):
            current["SECRET_KEY"] = payload["SECRET_KEY"]
        instance.mkdir(parents=True, exist_ok=True)
        write_private(path, json.dumps(current, indent=2).encode("utf-8"))
        done.append(f"field-encryption key written to {path}")
    kd = Path(key_dir)
    kd.mkdir(parents=True, exist_ok=True)
    os.chmod(kd, 0o700)
    files = payload.get("signing_keys", {})
    for name, text in files.items():
        if name.endswith(".pem") and not (kd / name).exists():
            write_private(kd / name, text.encode("utf-8"))
    if "keyring.json" in files:
        ring = json.loads(files["keyring.json"])
        here = kd / "keyring.json"
        if here.exists():
            mine = json.loads(here.read_text(encoding="utf-8"))
            known = {k["kid"] for k in ring["keys"]}
            for k in mine.get("keys", []):
                if k["kid"] not in known:
                    k["valid_until"] = k.get("valid_until") or dt.date.today().isoformat()
                    ring["keys"].append(k)
        tmp = kd / "keyring.json.tmp"
        tmp.write_text(json.dumps(ring, indent=2), encoding="utf-8")
        os.replace(tmp, here)
        done.append(f"{sum(n.endswith('.pem') for n in files)} signing key(s) installed in {kd}")
    return done
