"""Scheduled work: expiry."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from certificates.services import expire_due
from lms.jobs.services import daily, job
from lms.templating import SHANGHAI


@job("certificates-expire", daily(0, 20), _l("将超过有效期的证书标记为已过期"))
def expire_certificates(session: Session, now: dt.datetime) -> dict:
    """Mark certificates past their validity as expired (daily; idempotent)."""
    return {"expired": expire_due(session, now.astimezone(SHANGHAI).date())}
