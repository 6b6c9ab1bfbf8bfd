"""The signed part of a certificate's QR code, and checking it with nothing but the published keys.

Signed part = ``base64url(canonical JSON of the fields) + "." + base64url(Ed25519 signature)``. Canonical
JSON: keys sorted, no spaces, UTF-8. The fields: holder name, number, tier, issue date, valid-until date and
the key id. This module imports neither Flask nor the database: the offline verifier uses it as it is.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FIELDS = ("holder_name", "number", "tier", "issued_on", "valid_until", "kid")
MAX_SIGNED_PART = 2048


def b64e(raw: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Decode base64url (padding optional); ValueError for anything else or anything too long."""
    if not isinstance(text, str) or len(text) > MAX_SIGNED_PART:
        raise ValueError("bad base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64url") from exc


def canonical(fields: dict) -> bytes:
    """The signed fields as canonical JSON bytes (sorted keys, no spaces)."""
    return json.dumps({k: fields[k] for k in FIELDS}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def sign(private_key: Ed25519PrivateKey, fields: dict) -> str:
    """The signed part printed after ``#`` in the QR code: canonical fields and signature, base64url."""
    body = canonical(fields)
    return b64e(body) + "." + b64e(private_key.sign(body))


@dataclass(frozen=True)
class Checked:
    ok: bool
    fields: dict | None  # the signed fields when they could be read (even if the signature is wrong)
    reason: str  # ok, malformed, unknown_key, bad_signature, outside_key_window


def parse(signed_part: str) -> tuple[dict, bytes, bytes]:
    """Split and decode; raises ValueError on anything malformed."""
    if not isinstance(signed_part, str) or signed_part.count(".") != 1 or len(signed_part) > MAX_SIGNED_PART:
        raise ValueError("malformed")
    body_b64, sig_b64 = signed_part.split(".")
    body, sig = b64d(body_b64), b64d(sig_b64)
    if len(sig) != 64:
        raise ValueError("malformed")
    try:
        fields = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("malformed") from exc
    if not isinstance(fields, dict) or set(fields) != set(FIELDS) or not all(
            isinstance(fields[k], str) or (k == "valid_until" and fields[k] is None) for k in FIELDS):  # null: no end date
        raise ValueError("malformed")
    if canonical(fields) != body:  # one byte sequence per content: no alternative encodings
        raise ValueError("malformed")
    return fields, body, sig


def public_keys_from_document(doc: dict) -> dict[str, dict]:
    """``{kid: {"key": Ed25519PublicKey, "valid_from": str, "valid_until": str | None}}`` from the published
    ``cqo-certificate-keys.json``."""
    out: dict[str, dict] = {}
    for k in doc.get("keys", []):
        if k.get("kty") != "OKP" or k.get("crv") != "Ed25519" or not k.get("kid"):
            continue
        try:
            pub = Ed25519PublicKey.from_public_bytes(b64d(k["x"]))
        except (ValueError, KeyError):
            continue
        out[k["kid"]] = {"key": pub, "valid_from": k.get("valid_from"), "valid_until": k.get("valid_until")}
    return out


def check(signed_part: str, keys: dict[str, dict], *, signature_known_good: bool = False) -> Checked:
    """Verify a signed part against public keys (``public_keys_from_document``'s shape).
    ``signature_known_good``: the issuing server knows these very bytes carry its own signature (its seal,
    ``certificates.seal``), so the Ed25519 computation alone is skipped; everything else is checked."""
    try:
        fields, body, sig = parse(signed_part)
    except ValueError:
        return Checked(False, None, "malformed")
    entry = keys.get(fields["kid"])
    if entry is None:
        return Checked(False, fields, "unknown_key")
    try:
        if not signature_known_good:
            entry["key"].verify(sig, body)
    except InvalidSignature:
        return Checked(False, fields, "bad_signature")
    # A retired key signs nothing dated after its retirement.
    if entry.get("valid_until") and fields["issued_on"] > entry["valid_until"][:10]:
        return Checked(False, fields, "outside_key_window")
    return Checked(True, fields, "ok")
