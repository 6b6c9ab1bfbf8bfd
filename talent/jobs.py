"""Scheduled work for the pool and continuing education (``lms.features.import_jobs`` imports this module, which
registers the jobs). Each job is idempotent: running it again the same day changes nothing and sends no second
reminder."""
from __future__ import annotations

import datetime as dt

from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from certificates.services.numbering import CertConfig
from lms.db import wal_checkpoint
from lms.jobs.services import TZ, daily, job
from lms.templating import SHANGHAI
from talent.services import appointments, entries, reminders as reminder_services, rollup as rollup_services


def _local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


@job("talent-reminders", daily(8, 30), _l("人才库：证书续期与到期、变更登记检查，绩效报告或继续教育证明和变更登记提醒"))
def reminders(session: Session, now: dt.datetime) -> dict:
    """Renew the certificates of CQOs not lapsed before their end (a province that sets a validity), expire
    certificates past their date, detect enterprise changes (the registration falls due, then the entry
    moves to the new enterprise's region), put overdue registrations on warning, remind."""
    today = _local_date(now)
    out = entries.renew_certificates(session, today, CertConfig.from_app(current_app))
    out.update({"certificates_expired": entries.expire_certificates(session, today),
                "changes_detected": appointments.detect_enterprise_changes(session, today),
                "entries_moved": entries.follow_enterprises(session, today),
                "registrations_overdue": appointments.check_registrations(session, today)})
    out.update(reminder_services.send_reminders(session, today))
    return out


ROLLUP_TRANSACTION_SECONDS = 0.08  # what a chunk of the roll-up may hold the database for (the goal: ≤ 200 ms)


@job("talent-rollup", CronTrigger(month=1, day="1-7", hour=1, minute=30, timezone=TZ),
     _l("人才库：上一年度继续教育考核（警示、失效、恢复）"))
def rollup(session: Session, now: dt.datetime) -> dict:
    """Close last year: the roll-up, committed chunk by chunk.

    Runs on each of the first days of January (Asia/Shanghai) so a missed run is caught up; idempotent. One
    transaction per chunk of the pool (committed here): on a provincial pool of 200,000 people a single
    transaction would hold SQLite's write lock for seconds. The job runner runs jobs as writers (their
    transactions take the write lock when they begin, ``lms.jobs.services.run_job``), so a chunk's reads and
    writes are one transaction that no other writer can come between."""
    # SQLite: the log is copied into the database between chunks (outside their transactions and their timing),
    # not by the automatic checkpoint inside a chunk's COMMIT every ~1,000 pages (issue 20: 0.5 s at full scale).
    return rollup_services.rollup_year(session, _local_date(now).year - 1, now=now, after_chunk=lambda _c: session.commit(),
                                       target_seconds=ROLLUP_TRANSACTION_SECONDS,
                                       between_chunks=lambda: wal_checkpoint(session))
