"""Platform housekeeping jobs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lms.auth.services import purge_expired
from lms.jobs.services import daily, job


@job("purge-sessions", daily(3, 10), "清理过期的登录会话与登录记录")
def purge_sessions(session: Session, now: dt.datetime) -> dict:
    """Forget old login attempts and ended sessions (``lms.auth.services.purge_expired``)."""
    return purge_expired(session)
