"""The issuing server's seal on a signed part it made (issue 20).

A verification JSON with ``sig`` checks that the signed part a scanner presents verifies with a published key and
says what the certificate's row says. The Ed25519 check costs ~100 µs of CPU, about a third of a process's first
scan of a certificate (each gunicorn process checks each certificate once, then remembers the result). The server
that signed the part knows it is good when it signs it, so it stores a seal beside it::

    seal = HMAC-SHA256(seal key of the signing key, signed part)    (hex, ``Certificate.seal``)
    seal key = HMAC-SHA256(the signing key's 32 private bytes, "lms.certificates.seal/v1")

A scan whose presented part has the row's seal skips only the Ed25519 computation: the part is still parsed, its key
must still be in the published document and inside its window, and its fields must still equal the row's
(``services.verification.signature_matches``). The seal key is derived from the very private key whose signature the
seal stands for, so the seal adds no secret to trust: whoever can make a seal can sign. A row changed in the
database without that key (a forged part, a seal copied from another certificate or guessed) does not match, and
the part goes through the full Ed25519 check, which refuses it. A part never sealed (issued before this revision;
``flask cert-keys seal`` seals them once checked) or whose key file is not here is checked in full, as before.

Offline verifiers and partner provinces never see the seal: they check the signature itself (``signing.check``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import keys

LABEL = b"lms.certificates.seal/v1"
LENGTH = 64  # hex characters of a SHA-256 HMAC: Certificate.seal's width
_KID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a key file's name, never a path (the kid is the row's)

_keys: dict[tuple[str, str], bytes] = {}  # (key dir, kid) -> seal key, a handful a process (rotations)


def key_of(private: Ed25519PrivateKey) -> bytes:
    """The seal key of a signing key: HMAC-SHA256 of its private bytes under ``LABEL``."""
    return hmac.digest(private.private_bytes_raw(), LABEL, hashlib.sha256)


def make(private: Ed25519PrivateKey, signed_part: str) -> str:
    """The seal of ``signed_part``, which ``private`` has just signed."""
    return hmac.digest(key_of(private), signed_part.encode("utf-8"), hashlib.sha256).hex()


def matches(key_dir: str | Path, kid: str, signed_part: str, stored: str | None) -> bool:
    """``signed_part`` is the part this server signed with ``kid`` and sealed as ``stored``. False when nothing is
    stored, the key's file is not in ``key_dir`` (another province's key, a demo key elsewhere) or it differs."""
    if not stored or not isinstance(signed_part, str) or len(stored) != LENGTH or not _KID.match(kid or ""):
        return False
    cache_key = (str(key_dir), kid)
    key = _keys.get(cache_key)
    if key is None:
        try:
            private = keys.private_key(key_dir, kid)
        except (OSError, ValueError, TypeError):
            return False
        if not isinstance(private, Ed25519PrivateKey):
            return False
        key = _keys.setdefault(cache_key, key_of(private))
    expected = hmac.digest(key, signed_part.encode("utf-8", "surrogatepass"), hashlib.sha256).hex()
    return hmac.compare_digest(expected, stored)
