"""Recognition across provinces (seed 004 aims the evaluation at 跨地域互认互通): the system administrator keeps
a trust list of partner provinces — their public address, a copy of their published keys, a note of the
agreement — and a partner's certificate link verifies here by its signature, then its status:

- a printed ``/C/<TOKEN>`` (compact format 2) carries the certificate's status-list index: the partner's signed
  W3C Bitstring Status Lists (``<base>/status-lists/revocation`` and ``/suspension``) are fetched, checked with
  the partner's keys from our trust list, kept for ``STATUS_LIST_TTL`` seconds (and used past that, with their
  age stated, while the partner does not answer), and the certificate's bit is read: a revoked or suspended
  partner certificate is refused like one of ours;
- an old ``/v/<cid>#<signed part>`` link: the partner's public verify JSON (``GET <base>/api/v1/verify/<cid>?sig=…``,
  the endpoint in our OpenAPI) is asked.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import compact, signing, status_verdict, verdicts
from certificates.models import PartnerProvince
from lms import audit
from lms.auth.models import User
from lms.errors import ValidationFailed

STATUS_TIMEOUT = 3.0  # seconds: a partner that does not answer quickly leaves the status unknown, not the page hung
KNOWN_STATUSES = {"valid", "suspended", "revoked", "expired", "superseded"}
STATUS_LIST_TTL = 300.0  # 示例: seconds a partner's status lists are kept before asking again (their max-age)
STATUS_LIST_PURPOSES = ("revocation", "suspension")
MAX_LIST_BYTES = status_verdict.MAX_LIST_BYTES
_lists: dict[str, tuple[float, list[str]]] = {}  # partner base URL -> (monotonic time fetched, list JWTs)
_lists_lock = threading.Lock()


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
    status_source: str  # partner (its verify JSON), status_list (its signed lists), unreachable, list_invalid
    #                     (a list its keys do not verify), not_checked
    status_updated_at: dt.datetime | None = None  # the status list's date (status_list only)

    @property
    def accepted(self) -> bool:
        """Genuine and in force by the partner's word: the only case a verifier may accept the certificate."""
        return bool(self.checked and self.checked.ok and self.status == "valid")


def _host_lower(url: str) -> str:
    """``url`` with scheme and host in lower case (both are case-insensitive; the printed QR upper-cases them)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query,
                                    parts.fragment))


def partner_for(session: Session, link: str) -> PartnerProvince | None:
    """The partner whose address the link starts with (scheme and host in any case)."""
    link = _host_lower(link)
    for p in session.scalars(select(PartnerProvince)):
        if link.startswith(_host_lower(p.base_url) + "/"):
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


def _fetch_text(url: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http(s) only: _clean_base)
            return resp.read(MAX_LIST_BYTES + 1).decode("ascii")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def status_lists(partner: PartnerProvince, timeout: float = STATUS_TIMEOUT) -> list[str] | None:
    """The partner's revocation and suspension list JWTs: kept ``STATUS_LIST_TTL`` seconds; fetched again after
    that, and the kept copy used (its date tells its age) while the partner does not answer. None when there is
    no copy at all. Not checked here: ``status_verdict`` checks their signatures with the partner's keys."""
    now = time.monotonic()
    with _lists_lock:
        hit = _lists.get(partner.base_url)
    if hit is not None and now - hit[0] < STATUS_LIST_TTL:
        return hit[1]
    fetched = [_fetch_text(f"{partner.base_url}/status-lists/{p}", timeout) for p in STATUS_LIST_PURPOSES]
    if any(t is None or len(t) > MAX_LIST_BYTES for t in fetched):
        return hit[1] if hit is not None else None
    with _lists_lock:
        _lists[partner.base_url] = (now, fetched)
    return fetched


def forget_status_lists() -> None:
    """Drop every kept partner status list (a partner added again, tests)."""
    with _lists_lock:
        _lists.clear()


def _status_from_lists(partner: PartnerProvince, checked: signing.Checked, today: dt.date,
                       timeout: float) -> tuple[str, str, dt.datetime | None]:
    """(status, source, list date) of a partner certificate whose printed code carries its status-list index."""
    tokens = status_lists(partner, timeout)
    if tokens is None:
        return "unknown", "unreachable", None
    verdict = status_verdict.status_verdict(tokens, partner.keys, checked.fields["status_index"])
    if verdict.state in ("revoked", "suspended"):
        return verdict.state, "status_list", verdict.updated_at
    if verdict.state != "clear":  # a list not signed by the partner's keys, or unreadable: believe nothing
        return "unknown", "list_invalid", None
    expired = verdicts.is_past(checked.fields["valid_until"], today)
    return ("expired" if expired else "valid"), "status_list", verdict.updated_at


def check_link(session: Session, link: str, online: bool = True, timeout: float = STATUS_TIMEOUT,
               today: dt.date | None = None) -> PartnerCheck:
    """Verify a partner province's certificate link (``/C/<TOKEN>`` or ``/v/<cid>#<signed part>``) by its
    signature against the partner's keys, then find its status (when ``online``): from the partner's signed
    status lists for a printed code carrying its index, from the partner's verify JSON for an old link."""
    partner = partner_for(session, link)
    if partner is None:
        return PartnerCheck(None, None, "unknown", "not_checked")
    keys = signing.public_keys_from_document(partner.keys)
    parts = urllib.parse.urlsplit(link)
    path = parts.path[len(urllib.parse.urlsplit(partner.base_url).path):]
    if path.upper().startswith("/C/"):
        checked = compact.verify(path[3:].strip("/").upper(), keys)
        cid = sig = None  # the compact form has no cid: its status comes from the partner's status lists
    elif path.startswith("/v/") and parts.fragment:
        checked, cid, sig = signing.check(parts.fragment, keys), path[3:], parts.fragment
    else:
        return PartnerCheck(partner, None, "unknown", "not_checked")
    if checked.ok and online and cid is None and "status_index" in checked.fields:
        status, source, updated = _status_from_lists(partner, checked, today or dt.date.today(), timeout)
        return PartnerCheck(partner, checked, status, source, updated)
    if not checked.ok or not online or cid is None:
        return PartnerCheck(partner, checked, "unknown", "not_checked")
    status = fetch_status(partner, cid, sig, timeout)
    return PartnerCheck(partner, checked, status or "unknown", "partner" if status else "unreachable")
