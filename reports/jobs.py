"""Reporting's background work: the scheduled job that keeps the dashboard's continuing-education figures
(``reports-dashboard-figures``, issue 20), and applying an offline-results import that a request has
checked and queued (``services.imports.start_import``). ``launch_import`` hands it to the platform's runner
(``lms.jobs.background``); the work applies the rows in chunks, each committed with the new ``done`` count, so
the progress bar tells the truth and a run stopped by a restart continues where it stopped."""
from __future__ import annotations

import datetime as dt
import logging
import time
from functools import partial
from typing import Callable

from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.orm import Session

from lms.db import reads_first, retrying, write_phase
from lms.errors import DomainError
from lms.jobs import background
from lms.jobs.services import TZ, job
from lms.templating import SHANGHAI
from reports.models import ResultImport
from reports.queries import import_progress
from reports.services import figures
from reports.services.imports import apply_next_chunk, mark_import

log = logging.getLogger("reports")
CHUNK = 250


@job("reports-dashboard-figures", CronTrigger(minute="5,20,35,50", timezone=TZ),
     _l("统计：仪表板各地区培训、证书、人才库与继续教育达标数据（每 15 分钟）"))
def dashboard_figures(session: Session, now: dt.datetime) -> dict:
    """Recompute the dashboard's kept figures (``reports.services.figures``): the counts (with the appointment
    rate's and the plans' done figures, issue 20), then each year's
    continuing-education compliance, each read in a read transaction of its own (no lock held while 2,000,000
    credit records are read) and its rows written in a short write transaction. Every 15 minutes: the page says
    when they were computed."""
    local = now.astimezone(SHANGHAI)
    this_year = local.year
    t0 = time.perf_counter()
    with reads_first(session):
        counts = figures.compute_counts(session, this_year, local.date())
    write_phase(session, lambda: figures.store_counts(session, counts, now))
    out: dict = {"counts": {"rows": len(counts), "seconds": round(time.perf_counter() - t0, 2)}}
    with reads_first(session):
        years = figures.years_to_refresh(session, this_year)
    for year in years:
        t0 = time.perf_counter()
        with reads_first(session):
            rows = figures.compute(session, year)
        write_phase(session, lambda year=year, rows=rows: figures.store(session, year, rows, now))
        out[str(year)] = {"regions": len(rows), "members": sum(r.members for r in rows.values()),
                          "seconds": round(time.perf_counter() - t0, 2)}
    return out


def launch_import(app: Flask, import_id: int) -> None:
    """Apply a committed import in the background (inline under ``BACKGROUND_INLINE``)."""
    background.launch(app, f"results-import-{import_id}", apply_import, import_id)


def _apply_chunk(session_factory: Callable[[], Session], import_id: int) -> bool:
    """One chunk in a transaction of its own; True when the import has ended (done, or failed with the
    service's message: a failed chunk writes nothing)."""
    with session_factory() as s:
        try:
            finished = apply_next_chunk(s, import_id, CHUNK)
        except DomainError as exc:
            s.rollback()
            mark_import(s, import_id, "failed", exc.message)
            finished = True
        s.commit()
        return finished


def apply_import(session_factory: Callable[[], Session], import_id: int) -> dict:
    """Apply a queued import chunk by chunk (safe to run again: it continues from ``done``) and return its
    progress; an unexpected error fails the import with a message for the staff and is logged."""
    with session_factory() as s:
        imp = s.get(ResultImport, import_id)
        if imp.status in ("done", "failed"):
            return import_progress(imp)
        mark_import(s, import_id, "running")
        s.commit()
    try:
        while not retrying(partial(_apply_chunk, session_factory, import_id)):
            pass
    except Exception:
        log.exception("result import %s failed", import_id)
        with session_factory() as s:
            mark_import(s, import_id, "failed", _("系统错误，请稍后重试"))
            s.commit()
    with session_factory() as s:
        return import_progress(s.get(ResultImport, import_id))
