"""Personal information: field encryption, keyed look-up hashes and masking.

Resident ID numbers and phone numbers are stored encrypted (Fernet, key from the environment or
``instance/``) so that a copied database file does not show them, plus an HMAC for exact look-ups.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator


class _Keyring:
    fernet: Fernet | None = None
    hash_key: bytes | None = None


_keys = _Keyring()


def configure(key: str) -> None:
    """Install the field-encryption key (urlsafe base64 of 32 bytes). The look-up hash uses a key derived
    from it, so one secret serves both."""
    raw = base64.urlsafe_b64decode(key)
    if len(raw) != 32:
        raise ValueError("FIELD_ENCRYPTION_KEY must be 32 bytes, urlsafe base64")
    _keys.fernet = Fernet(key)
    _keys.hash_key = hashlib.sha256(b"lms-lookup-hash\x00" + raw).digest()


def generate_key() -> str:
    """A new field-encryption key (``python -m lms.secrets init`` writes it once)."""
    return Fernet.generate_key().decode()


def configured_key_fernet() -> Fernet | None:
    """The Fernet of the key this process was configured with (an app created in it), or None. For a migration
    run in-process that encrypts or decrypts stored fields with the app's key."""
    return _keys.fernet


def _fernet() -> Fernet:
    if _keys.fernet is None:
        raise RuntimeError("field encryption key not configured")
    return _keys.fernet


def lookup_hash(value: str) -> str:
    """Keyed hash of a normalised value for exact look-ups (unique indexes, 'does this ID match')."""
    if _keys.hash_key is None:
        raise RuntimeError("field encryption key not configured")
    return hmac.new(_keys.hash_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


class EncryptedText(TypeDecorator):
    """A string column stored encrypted."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return _fernet().encrypt(value.encode())

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return _fernet().decrypt(bytes(value)).decode()
        except InvalidToken as exc:  # wrong key: fail loudly, never show ciphertext
            raise RuntimeError("cannot decrypt a personal-data field: wrong FIELD_ENCRYPTION_KEY?") from exc


def mask_id_number(value: str | None) -> str:
    """320681********123X → region prefix and last four only."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """A phone number with its middle digits hidden."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """王芳 → 王*, 欧阳娜娜 → 欧***; Latin names keep their first letter."""
    if not value:
        return ""
    return value[0] + "*" * max(1, len(value) - 1)


_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def scrub(text: str) -> str:
    """Mask anything that looks like an ID number or a mobile number (for logs)."""
    text = _ID_RE.sub(lambda m: m.group(1)[:4] + "**********" + m.group(3)[-4:], text)
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
