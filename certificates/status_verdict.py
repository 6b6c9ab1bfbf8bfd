"""The offline verdict on a downloaded status list (W3C Bitstring Status List, ``/status-lists/<purpose>``): is
its signature the issuer's, how old is it, and — where the certificate's index is known — is the certificate's bit
set. Pure: no Flask, no database, no network; the CLI (``python -m certificates.verify --status-list``) and the
tests use it, and the phone's ``verify-offline.js`` says the same words.

Where it should join: issue 16's ``certificates/verdicts.py`` (``offline_verdict(..., status=None)``) takes this
module's ``StatusVerdict`` as its ``status``; until then the CLI prints it after the signature's verdict.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from certificates import signing

CN = dt.timezone(dt.timedelta(hours=8))
MAX_LIST_BYTES = 1 << 20  # a list JWT larger than 1 MB is refused, not decompressed
NO_INDEX = "（二维码未载明证书在列表中的位置，无法查到此证书）"  # the phone says the same (certificates.views)


@dataclass(frozen=True)
class StatusVerdict:
    state: str  # clear, revoked, suspended, unknown (list fine, index not known), invalid (list not trusted)
    updated_at: dt.datetime | None
    message: str


def _b64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64url") from exc


def decode(encoded: str) -> bytes:
    """The bitstring of an ``encodedList`` (multibase ``u`` + base64url of GZIP); ValueError for anything else."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u' prefix)")
    try:
        return gzip.decompress(_b64(encoded[1:]))
    except (OSError, EOFError) as exc:
        raise ValueError("encodedList is not GZIP") from exc


def bit(bitstring: bytes, index: int) -> int:
    """Bit ``index`` (0 = the left-most bit of the first byte); IndexError when the list is shorter."""
    return (bitstring[index // 8] >> (7 - index % 8)) & 1


def read_list(token: str, keys: dict[str, dict]) -> dict:
    """The status list credential's payload once its JWT signature checks with a published key; ValueError else."""
    if not isinstance(token, str) or len(token) > MAX_LIST_BYTES or token.count(".") != 2:
        raise ValueError("not a JWT")
    head_b64, body_b64, sig_b64 = token.strip().split(".")
    header, payload = json.loads(_b64(head_b64)), json.loads(_b64(body_b64))
    kid = str(header.get("kid", "")).rsplit("/", 1)[-1]
    entry = keys.get(kid)
    if header.get("alg") != "EdDSA" or entry is None:
        raise ValueError("unknown key")
    try:
        entry["key"].verify(_b64(sig_b64), f"{head_b64}.{body_b64}".encode("ascii"))
    except InvalidSignature as exc:
        raise ValueError("bad signature") from exc
    if "BitstringStatusListCredential" not in payload.get("type", []):
        raise ValueError("not a status list")
    return payload


def _when(payload: dict) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(payload.get("validFrom", "")).replace("Z", "+00:00"))
    except ValueError:
        return None


def age_message(updated_at: dt.datetime) -> str:
    return f"状态列表更新于 {updated_at.astimezone(CN):%Y-%m-%d %H:%M}（北京时间）；之后的撤销无法得知"


def status_verdict(tokens: list[str], keys_doc: dict, index: int | None = None) -> StatusVerdict:
    """The verdict from one or more downloaded status list JWTs (revocation and/or suspension)."""
    keys = signing.public_keys_from_document(keys_doc)
    lists = []
    for token in tokens:
        try:
            lists.append(read_list(token, keys))
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return StatusVerdict("invalid", None, "状态列表的签名无法核验（不是发证机关签发的，或文件已损坏）：不能据此判断状态")
    if not lists:
        return StatusVerdict("unknown", None, "没有状态列表：无法得知证书是否已被撤销")
    updated = min((w for w in map(_when, lists) if w is not None), default=None)
    age = age_message(updated) if updated else "状态列表没有更新时间；之后的撤销无法得知"
    if index is None:
        return StatusVerdict("unknown", updated, f"{age}{NO_INDEX}")
    for payload in lists:
        subject = payload.get("credentialSubject", {})
        try:
            set_ = bit(decode(subject.get("encodedList", "")), index)
        except (ValueError, IndexError):
            return StatusVerdict("invalid", updated, "状态列表格式错误：不能据此判断状态")
        if set_ and subject.get("statusPurpose") == "revocation":
            return StatusVerdict("revoked", updated, f"已撤销。{age}")
        if set_ and subject.get("statusPurpose") == "suspension":
            return StatusVerdict("suspended", updated, f"已暂停。{age}")
    return StatusVerdict("clear", updated, f"状态列表中未撤销、未暂停。{age}")
