"""certificates.compact: the signed payload the printed QR code carries (issue 16)."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import compact, keys as keystore, signing
from lms.domain import Tier

KID = "cqo-20260101-0a1b2c3d"
FIELDS = {"holder_name": "张三", "number": "320600-B-2026-00001", "tier": "basic", "issued_on": "2026-11-22",
          "valid_until": "2029-11-21", "kid": KID}


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _published(*entries) -> dict:
    """Keys in the published document's shape, read back through signing.public_keys_from_document."""
    doc = {"keys": [{"kid": kid, "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
                     "x": signing.b64e(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                      serialization.PublicFormat.Raw)),
                     "valid_from": start, "valid_until": end} for kid, key, start, end in entries]}
    return signing.public_keys_from_document(doc)


KEYS = _published((KID, _key(1), "2026-01-01", None))


def test_verifiers_compact_round_trip():
    token = compact.sign(_key(1), FIELDS)
    res = compact.verify(token, KEYS)
    assert res == signing.Checked(True, FIELDS, "ok")
    assert set(token) <= set(compact.B32_ALPHABET)
    url = compact.qr_url("https://cqo.example.cn/", token)
    assert url == f"HTTPS://CQO.EXAMPLE.CN/C/{token}" and compact.is_alphanumeric(url)
    assert compact.token_from_url(url) == token
    assert compact.token_from_url(url.lower() + "/") == token  # typed by hand, lower case, trailing slash
    assert compact.token_from_url(f"https://cqo.example.cn/c/{token}?utm=1#x") == token


def test_verifiers_compact_sizes():
    """The typical certificate: 43 bytes of fields + 64 of signature = 172 base32 characters."""
    token = compact.sign(_key(1), FIELDS)
    payload, body, sig = compact.split(token)
    assert len(body) == compact.FIXED_BYTES + len(FIELDS["number"]) + len("张三".encode())
    assert len(sig) == 64 and len(token) == -(-(len(body) + 64) * 8 // 5)
    assert payload.kid_tag == compact.kid_tag(KID)


def test_verifiers_compact_base32_matches_rfc4648():
    for n in range(0, 40):
        raw = bytes((i * 37 + n) % 256 for i in range(n))
        text = compact.b32encode(raw)
        assert text == base64.b32encode(raw).decode().rstrip("=")
        assert compact.b32decode(text) == raw


def test_verifiers_compact_tiers_are_the_domain_tiers():
    assert compact.TIERS == tuple(t.value for t in Tier)
    for tier in compact.TIERS:
        assert compact.verify(compact.sign(_key(1), {**FIELDS, "tier": tier}), KEYS).fields["tier"] == tier


def test_verifiers_compact_kid_tag_matches_keystore_ids(tmp_path):
    kid = keystore.create_key(tmp_path, dt.date(2026, 1, 1))
    keys = signing.public_keys_from_document(keystore.public_document(tmp_path))
    token = compact.sign(keystore.private_key(tmp_path, kid), {**FIELDS, "kid": kid})
    assert compact.verify(token, keys) == signing.Checked(True, {**FIELDS, "kid": kid}, "ok")


@pytest.mark.parametrize("change", [
    lambda b: bytes([b[0]]) + b"\x00\x00\x00\x00" + b[5:],  # another key's tag
    lambda b: b[:5] + (int.from_bytes(b[5:7], "big") - 1).to_bytes(2, "big") + b[7:],  # issued a day earlier
    lambda b: b[:7] + (int.from_bytes(b[7:9], "big") + 365).to_bytes(2, "big") + b[9:],  # a year more
    lambda b: b.replace("张三".encode(), "李四".encode()),  # another holder
    lambda b: b.replace(b"00001", b"00002"),  # another number
    lambda b: bytes([b[0] + 1]) + b[1:],  # another tier
])
def test_verifiers_compact_tampering_refused(change):
    payload, body, sig = compact.split(compact.sign(_key(1), FIELDS))
    forged = compact.b32encode(change(body) + sig)
    res = compact.verify(forged, KEYS)
    assert not res.ok and res.reason in ("bad_signature", "unknown_key")


def test_verifiers_compact_flipped_signature_refused():
    token = compact.sign(_key(1), FIELDS)
    raw = bytearray(compact.b32decode(token))
    raw[-1] ^= 1
    assert compact.verify(compact.b32encode(bytes(raw)), KEYS).reason == "bad_signature"


def test_verifiers_compact_wrong_key_refused():
    token = compact.sign(_key(2), FIELDS)  # same kid, another private key
    res = compact.verify(token, KEYS)
    assert not res.ok and res.reason == "bad_signature"
    assert res.fields["number"] == FIELDS["number"]  # readable, not trusted


def test_verifiers_compact_unknown_key():
    token = compact.sign(_key(1), {**FIELDS, "kid": "cqo-20270101-ffffffff"})
    res = compact.verify(token, KEYS)
    assert not res.ok and res.reason == "unknown_key"


def test_verifiers_compact_tag_collision_tries_every_key():
    """Two published keys with the same 4-byte tag (forced here): the one that verifies is reported."""
    other = "cqo-20250101-00000000"
    keys = _published((other, _key(3), "2025-01-01", "2026-01-01"), (KID, _key(1), "2026-01-01", None))
    real_tag = compact.kid_tag

    def same_tag(kid):
        return real_tag(KID)

    try:
        compact.kid_tag = same_tag
        token = compact.sign(_key(1), FIELDS)
        assert compact.verify(token, keys) == signing.Checked(True, FIELDS, "ok")
    finally:
        compact.kid_tag = real_tag


def test_verifiers_compact_key_window():
    token = compact.sign(_key(1), FIELDS)  # issued 2026-11-22
    before = _published((KID, _key(1), "2026-12-01", None))
    assert compact.verify(token, before).reason == "outside_key_window"
    retired = _published((KID, _key(1), "2026-01-01", "2026-06-30"))
    assert compact.verify(token, retired).reason == "outside_key_window"
    last_day = _published((KID, _key(1), "2026-01-01", "2026-11-22"))
    assert compact.verify(token, last_day).ok


@pytest.mark.parametrize("token, reason", [
    ("", "bad_length"),
    ("A", "bad_length"),
    ("ABC", "bad_length"),
    ("AB1D", "bad_alphabet"),  # 1 is not base32
    ("ab", "bad_alphabet"),  # lower case is refused by the strict decoder (token_from_url upper-cases)
    ("AB=", "bad_length"),
    ("AB==", "bad_alphabet"),
    ("AZ", "bad_padding"),  # non-zero pad bits: a second spelling of the same byte
    ("A" * 10_000, "bad_length"),
])
def test_verifiers_compact_garbage_refused(token, reason):
    with pytest.raises(compact.CompactError) as err:
        compact.split(token)
    assert err.value.reason == reason or (reason == "bad_length" and err.value.reason == "truncated")
    assert compact.verify(token, KEYS) == signing.Checked(False, None, "malformed")


def test_verifiers_compact_truncated_refused():
    token = compact.sign(_key(1), FIELDS)
    for cut in (1, 2, 8, 50, 103, len(token) - 10):
        shorter = token[:-cut]
        res = compact.verify(shorter, KEYS)
        assert not res.ok, cut
        assert res.reason in ("malformed", "bad_signature", "unknown_key"), cut


def test_verifiers_compact_strict_layout():
    payload, body, sig = compact.split(compact.sign(_key(1), FIELDS))
    with pytest.raises(compact.CompactError, match="unexpected bytes") as err:
        compact.unpack(body + b"\x00")
    assert err.value.reason == "trailing_bytes"
    with pytest.raises(compact.CompactError) as err:
        compact.unpack(bytes([0x41]) + body[1:])  # format 4 (3 is the photo fingerprint, issue 16)
    assert err.value.reason == "unsupported_version"
    with pytest.raises(compact.CompactError) as err:
        compact.unpack(bytes([0x13]) + body[1:])  # tier 3
    assert err.value.reason == "bad_tier"
    with pytest.raises(compact.CompactError) as err:
        compact.unpack(body[:-1])
    assert err.value.reason == "truncated"
    bad_utf8 = body[:-len("张三".encode())] + b"\xe5\xbc\xff\xe4\xb8\x89"
    with pytest.raises(compact.CompactError) as err:
        compact.unpack(bad_utf8)
    assert err.value.reason == "bad_text"
    swapped = body[:5] + body[7:9] + body[5:7] + body[9:]  # valid until before issued
    with pytest.raises(compact.CompactError) as err:
        compact.unpack(swapped)
    assert err.value.reason == "bad_date"


@pytest.mark.parametrize("name", ["欧阳娜娜", "买买提·艾力", "阿卜杜热合曼·买买提明", "𠀾𠁿", "Zhang San-Li"])
def test_verifiers_compact_names(name):
    token = compact.sign(_key(1), {**FIELDS, "holder_name": name})
    assert compact.verify(token, KEYS).fields["holder_name"] == name


@pytest.mark.parametrize("name", ["张\u202e三", "张\u200b三", "张\n三", " 张三", ""])
def test_verifiers_compact_text_that_could_mislead_refused(name):
    with pytest.raises(compact.CompactError) as err:
        compact.sign(_key(1), {**FIELDS, "holder_name": name})
    assert err.value.reason == "bad_text"


def test_verifiers_compact_max_lengths():
    longest = {**FIELDS, "holder_name": "龘" * 64, "number": "X" * 64}
    token = compact.sign(_key(1), longest)
    assert compact.verify(token, KEYS).fields == longest
    assert len(token) <= compact.MAX_TOKEN_CHARS
    for field, value in (("holder_name", "龘" * 65), ("number", "1" * 65), ("holder_name", "𠀾" * 64)):
        with pytest.raises(compact.CompactError) as err:
            compact.sign(_key(1), {**FIELDS, field: value})
        assert err.value.reason == "too_long"


def test_verifiers_compact_dates():
    for issued, until in (("2000-01-01", "2000-01-01"), ("2179-06-05", "2179-06-06")):
        token = compact.sign(_key(1), {**FIELDS, "issued_on": issued, "valid_until": until})
        res = compact.verify(token, _published((KID, _key(1), "2000-01-01", None)))
        assert (res.fields["issued_on"], res.fields["valid_until"]) == (issued, until)
    for issued, until in (("1999-12-31", "2001-01-01"), ("2026-01-01", "2179-06-07"), ("2026-01-02", "2026-01-01")):
        with pytest.raises(compact.CompactError) as err:
            compact.sign(_key(1), {**FIELDS, "issued_on": issued, "valid_until": until})
        assert err.value.reason == "bad_date"


def test_verifiers_compact_domain_separation():
    """A signature made over the body alone (or by the JSON scheme) does not verify as a compact token."""
    payload, body, sig = compact.split(compact.sign(_key(1), FIELDS))
    bare = compact.b32encode(body + _key(1).sign(body))
    assert compact.verify(bare, KEYS).reason == "bad_signature"


def test_verifiers_compact_urls():
    token = compact.sign(_key(1), FIELDS)
    assert compact.qr_url("http://127.0.0.1:5000", token).startswith("HTTP://127.0.0.1:5000/C/")
    assert compact.qr_url("https://gov.example.cn/CQO/", token) == f"HTTPS://GOV.EXAMPLE.CN/CQO/C/{token}"
    lower = compact.qr_url("HTTPS://Gov.Example.cn/cqo", token, upper=False)
    assert lower == f"https://gov.example.cn/cqo/C/{token}" and compact.token_from_url(lower) == token
    for bad in ("https://gov.example.cn/cqo", "ftp://x.cn", "https://x.cn/?a=1", "x.cn"):
        with pytest.raises(compact.CompactError):
            compact.qr_url(bad, token)
    for bad in ("https://x.cn/v/abc#def", "https://x.cn/C/", "nothing"):
        with pytest.raises(compact.CompactError) as err:
            compact.token_from_url(bad)
        assert err.value.reason == "not_a_certificate_url"


# ------------------------------------------------------------------ version 2: the status-list index in the code
@pytest.mark.parametrize("index", [0, 1, 127, 128, 16383, 16384, 2**21, 2**31 - 1, 2**32 - 1])
def test_verifiers_index_round_trip(index):
    fields = {**FIELDS, "status_index": index}
    token = compact.sign(_key(1), fields)
    res = compact.verify(token, KEYS)
    assert res.ok and res.fields == fields
    payload, body, _sig = compact.split(token)
    assert body[0] >> 4 == 2 and payload.status_index == index
    width = len(body) - compact.FIXED_BYTES - len(FIELDS["number"]) - len("张三".encode())
    assert width == max(1, -(-index.bit_length() // 7))  # LEB128: 7 bits a byte


def test_verifiers_index_version_1_tokens_keep_verifying():
    token = compact.sign(_key(1), FIELDS)  # no index: what was printed before version 2
    assert compact.split(token)[1][0] >> 4 == 1
    res = compact.verify(token, KEYS)
    assert res.ok and "status_index" not in res.fields


def test_verifiers_index_is_signed_and_strict():
    token = compact.sign(_key(1), {**FIELDS, "status_index": 300})
    payload, body, sig = compact.split(token)
    at = compact.FIXED_BYTES - 2  # after header, tag and dates
    assert body[at:at + 2] == bytes([0xAC, 0x02])  # 300 = 0b10_0101100
    other = body[:at] + bytes([0xAD, 0x02]) + body[at + 2:]  # index 301, same signature
    assert compact.verify(compact.b32encode(other + sig), KEYS).reason == "bad_signature"
    for bad, reason in ((bytes([0xAC, 0x82, 0x00]), "bad_index"),  # over-long: a superfluous zero group
                        (bytes([0xFF] * 5 + [0x01]), "bad_index"),  # longer than 5 bytes
                        (bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), "bad_index")):  # beyond 2**32 - 1
        with pytest.raises(compact.CompactError) as err:
            compact.unpack(body[:at] + bad + body[at + 2:])
        assert err.value.reason == reason
    for value in (-1, 2**32, True, "1"):
        with pytest.raises(compact.CompactError):
            compact.sign(_key(1), {**FIELDS, "status_index": value})


def test_verifiers_index_keeps_the_code_small():
    """The Jiangsu host, a four-character name, an index of a million certificates: still version 8 at M."""
    fields = {**FIELDS, "holder_name": "欧阳建国", "status_index": 1_000_000}
    url = compact.qr_url("https://cqo.amr.jiangsu.gov.cn", compact.sign(_key(1), fields))
    assert compact.is_alphanumeric(url) and len(url) <= 221  # version 8-M alphanumeric capacity
