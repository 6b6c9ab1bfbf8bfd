"""Scheduled work for the pool and continuing education. Each job is idempotent: running it again the
same day changes nothing and sends no second reminder."""
from __future__ import annotations

import datetime as dt

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

from lms.db import reset_write_intent, set_write_intent
from lms.jobs.services import TZ, daily, job
from talent import services
from lms.templating import SHANGHAI


def _local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


@job("talent-reminders", daily(8, 30), "人才库：证书到期、变更登记检查，继续教育进度、履职报告和变更登记提醒")
def reminders(session: Session, now: dt.datetime) -> dict:
    today = _local_date(now)
    out = {"certificates_expired": services.expire_certificates(session, today),
           "changes_detected": services.detect_enterprise_changes(session, today),
           "registrations_overdue": services.check_registrations(session, today)}
    out.update(services.send_reminders(session, today))
    return out


ROLLUP_TRANSACTION_SECONDS = 0.08  # what a chunk of the roll-up may hold the database for (the goal: ≤ 200 ms)


@job("talent-rollup", CronTrigger(month=1, day="1-7", hour=1, minute=30, timezone=TZ),
     "人才库：上一年度继续教育考核（警示、失效、恢复）")
def rollup(session: Session, now: dt.datetime) -> dict:
    # Runs on each of the first days of January (Asia/Shanghai) so a missed run is caught up; idempotent.
    # One transaction per chunk of the pool (the job commits each): on a provincial pool of 200,000 people a
    # single transaction would hold SQLite's write lock for seconds. Each chunk reads then writes, so on
    # SQLite it takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction would fail when another
    # writer commits between its read and its first write.
    token = set_write_intent(True)
    try:
        session.commit()  # end whatever the runner's session began before the intent was set
        return services.rollup_year(session, _local_date(now).year - 1, now=now, after_chunk=lambda _c: session.commit(),
                                    target_seconds=ROLLUP_TRANSACTION_SECONDS)
    finally:
        reset_write_intent(token)
