"""Platform housekeeping jobs."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.orm import Session

from lms.auditchain import TZ, write_anchor
from lms.auth.services import purge_expired
from lms.jobs.services import daily, job


@job("purge-sessions", daily(3, 10), _l("清理过期的登录会话与登录记录"))
def purge_sessions(session: Session, now: dt.datetime) -> dict:
    """Forget old login attempts and ended sessions (``lms.auth.services.purge_expired``)."""
    return purge_expired(session)


@job("audit-anchor", daily(0, 20), _l("写入前一天的审计链锚点"))
def audit_anchor(session: Session, now: dt.datetime) -> dict:
    """Anchor yesterday's end of the audit chain (``lms.auditchain.write_anchor``): in the log and the table."""
    day = now.astimezone(TZ).date() - dt.timedelta(days=1)
    anchor = write_anchor(session, day)
    return {"day": day.isoformat(), "seq": anchor.seq}


@job("sqlite-optimize", daily(4, 40), _l("单文件数据库部署：夜间任务之后更新查询优化统计（其他数据库自行分析，跳过）"))
def sqlite_optimize(session: Session, now: dt.datetime) -> dict:
    """SQLite (issue 20): the planner's statistics (``sqlite_stat1``) refreshed after the night's jobs (sessions
    purged, the roll-up, the dashboard's figures), so that they follow the tables as they grow: without them the
    planner may read the less selective of two filter indexes of the talent pool (a rare status with the
    commonest tier: ~65 ms instead of ~2 ms at 200,000 entries). ``ANALYZE`` under ``analysis_limit`` (about a
    thousand rows sampled an index: milliseconds at any size), not ``PRAGMA optimize``: before SQLite 3.46 that
    only analyses the tables its own connection has queried, i.e. none in a job's fresh connection.
    PostgreSQL's autovacuum analyses by itself: nothing to do."""
    if session.get_bind().dialect.name != "sqlite":
        return {"skipped": "postgresql"}
    session.execute(text("PRAGMA analysis_limit = 1000"))
    session.execute(text("ANALYZE"))
    return {"analysed": True}
