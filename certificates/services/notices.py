"""What a holder is told about their certificate (issue 17: issued, reissued, suspended, reinstated, revoked, expired),
in the app and by mail where an address is known, with a link to the certificate's page."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from certificates.models import Certificate
from lms.notifications.services import link, notify, notify_many


def tell_holder(session: Session, cert: Certificate, event: str, reason: str = "", address: str | None = None) -> None:
    """Notify the holder of ``event`` (issue, reissue, suspend, reinstate, revoke, expire) on ``cert``
    (``address``: the holder's mail address if the caller has read it, as ``notify`` takes it)."""
    notify(session, cert.holder_user_id, "certificate", *holder_notice(cert, event, reason), address=address)


def tell_holders(session: Session, certs: list[Certificate], event: str, addresses: dict[int, str]) -> None:
    """``tell_holder`` for a batch's certificates (``addresses``: each holder's, as ``notify`` would read it):
    one INSERT for the batch (issue 20)."""
    notify_many(session, [(c.holder_user_id, "certificate", *holder_notice(c, event), addresses[c.holder_user_id])
                          for c in certs])


def holder_notice(cert: Certificate, event: str, reason: str = "") -> tuple[str, str, str]:
    """What the holder is told of ``event`` on ``cert``: the title, the body and the link."""
    titles = {
        "issue": _("证书已颁发：%(n)s", n=cert.number),
        "reissue": _("证书已换发：%(n)s", n=cert.number),
        "suspend": _("证书已暂停：%(n)s", n=cert.number),
        "reinstate": _("证书已恢复：%(n)s", n=cert.number),
        "revoke": _("证书已撤销：%(n)s", n=cert.number),
        "expire": _("证书已过期：%(n)s", n=cert.number),
    }
    body = ""
    if event == "expire":  # a province that sets a validity (issue 17): told the day it lapses, with the link
        body = _("有效期至 %(d)s，已过期；如需继续持证，请按本省规定办理。", d=cert.valid_until.isoformat())
    if event in ("issue", "reissue", "reinstate"):
        body = _("有效期至 %(d)s。", d=cert.valid_until.isoformat()) if cert.valid_until else _("长期有效。")
    if reason:
        body += _("原因：%(r)s", r=reason)
    return titles[event], body, link("certificates.detail", cert_id=cert.id)
