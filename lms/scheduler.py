"""Running the jobs: ``flask --app wsgi scheduler`` (exactly one such process, whatever the number of web
workers) and ``flask --app wsgi run-job ID``. Web workers never start a scheduler; the admin page's "run now"
runs one job as background work (``lms.jobs.views``)."""
from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import delete

from lms.jobs.models import SchedulerLease

import lms.jobs.builtin  # noqa: F401  (registers the platform's own jobs)
from lms import features
from lms.jobs import services

log = logging.getLogger("lms.scheduler")
LEASE = "scheduler"
LEASE_SECONDS = 90


def load_jobs() -> None:
    """Register every job: the platform's (imported above) and each feature's ``jobs`` module."""
    features.import_jobs()


def run_now(app: Flask, job_id: str) -> str:
    """Run one job in this process (``flask run-job``) and say how it went."""
    load_jobs()
    if job_id not in services.REGISTRY:
        return f"unknown job {job_id}; known: {', '.join(sorted(services.REGISTRY))}"
    with app.app_context():
        run = services.run_job(app.extensions["lms_db"].sessionmaker, job_id, trigger="manual")
        return f"{job_id}: {run.status} {run.result}"


def run_blocking(app: Flask) -> None:
    """Fire the jobs on their triggers until stopped; only the holder of the lease runs them."""
    load_jobs()
    holder = services.holder_id()
    factory = app.extensions["lms_db"].sessionmaker
    sched = BlockingScheduler(timezone=services.TZ, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})

    def guarded(job_id: str):
        def fire():
            with app.app_context():
                with factory() as s:
                    if not services.acquire_lease(s, LEASE, holder, LEASE_SECONDS):
                        log.info("job %s skipped: another scheduler holds the lease", job_id)
                        return
                services.run_job(factory, job_id)

        return fire

    def heartbeat():
        with factory() as s:
            services.acquire_lease(s, LEASE, holder, LEASE_SECONDS)

    def catch_up():
        with factory() as s:
            if not services.acquire_lease(s, LEASE, holder, LEASE_SECONDS):
                log.info("catch-up skipped: another scheduler holds the lease")
                return
            pending = services.missed(s)
        for job_id in pending:
            services.run_job(factory, job_id, trigger="catch-up")

    sched.add_job(heartbeat, IntervalTrigger(seconds=30), id="lease-heartbeat")
    sched.add_job(catch_up, id="catch-up")  # once, at start
    for job in services.REGISTRY.values():
        sched.add_job(guarded(job.id), job.trigger, id=job.id, name=str(job.description), replace_existing=True)
    log.info("scheduler %s started with jobs: %s", holder, ", ".join(services.REGISTRY))
    print(f"scheduler {holder}: {', '.join(services.REGISTRY)}", flush=True)

    def stop(signum, _frame):
        log.info("scheduler %s stopping (signal %s)", holder, signum)
        raise SystemExit(0)

    # systemd stops with SIGTERM, a terminal with SIGINT: both end the loop, and the lease is given back so a
    # restarted (or restored) scheduler takes over and catches up at once instead of waiting LEASE_SECONDS.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if sched.running:
            sched.shutdown(wait=False)
        with factory() as s:
            release_lease(s, LEASE, holder)
        print(f"scheduler {holder}: stopped, lease released", flush=True)


def release_lease(session, name: str, holder: str) -> bool:
    """Give the lease back if ``holder`` holds it (True if it did)."""
    res = session.execute(delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder))
    session.commit()
    return bool(res.rowcount)
