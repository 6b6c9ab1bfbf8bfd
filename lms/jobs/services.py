"""The job registry and runner. Jobs take a session and the run time, are idempotent, and report a
small JSON result; each run is recorded."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass
from typing import Callable

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from flask_babel import LazyString
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.db import as_writer, utcnow
from lms.jobs.models import JobRun, SchedulerLease

log = logging.getLogger("lms.jobs")
TZ = "Asia/Shanghai"


@dataclass
class Job:
    id: str
    func: Callable[[Session, dt.datetime], dict]
    trigger: BaseTrigger
    description: LazyString  # a message id (lazy_gettext): the jobs page shows it in the reader's language


REGISTRY: dict[str, Job] = {}


def job(job_id: str, trigger: BaseTrigger, description: LazyString) -> Callable:
    """Register the decorated ``fn(session, now) -> dict`` as the job ``job_id``, fired by ``trigger``."""
    def deco(fn):
        REGISTRY[job_id] = Job(job_id, fn, trigger, description)
        return fn

    return deco


def daily(hour: int, minute: int = 0) -> CronTrigger:
    """A trigger firing every day at ``hour:minute`` China time."""
    return CronTrigger(hour=hour, minute=minute, timezone=TZ)


def holder_id() -> str:
    """This process's name in run records and the scheduler lease: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(session: Session, name: str, holder: str, seconds: int, now: dt.datetime | None = None) -> bool:
    """Take or renew the lease; True if ``holder`` holds it afterwards. Safe against races: the update is
    conditional and the insert relies on the primary key."""
    now = now or utcnow()
    expires = now + dt.timedelta(seconds=seconds)
    res = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    )
    if res.rowcount:
        session.commit()
        return True
    if session.get(SchedulerLease, name) is not None:
        session.rollback()
        return False
    try:
        session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def start_run(session: Session, job_id: str, trigger: str) -> JobRun:
    """Record that a run of ``job_id`` begins (status "running"), so the jobs page shows it; the caller commits."""
    run = JobRun(job_id=job_id, trigger=trigger, holder=holder_id(), started_at=utcnow())
    session.add(run)
    session.flush()
    return run


def run_job(session_factory: Callable[[], Session], job_id: str, *, trigger: str = "schedule",
            now: dt.datetime | None = None) -> JobRun:
    """Run one job here and now: its run is recorded first, then run and its outcome recorded (``finish_run``)."""
    REGISTRY[job_id]  # an unknown job raises KeyError before anything is recorded
    now = now or utcnow()
    with as_writer(), session_factory() as s:
        run_id = start_run(s, job_id, trigger).id
        s.commit()
    return finish_run(session_factory, run_id, now)


def finish_run(session_factory: Callable[[], Session], run_id: int, now: dt.datetime | None = None) -> JobRun:
    """Run the job of a recorded run in its own transaction and record the outcome in another, so that a
    failure is recorded too. The admin page's "run now" launches this as background work (lms.jobs.background)."""
    now = now or utcnow()
    with as_writer():
        with session_factory() as s:
            job_id = s.get(JobRun, run_id).job_id
        status, result = "ok", {}
        with session_factory() as s:
            try:
                result = REGISTRY[job_id].func(s, now) or {}
                s.commit()
            except Exception as exc:  # recorded, then the scheduler goes on with the next job
                s.rollback()
                log.exception("job %s failed", job_id)
                status, result = "error", {"error": type(exc).__name__, "message": str(exc)[:500]}
        with session_factory() as s:
            run = s.get(JobRun, run_id)
            run.status, run.result, run.finished_at = status, result, utcnow()
            s.commit()
            return run


def last_runs(session: Session) -> dict[str, JobRun]:
    """The latest recorded run of every registered job (None for a job that never ran)."""
    out: dict[str, JobRun] = {}
    for job_id in REGISTRY:
        out[job_id] = session.scalar(
            select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.started_at.desc()).limit(1)
        )
    return out


def next_fire(job_id: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the job's trigger fires next after ``now``."""
    now = now or utcnow()
    return REGISTRY[job_id].trigger.get_next_fire_time(None, now)


def missed(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Jobs whose next fire time after their last recorded run has already passed (or that never ran):
    the scheduler runs these at start, so a restart or an outage does not skip a day or a year-end."""
    now = now or utcnow()
    out = []
    for job_id, j in REGISTRY.items():
        last = session.scalar(select(JobRun.started_at).where(JobRun.job_id == job_id).order_by(JobRun.started_at.desc()).limit(1))
        if last is None or (j.trigger.get_next_fire_time(None, last) or now) <= now:
            out.append(job_id)
    return out
