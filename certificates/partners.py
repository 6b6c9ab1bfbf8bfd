"""Recognition across provinces (seed 004 aims the evaluation at 跨地域互认互通): the system administrator keeps
a trust list of partner provinces — their public address, a copy of their published keys, a note of the
agreement — and a partner's certificate link verifies here by its signature, with its status asked of the
partner's public verify JSON (``GET <base>/api/v1/verify/<cid>?sig=…``, the endpoint in our OpenAPI) when online.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import compact, signing
from certificates.models import PartnerProvince
from lms import audit
from lms.auth.models import User
from lms.errors import ValidationFailed

STATUS_TIMEOUT = 3.0  # seconds: a partner that does not answer quickly leaves the status unknown, not the page hung
KNOWN_STATUSES = {"valid", "suspended", "revoked", "expired", "superseded"}


def _clean_base(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return ""
    return url


def add_partner(session: Session, actor: User, name: str, base_url: str, keys_text: str, note: str) -> PartnerProvince:
    """Add a partner province (system administrators only: the view's role check)."""
    errors = {}
    base = _clean_base(base_url)
    if not base:
        errors["base_url"] = _("站点地址须以 http:// 或 https:// 开头，且不含 ? 或 #")
    elif session.scalar(select(PartnerProvince.id).where(PartnerProvince.base_url == base)):
        errors["base_url"] = _("该站点地址已在互认名单中")
    try:
        doc = json.loads(keys_text or "")
        if not signing.public_keys_from_document(doc):
            raise ValueError
    except ValueError:
        doc = None
        errors["keys"] = _("公钥须为对方公布的 cqo-certificate-keys.json 内容，且至少含一把 Ed25519 公钥")
    if not (name or "").strip():
        errors["name"] = _("请填写省份名称")
    if not (note or "").strip():
        errors["agreement_note"] = _("请填写互认协议的说明（文号、签订日期等）")
    if errors:
        raise ValidationFailed(errors)
    partner = PartnerProvince(name=name.strip(), base_url=base, keys=doc, agreement_note=note.strip(),
                              added_by_id=actor.id)
    session.add(partner)
    session.flush()
    audit.record(session, actor, "certificate.partner_add", partner, base_url=base)
    return partner


@dataclass(frozen=True)
class PartnerCheck:
    partner: PartnerProvince | None
    checked: signing.Checked | None
    status: str  # the partner's answer (valid, revoked, …), or unknown when it could not be asked
    status_source: str  # partner (asked online), unreachable, not_checked


def partner_for(session: Session, link: str) -> PartnerProvince | None:
    """The partner whose address the link starts with."""
    for p in session.scalars(select(PartnerProvince)):
        if link.startswith(p.base_url + "/"):
            return p
    return None


def fetch_status(partner: PartnerProvince, cid: str, sig: str, timeout: float = STATUS_TIMEOUT) -> str | None:
    """The status the partner's verify JSON gives, or None when it cannot be asked in time."""
    url = f"{partner.base_url}/api/v1/verify/{urllib.parse.quote(cid, safe='')}?sig={urllib.parse.quote(sig, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http(s) only: _clean_base)
            body = json.loads(resp.read(65536).decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    status = body.get("status") if isinstance(body, dict) else None
    return status if status in KNOWN_STATUSES else None


def check_link(session: Session, link: str, online: bool = True, timeout: float = STATUS_TIMEOUT) -> PartnerCheck:
    """Verify a partner province's certificate link (``/v/<cid>#<signed part>``) by its signature against the
    partner's keys, then ask the partner for its status (when ``online``)."""
    partner = partner_for(session, link)
    if partner is None:
        return PartnerCheck(None, None, "unknown", "not_checked")
    keys = signing.public_keys_from_document(partner.keys)
    parts = urllib.parse.urlsplit(link)
    path = parts.path[len(urllib.parse.urlsplit(partner.base_url).path):]
    if path.startswith("/C/"):
        checked = compact.verify(path[3:], keys)
        cid = sig = None  # the compact form has no cid: status by number is the partner's own /C/ page
    elif path.startswith("/v/") and parts.fragment:
        checked, cid, sig = signing.check(parts.fragment, keys), path[3:], parts.fragment
    else:
        return PartnerCheck(partner, None, "unknown", "not_checked")
    if not checked.ok or not online or cid is None:
        return PartnerCheck(partner, checked, "unknown", "not_checked")
    status = fetch_status(partner, cid, sig, timeout)
    return PartnerCheck(partner, checked, status or "unknown", "partner" if status else "unreachable")
