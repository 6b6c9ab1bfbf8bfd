"""Issuing a class's certificates in the background: a job row with one item per enrolment, processed by a
worker thread that the request starts. Each item is its own transaction, so one failure neither stops nor
undoes the others; an item already issued is skipped, so re-running issues nothing twice."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Callable

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from certificates import services
from certificates.models import IssueJob, IssueJobItem
from courses import gates
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.errors import Conflict, DomainError

log = logging.getLogger("lms.certificates")
STALE_AFTER = dt.timedelta(minutes=10)


def start_job(session: Session, actor: User, cls: TrainingClass, enrollment_ids: list[int] | None = None) -> IssueJob:
    """Queue issuing for the class's approved enrolments (or the given ones). A job of the class still running
    is returned instead of starting a second one."""
    services._class_access(session, actor, cls)
    gates.check(session, cls, gates.CERTIFY)
    running = session.scalar(select(IssueJob).where(IssueJob.class_id == cls.id, IssueJob.status.in_(["pending", "running"]))
                             .order_by(IssueJob.id.desc()).limit(1))
    if running is not None:
        if utcnow() - (running.started_at or running.created_at) < STALE_AFTER:
            return running
        # Its worker died (a restart): close it; the new run skips whatever it had issued.
        running.status, running.finished_at = "interrupted", utcnow()
    stmt = select(Enrollment.id).where(Enrollment.class_id == cls.id, Enrollment.status == EnrollmentStatus.approved)
    if enrollment_ids is not None:
        stmt = stmt.where(Enrollment.id.in_(enrollment_ids))
    ids = list(session.scalars(stmt.order_by(Enrollment.id)))
    if not ids:
        raise DomainError(_("该培训班没有已录取的学员"))
    job = IssueJob(class_id=cls.id, requested_by_id=actor.id, status="pending")
    job.items = [IssueJobItem(enrollment_id=i) for i in ids]
    session.add(job)
    session.flush()
    audit.record(session, actor, "certificate.issue_job", job, class_id=cls.id, items=len(ids))
    return job


def _with_retry(fn: Callable[[], None], attempts: int = 6) -> None:
    """SQLite answers 'database is locked' when two writers collide; the item is simply tried again."""
    for i in range(attempts):
        try:
            return fn()
        except OperationalError:
            if i == attempts - 1:
                raise
            time.sleep(0.05 * (2 ** i))


def process_job(session_factory: Callable[[], Session], job_id: int, cfg: services.CertConfig, today: dt.date) -> dict:
    """Work through a job's pending items. Safe to call again after a crash: done items stay done."""
    from lms.db import reset_write_intent, set_write_intent

    token = set_write_intent(True)  # each item reads then writes: on SQLite take the write lock up front
    try:
        return _process_job(session_factory, job_id, cfg, today)
    finally:
        reset_write_intent(token)


def _process_job(session_factory: Callable[[], Session], job_id: int, cfg: services.CertConfig, today: dt.date) -> dict:
    with session_factory() as s:
        job = s.get(IssueJob, job_id)
        job.status, job.started_at = "running", job.started_at or utcnow()
        item_ids = [i.id for i in job.items if i.status == "pending"]
        actor_id = job.requested_by_id
        s.commit()
    for item_id in item_ids:
        def one(item_id=item_id):
            with session_factory() as s:
                item = s.get(IssueJobItem, item_id)
                actor = s.get(User, actor_id)
                enrollment = s.get(Enrollment, item.enrollment_id)
                existing = services.current_certificate(s, enrollment.id)
                if existing is not None:
                    item.status, item.certificate_id, item.message = "skipped", existing.id, _("已发证，未重复发证")
                    s.commit()
                    return
                try:
                    cert = services.issue(s, actor, enrollment, cfg, today)
                except DomainError as exc:
                    s.rollback()
                    item = s.get(IssueJobItem, item_id)
                    # A Conflict means a racing run issued it first: nothing to do, nothing issued twice.
                    item.status, item.message = ("skipped" if isinstance(exc, Conflict) else "failed"), exc.message
                    s.commit()
                    return
                item.status, item.certificate_id, item.message = "issued", cert.id, cert.number
                s.commit()

        try:
            _with_retry(one)
        except Exception:  # one certificate's failure must not stop the others
            log.exception("issuing item %s of job %s failed", item_id, job_id)
            with session_factory() as s:
                item = s.get(IssueJobItem, item_id)
                item.status, item.message = "failed", _("系统错误，请稍后重试")
                s.commit()
    with session_factory() as s:
        job = s.get(IssueJob, job_id)
        job.status, job.finished_at = "done", utcnow()
        s.commit()
        return progress(job)


def progress(job: IssueJob) -> dict:
    counts = {"pending": 0, "issued": 0, "skipped": 0, "failed": 0}
    for item in job.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    total = len(job.items)
    done = total - counts["pending"]
    return {"job_id": job.id, "status": job.status, "total": total, "done": done,
            "percent": round(100 * done / total) if total else 100, **counts}


def run_in_thread(app, job_id: int, today: dt.date) -> threading.Thread:
    """Process the job in a daemon thread with its own app context and sessions."""
    from lms.db import db

    cfg = services.CertConfig.from_app(app)

    def target():
        with app.app_context():
            try:
                process_job(db._state().sessionmaker, job_id, cfg, today)
            except Exception:
                log.exception("certificate issue job %s failed", job_id)

    t = threading.Thread(target=target, name=f"cert-issue-{job_id}", daemon=True)
    t.start()
    return t
