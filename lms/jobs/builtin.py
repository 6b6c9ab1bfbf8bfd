"""Platform housekeeping jobs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lms.auditchain import TZ, write_anchor
from lms.auth.services import purge_expired
from lms.jobs.services import daily, job


@job("purge-sessions", daily(3, 10), "清理过期的登录会话与登录记录")
def purge_sessions(session: Session, now: dt.datetime) -> dict:
    """Forget old login attempts and ended sessions (``lms.auth.services.purge_expired``)."""
    return purge_expired(session)


@job("audit-anchor", daily(0, 20), "写入前一天的审计链锚点")
def audit_anchor(session: Session, now: dt.datetime) -> dict:
    """Anchor yesterday's end of the audit chain (``lms.auditchain.write_anchor``): in the log and the table."""
    day = now.astimezone(TZ).date() - dt.timedelta(days=1)
    anchor = write_anchor(session, day)
    return {"day": day.isoformat(), "seq": anchor.seq}
