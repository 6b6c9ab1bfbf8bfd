"""Scheduled work: close and grade attempts left open past their deadline; draw papers ahead of the bell."""
from __future__ import annotations

import datetime as dt

from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from exams import attempts, papers
from lms.jobs.services import job


@job("exams.close_expired", IntervalTrigger(minutes=1), _l("关闭已过截止时间仍未交卷的考试并按截止前保存的答案评分"))
def close_expired_attempts(session: Session, now: dt.datetime) -> dict:
    """Idempotent: an attempt closes once (conditional UPDATE); a second run finds nothing to do."""
    return {"closed": attempts.close_expired(session, now)}


@job("exams.prepare_papers", IntervalTrigger(minutes=1), _l("为即将开考的考试预先抽好试卷，开考时学员直接领取"))
def prepare_papers(session: Session, now: dt.datetime) -> dict:
    """Idempotent: tops each exam opening within a day up to one waiting paper per admitted trainee who has not
    started (100 papers a run: 6,000 an hour), and deletes papers taken or of closed exams."""
    return {"prepared": papers.top_up_prepared(session, now), "purged": papers.purge_prepared(session, now)}
