"""Scheduled work: close and grade attempts left open past their deadline."""
from __future__ import annotations

import datetime as dt

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from exams import attempts
from lms.jobs.services import job


@job("exams.close_expired", IntervalTrigger(minutes=1), "关闭已过截止时间仍未交卷的考试并按截止前保存的答案评分")
def close_expired_attempts(session: Session, now: dt.datetime) -> dict:
    """Idempotent: an attempt closes once (conditional UPDATE); a second run finds nothing to do."""
    return {"closed": attempts.close_expired(session, now)}
