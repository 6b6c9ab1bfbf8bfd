"""What a holder is told about their certificate (issue 17: issued, reissued, suspended, reinstated, revoked),
in the app and by mail where an address is known, with a link to the certificate's page."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from certificates.models import Certificate
from lms.notifications.services import link, notify


def tell_holder(session: Session, cert: Certificate, event: str, reason: str = "") -> None:
    """Notify the holder of ``event`` (issue, reissue, suspend, reinstate, revoke) on ``cert``."""
    titles = {
        "issue": _("证书已颁发：%(n)s", n=cert.number),
        "reissue": _("证书已换发：%(n)s", n=cert.number),
        "suspend": _("证书已暂停：%(n)s", n=cert.number),
        "reinstate": _("证书已恢复：%(n)s", n=cert.number),
        "revoke": _("证书已撤销：%(n)s", n=cert.number),
    }
    body = _("有效期至 %(d)s。", d=cert.valid_until.isoformat()) if event in ("issue", "reissue", "reinstate") else ""
    if reason:
        body += _("原因：%(r)s", r=reason)
    notify(session, cert.holder_user_id, "certificate", titles[event], body,
           link("certificates.detail", cert_id=cert.id))
