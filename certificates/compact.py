"""The compact signed certificate payload that the printed QR code carries (issue 16; docs/certificates-qr.md).

The QR code holds one URL in QR alphanumeric mode, ``HTTPS://HOST/C/<TOKEN>``: upper case, digits and a few
punctuation marks only, so that each character costs 5.5 bits in the code instead of 8. ``TOKEN`` is the
base32 (RFC 4648 alphabet ``A``-``Z`` ``2``-``7``, no padding) of::

    body      = header | kid tag | issued | valid until | [status index] | [photo] | number | holder name
    token     = base32(body + Ed25519 signature over DOMAIN + body)

    header       1 byte   format version (high nibble: 2; 3 with the holder's photo; 1 for tokens printed before
                          the status index) and
                          tier index (low nibble: 0 basic, 1 advanced, 2 senior)
    kid tag      4 bytes  the first 4 bytes of SHA-256(kid as UTF-8): names the signing key among the published
                          ones (a verifier tries every key whose tag matches, so a collision costs nothing)
    issued       2 bytes  days since 2000-01-01, unsigned big-endian (to 2179-06-06)
    valid until  2 bytes  days since 2000-01-01, not before ``issued``
    status index 1-5 bytes (version 2 only) the certificate's index in the W3C Bitstring Status Lists
                          (``Certificate.status_list_index``), unsigned LEB128 (7 bits a byte, low group first,
                          high bit = more follows), canonical (no superfluous zero group), below 2**32: an
                          offline verifier reads the certificate's bit in a downloaded list
    photo        8 bytes  (version 3 only) the fingerprint of the holder's photo printed on the certificate: the
                          first 8 bytes of SHA-256 of the stored, re-encoded JPEG (``certificates.photos``);
                          shown as four groups of four hex digits, ``1A2B-3C4D-5E6F-7081``
    number       1 byte length + UTF-8 (at most 64 characters)
    holder name  1 byte length + UTF-8 (at most 64 characters, at most 255 bytes)
    signature    64 bytes Ed25519 over ``DOMAIN + body``

The number is the lookup key on the server (it is unique) and is what a reader compares with the paper; the
signature makes the whole path unguessable, so a server that answers only for a valid signature reveals
nothing to someone enumerating numbers. ``DOMAIN`` separates these signatures from every other thing the
same key signs (the JSON signed part of ``certificates.signing``, the OB3 JWT).

Strict: one byte sequence per token (no lower case on output, canonical base32 with zero pad bits, no
trailing bytes, no control or bidirectional-override characters in the text fields). This module imports
neither Flask nor the database: the offline verifier and tests use it as it is; the browser's service worker
implements the same few steps (base32, the layout above, WebCrypto Ed25519 over ``DOMAIN + body``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import signing

FORMAT_VERSION = 2  # what ``pack`` writes when the status index is known
PHOTO_VERSION = 3  # ... and the holder's photo fingerprint (a province that prints the photo, issue 16)
VERSIONS = (1, 2, 3)  # what ``unpack`` reads: version 1 tokens (no status index) were printed before, keep verifying
PHOTO_BYTES = 8
MAX_STATUS_INDEX = (1 << 32) - 1
DOMAIN = b"CQO-CERT-QR-v1\x00"  # prefixed to the body before signing; never transmitted
TIERS = ("basic", "advanced", "senior")  # index in the header's low nibble; lms.domain.Tier's values
EPOCH = dt.date(2000, 1, 1)
KID_TAG_BYTES = 4
SIGNATURE_BYTES = 64
MAX_TEXT_CHARS = 64  # Certificate.number and Certificate.holder_name are String(64)
MAX_TEXT_BYTES = 255  # the length byte
ROUTE = "C"  # the path segment before the token: /C/<TOKEN>
FIXED_BYTES = 1 + KID_TAG_BYTES + 2 + 2 + 1 + 1  # everything but the two texts' bytes, before the signature
MIN_BODY = FIXED_BYTES + 2  # a number and a name of at least one ASCII byte each
MAX_BODY = FIXED_BYTES + 5 + PHOTO_BYTES + 2 * MAX_TEXT_BYTES
MAX_TOKEN_CHARS = -(-(MAX_BODY + SIGNATURE_BYTES) * 8 // 5)

B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_INDEX = {c: i for i, c in enumerate(B32_ALPHABET)}
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
# Characters a certificate's text must not contain: controls, format characters (bidirectional overrides,
# zero-width joiners) and unassigned code points: they can make the verifier show something other than the
# bytes that were signed.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class CompactError(ValueError):
    """A token, URL or field that cannot be encoded or decoded. ``reason`` is a short code (``bad_alphabet``,
    ``bad_length``, ``bad_padding``, ``unsupported_version``, ``truncated``, ``trailing_bytes``,
    ``bad_tier``, ``bad_date``, ``bad_text``, ``bad_index``, ``bad_photo``, ``too_long``, ``not_a_certificate_url``); the message says what
    was wrong in words."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Payload:
    """What a compact token says (the signature aside)."""

    number: str
    holder_name: str
    tier: str  # one of TIERS
    issued_on: dt.date
    valid_until: dt.date
    kid_tag: bytes  # KID_TAG_BYTES bytes: kid_tag(kid) of the signing key
    status_index: int | None = None  # the status lists' index (version 2); None in a version 1 token
    photo: bytes | None = None  # PHOTO_BYTES of the holder's photo fingerprint (version 3); None without a photo

    def fields(self, kid: str) -> dict:
        """The fields in ``certificates.signing``'s shape (what ``services.signed_fields`` returns), with the
        full key id that verified the signature, and ``status_index`` when the token carries one."""
        out = {"holder_name": self.holder_name, "number": self.number, "tier": self.tier,
               "issued_on": self.issued_on.isoformat(), "valid_until": self.valid_until.isoformat(), "kid": kid}
        if self.status_index is not None:
            out["status_index"] = self.status_index
        if self.photo is not None:
            out["photo"] = photo_text(self.photo)
        return out


# ------------------------------------------------------------------ base32 (RFC 4648, no padding, strict)
def b32encode(raw: bytes) -> str:
    """Base32 without padding, upper case."""
    out, acc, bits = [], 0, 0
    for byte in raw:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            out.append(B32_ALPHABET[(acc >> bits) & 31])
    if bits:
        out.append(B32_ALPHABET[(acc << (5 - bits)) & 31])
    return "".join(out)


def b32decode(text: str) -> bytes:
    """Strict inverse of ``b32encode``: upper-case alphabet only, no padding, a possible length, zero pad bits.
    (Callers that accept typed input upper-case it first.)"""
    if not isinstance(text, str):
        raise CompactError("bad_alphabet", "the token is not text")
    if len(text) % 8 in (1, 3, 6):
        raise CompactError("bad_length", f"a base32 text of {len(text)} characters encodes no whole number of bytes")
    acc, bits, out = 0, 0, bytearray()
    for ch in text:
        v = _B32_INDEX.get(ch)
        if v is None:
            raise CompactError("bad_alphabet", f"character {ch!r} is not in the base32 alphabet A-Z 2-7")
        acc, bits = ((acc << 5) | v) & 0xFFFF, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if acc & ((1 << bits) - 1):
        raise CompactError("bad_padding", "the last base32 character has non-zero pad bits (not canonical)")
    return bytes(out)


# ------------------------------------------------------------------ fields
def photo_text(raw: bytes) -> str:
    """The photo fingerprint as printed and shown: upper-case hex in groups of four, ``1A2B-3C4D-5E6F-7081``."""
    h = raw.hex().upper()
    return "-".join(h[i:i + 4] for i in range(0, len(h), 4))


def photo_bytes(text: str) -> bytes:
    """Inverse of ``photo_text`` (dashes and case ignored); raises ``CompactError`` unless PHOTO_BYTES of hex."""
    clean = (text or "").replace("-", "") if isinstance(text, str) else ""
    if len(clean) != 2 * PHOTO_BYTES or not re.fullmatch(r"[0-9A-Fa-f]+", clean):
        raise CompactError("bad_photo", f"the photo fingerprint must be {PHOTO_BYTES} bytes of hex")
    return bytes.fromhex(clean)


def kid_tag(kid: str) -> bytes:
    """The short key id carried in the token: the first 4 bytes of SHA-256 of the key id."""
    return hashlib.sha256(kid.encode("utf-8")).digest()[:KID_TAG_BYTES]


def _check_text(label: str, value: str) -> bytes:
    if not isinstance(value, str) or not value or value != value.strip():
        raise CompactError("bad_text", f"{label} is empty or has leading or trailing spaces")
    if len(value) > MAX_TEXT_CHARS:
        raise CompactError("too_long", f"{label} has {len(value)} characters (at most {MAX_TEXT_CHARS})")
    bad = [c for c in value if unicodedata.category(c) in _FORBIDDEN_CATEGORIES]
    if bad:
        raise CompactError("bad_text", f"{label} contains control or format characters {bad!r}")
    raw = value.encode("utf-8")
    if len(raw) > MAX_TEXT_BYTES:
        raise CompactError("too_long", f"{label} is {len(raw)} bytes in UTF-8 (at most {MAX_TEXT_BYTES})")
    return raw


def _day(label: str, d: dt.date) -> int:
    if not isinstance(d, dt.date) or isinstance(d, dt.datetime):
        raise CompactError("bad_date", f"{label} is not a date")
    n = (d - EPOCH).days
    if not 0 <= n <= 0xFFFF:
        raise CompactError("bad_date", f"{label} {d} is outside 2000-01-01 .. 2179-06-06")
    return n


def _varint(value: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STATUS_INDEX:
        raise CompactError("bad_index", f"the status index must be an integer 0..{MAX_STATUS_INDEX}")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(body: bytes, pos: int) -> tuple[int, int]:
    """The canonical LEB128 integer at ``pos`` and the position after it."""
    value = 0
    for i in range(5):
        if pos + i >= len(body):
            raise CompactError("truncated", "the payload ends inside the status index")
        byte = body[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i and byte == 0:
                raise CompactError("bad_index", "the status index is not canonical (a superfluous zero group)")
            if value > MAX_STATUS_INDEX:
                raise CompactError("bad_index", "the status index is beyond 2**32 - 1")
            return value, pos + i + 1
    raise CompactError("bad_index", "the status index is longer than 5 bytes")


def pack(payload: Payload) -> bytes:
    """The body (everything the signature covers, without ``DOMAIN``). Raises ``CompactError``."""
    if payload.tier not in TIERS:
        raise CompactError("bad_tier", f"unknown tier {payload.tier!r}")
    if not isinstance(payload.kid_tag, bytes) or len(payload.kid_tag) != KID_TAG_BYTES:
        raise CompactError("bad_length", f"the key tag must be {KID_TAG_BYTES} bytes")
    issued, until = _day("issued_on", payload.issued_on), _day("valid_until", payload.valid_until)
    if until < issued:
        raise CompactError("bad_date", "valid_until is before issued_on")
    number, name = _check_text("number", payload.number), _check_text("holder_name", payload.holder_name)
    version, index = (1, b"") if payload.status_index is None else (FORMAT_VERSION, _varint(payload.status_index))
    photo = b""
    if payload.photo is not None:
        if payload.status_index is None:
            raise CompactError("bad_photo", "a token with the photo fingerprint must carry the status index")
        if not isinstance(payload.photo, bytes) or len(payload.photo) != PHOTO_BYTES:
            raise CompactError("bad_photo", f"the photo fingerprint must be {PHOTO_BYTES} bytes")
        version, photo = PHOTO_VERSION, payload.photo
    return (bytes([(version << 4) | TIERS.index(payload.tier)]) + payload.kid_tag
            + issued.to_bytes(2, "big") + until.to_bytes(2, "big") + index + photo
            + bytes([len(number)]) + number + bytes([len(name)]) + name)


def unpack(body: bytes) -> Payload:
    """Parse a body (strictly: every byte accounted for, every field valid). Raises ``CompactError``."""
    if len(body) < MIN_BODY:
        raise CompactError("truncated", f"the payload is {len(body)} bytes, shorter than any certificate's")
    version, tier = body[0] >> 4, body[0] & 0x0F
    if version not in VERSIONS:
        raise CompactError("unsupported_version", f"payload format {version} (this verifier reads {VERSIONS})")
    if tier >= len(TIERS):
        raise CompactError("bad_tier", f"tier index {tier} is not defined")
    pos = 1 + KID_TAG_BYTES
    tag = body[1:pos]
    issued = EPOCH + dt.timedelta(days=int.from_bytes(body[pos:pos + 2], "big"))
    until = EPOCH + dt.timedelta(days=int.from_bytes(body[pos + 2:pos + 4], "big"))
    pos += 4
    index = None
    if version >= 2:
        index, pos = _read_varint(body, pos)
    photo = None
    if version >= PHOTO_VERSION:
        photo = body[pos:pos + PHOTO_BYTES]
        if len(photo) != PHOTO_BYTES:
            raise CompactError("truncated", "the payload ends inside the photo fingerprint")
        pos += PHOTO_BYTES
    texts = []
    for label in ("number", "holder_name"):
        if pos >= len(body):
            raise CompactError("truncated", f"the payload ends before {label}")
        n = body[pos]
        raw = body[pos + 1:pos + 1 + n]
        if len(raw) != n:
            raise CompactError("truncated", f"the payload ends inside {label}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CompactError("bad_text", f"{label} is not valid UTF-8") from exc
        _check_text(label, text)
        texts.append(text)
        pos += 1 + n
    if pos != len(body):
        raise CompactError("trailing_bytes", f"{len(body) - pos} unexpected bytes after the holder's name")
    if until < issued:
        raise CompactError("bad_date", "valid_until is before issued_on")
    return Payload(number=texts[0], holder_name=texts[1], tier=TIERS[tier], issued_on=issued, valid_until=until,
                   kid_tag=tag, status_index=index, photo=photo)


# ------------------------------------------------------------------ tokens and URLs
def payload_for(fields: dict) -> Payload:
    """A ``Payload`` from ``certificates.signing``-shaped fields (``services.signed_fields(cert)``: ISO dates,
    the full ``kid``), with ``status_index`` when given (a version 2 token; without it, version 1)."""
    try:
        return Payload(number=fields["number"], holder_name=fields["holder_name"], tier=fields["tier"],
                       issued_on=dt.date.fromisoformat(fields["issued_on"]),
                       valid_until=dt.date.fromisoformat(fields["valid_until"]), kid_tag=kid_tag(fields["kid"]),
                       status_index=fields.get("status_index"),
                       photo=photo_bytes(fields["photo"]) if fields.get("photo") else None)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CompactError):
            raise
        raise CompactError("bad_text", f"incomplete or malformed fields: {exc}") from exc


def sign(private_key: Ed25519PrivateKey, fields: dict) -> str:
    """The token for ``fields`` (``services.signed_fields(cert)``, plus ``status_index``: what the printed code
    carries), signed with the key named by ``fields["kid"]``."""
    body = pack(payload_for(fields))
    return b32encode(body + private_key.sign(DOMAIN + body))


def split(token: str) -> tuple[Payload, bytes, bytes]:
    """Decode a token into (payload, body, signature). Raises ``CompactError`` on anything malformed; says
    nothing about the signature."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise CompactError("bad_length", "the token is longer than any certificate's")
    raw = b32decode(token)
    if len(raw) < MIN_BODY + SIGNATURE_BYTES:
        raise CompactError("truncated", f"the token decodes to {len(raw)} bytes, fewer than a signed certificate's")
    body, sig = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    return unpack(body), body, sig


def verify(token: str, keys: dict[str, dict]) -> signing.Checked:
    """Check a token against published keys (``signing.public_keys_from_document``'s shape:
    ``{kid: {"key", "valid_from", "valid_until"}}``). Returns ``signing.Checked`` whose ``fields`` are in
    ``signing``'s shape, so that ``fields == services.signed_fields(cert)`` compares a token with a record.

    Reasons: ``ok``; ``malformed`` (no fields); ``unknown_key`` (no published key has the token's tag);
    ``bad_signature``; ``outside_key_window`` (signature good, but the certificate is dated before the key's
    window began or after it ended: a stolen retired key cannot back-date or post-date)."""
    try:
        payload, body, sig = split(token)
    except CompactError:
        return signing.Checked(False, None, "malformed")
    candidates = [kid for kid in keys if kid_tag(kid) == payload.kid_tag]
    if not candidates:
        return signing.Checked(False, payload.fields(""), "unknown_key")
    for kid in sorted(candidates):
        try:
            keys[kid]["key"].verify(sig, DOMAIN + body)
        except InvalidSignature:
            continue
        fields = payload.fields(kid)
        start, end = keys[kid].get("valid_from"), keys[kid].get("valid_until")
        if (start and fields["issued_on"] < start[:10]) or (end and fields["issued_on"] > end[:10]):
            return signing.Checked(False, fields, "outside_key_window")
        return signing.Checked(True, fields, "ok")
    return signing.Checked(False, payload.fields(""), "bad_signature")


def qr_url(base_url: str, token: str, upper: bool = True) -> str:
    """The URL printed in the QR code: ``base_url``, then ``/C/`` and the token.

    ``upper`` (the default): scheme and host upper-cased (both are case-insensitive) so that the whole URL is
    one QR alphanumeric segment; raises ``CompactError`` when it is not (a path prefix in lower case, a query,
    an underscore...): the code would grow. ``upper=False``: scheme and host as given (lower case), for an
    encoder that segments (zxing-cpp does: the prefix in byte mode, ``/C/<TOKEN>`` in alphanumeric mode; about
    2.5 bits more per prefix character, no version more for a typical host: docs/certificates-qr.md)."""
    m = re.match(r"^(https?)://([^/?#]+)(/[^?#]*)?$", base_url.strip(), re.IGNORECASE)
    if not m:
        raise CompactError("not_a_certificate_url", f"{base_url!r} is not an http(s) base URL")
    prefix = (m.group(3) or "").rstrip("/")
    if not upper:
        return f"{m.group(1).lower()}://{m.group(2).lower()}{prefix}/{ROUTE}/{token}"
    url = f"{m.group(1).upper()}://{m.group(2).upper()}{prefix}/{ROUTE}/{token}"
    if not set(url) <= QR_ALPHANUMERIC:
        bad = sorted(set(url) - QR_ALPHANUMERIC)
        raise CompactError("bad_alphabet", f"the URL has characters outside QR alphanumeric mode: {bad!r}")
    return url


def token_from_url(url: str) -> str:
    """The token in a certificate URL (``…/C/<TOKEN>``, any case for scheme, host and route; a trailing slash
    allowed; query and fragment ignored). Lower-case tokens (typed by hand) are upper-cased."""
    if not isinstance(url, str):
        raise CompactError("not_a_certificate_url", "not a URL")
    path = re.split(r"[?#]", url.strip(), maxsplit=1)[0].rstrip("/")
    head, sep, token = path.rpartition("/")
    if not sep or not head.upper().endswith("/" + ROUTE) or not token:
        raise CompactError("not_a_certificate_url", "no /C/<token> in the URL")
    return token.upper()


def is_alphanumeric(text: str) -> bool:
    """Whether ``text`` fits QR alphanumeric mode (5.5 bits a character)."""
    return set(text) <= QR_ALPHANUMERIC
