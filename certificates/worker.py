"""Issuing a class's certificates in the background: a job row with one item per enrolment, processed by
``process_job``, which the request starts through ``lms.jobs.background.launch`` (``start``). Items are issued in short batches, one transaction each: every
item is checked first and the batch's certificates are then written together, so a refusal neither stops nor
undoes the others and takes no serial; rows refused as a whole (a racing run) are issued one by one, each in a
savepoint of its own; a batch that fails as a whole is redone one item per transaction. An item already issued is skipped,
so re-running issues nothing twice."""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certificates import services
from certificates.queries import progress
from certificates.models import Certificate, IssueJob, IssueJobItem
from courses import gates
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from lms import audit
from lms.auth.models import User
from lms.db import as_writer, retrying, utcnow
from lms.errors import Conflict, DomainError
from lms.jobs.background import launch

log = logging.getLogger("lms.certificates")
STALE_AFTER = dt.timedelta(minutes=10)


def start_job(session: Session, actor: User, cls: TrainingClass, enrollment_ids: list[int] | None = None) -> IssueJob:
    """Queue issuing for the class's approved enrolments (or the given ones). A job of the class still running
    is returned instead of starting a second one."""
    services.check_class_access(session, actor, cls)
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
        raise Conflict(_("该培训班没有已录取的学员"))  # the class's state, not the request, refuses it
    job = IssueJob(class_id=cls.id, requested_by_id=actor.id, status="pending")
    job.items = [IssueJobItem(enrollment_id=i) for i in ids]
    session.add(job)
    session.flush()
    audit.record(session, actor, "certificate.issue_job", job, class_id=cls.id, items=len(ids))
    return job


def start(app: Flask, job: IssueJob, today: dt.date) -> None:
    """Work through a queued job in the background (inline under ``BACKGROUND_INLINE``); a job already running
    (``start_job`` returned it) is left to its worker."""
    if job.status == "pending":
        launch(app, f"cert-issue-{job.id}", process_job, job.id, services.CertConfig.from_app(app), today)


def process_job(session_factory: Callable[[], Session], job_id: int, cfg: services.CertConfig, today: dt.date) -> dict:
    """Work through a job's pending items. Safe to call again after a crash: done items stay done. Runs as a
    writer whoever calls it (``lms.jobs.background``, the CLI, the bench): each batch reads then writes, and on
    SQLite a read transaction upgraded to a write fails at once when another writer committed meanwhile."""
    with as_writer():
        return _process_job(session_factory, job_id, cfg, today)


def _process_job(session_factory: Callable[[], Session], job_id: int, cfg: services.CertConfig, today: dt.date) -> dict:
    with session_factory() as s:
        job = s.get(IssueJob, job_id)
        job.status, job.started_at = "running", job.started_at or utcnow()
        item_ids = [i.id for i in job.items if i.status == "pending"]
        actor_id = job.requested_by_id
        s.commit()
    pos = 0
    while pos < len(item_ids):
        chunk = item_ids[pos:pos + BATCH_ITEMS]
        try:
            done = _issue_batch(session_factory, chunk, actor_id, cfg, today)
        except Exception:  # e.g. SQLite busy, a lost connection: this batch left nothing behind
            log.warning("issuing batch of job %s failed; issuing its items one by one", job_id, exc_info=True)
            for item_id in chunk:
                _issue_alone(session_factory, job_id, item_id, actor_id, cfg, today)
            done = len(chunk)
        pos += done
    with session_factory() as s:
        job = s.get(IssueJob, job_id)
        job.status, job.finished_at = "done", utcnow()
        s.commit()
        return progress(job)


# Items are issued in batches: one transaction for up to BATCH_ITEMS certificates or BATCH_SECONDS of work,
# whichever comes first, their certificates written together (``_issue_batch``). One commit (one WAL flush on PostgreSQL)
# and one progress update a batch instead of one a certificate; the session's identity map keeps the actor,
# class, programme, regions and institution loaded across the batch (~37 statements a certificate one by one,
# most of them these reloads). The time bound keeps SQLite's write lock and the serial counter's row lock short.
# It counts the worker thread's CPU time (issue 20): on a busy machine (the web server taking the cores) a
# wall-clock bound cut batches to a few certificates, each paying the batch's checks for the whole chunk
# again, so issuing slowed down the more the machine was loaded; BATCH_WALL_SECONDS still caps the lock's wall time.
BATCH_ITEMS = 25
BATCH_SECONDS = 0.25
BATCH_WALL_SECONDS = 1.0


def _issue_item(s: Session, item: IssueJobItem, actor: User, enrollment: Enrollment, existing_id: int | None,
                cfg: services.CertConfig, today: dt.date, batch: services.IssueBatch | None = None) -> None:
    """Issue one item's certificate in a savepoint: a refusal undoes only this certificate (its serial too)."""
    if existing_id is not None:
        _skip_existing(item, existing_id)
        return
    mark = batch.mark() if batch is not None else None
    try:
        with s.begin_nested():
            cert = services.issue(s, actor, enrollment, cfg, today, batch=batch)
    except DomainError as exc:
        if batch is not None:
            batch.undo(mark)
        _refused(item, exc)
        return
    _issued(item, cert)


def _skip_existing(item: IssueJobItem, existing_id: int) -> None:
    item.status, item.certificate_id, item.message = "skipped", existing_id, _("已发证，未重复发证")


def _refused(item: IssueJobItem, exc: DomainError) -> None:
    # A Conflict means a racing run issued it first: nothing to do, nothing issued twice.
    item.status, item.message = ("skipped" if isinstance(exc, Conflict) else "failed"), exc.message


def _issued(item: IssueJobItem, cert: Certificate) -> None:
    item.status, item.certificate_id, item.message = "issued", cert.id, cert.number


def _issue_batch(session_factory: Callable[[], Session], item_ids: list[int], actor_id: int,
                 cfg: services.CertConfig, today: dt.date) -> int:
    """Issue the items in one transaction, stopping after BATCH_SECONDS; return how many were processed (all
    committed together). Items already processed by a racing run are left as they are.

    Each item is checked first (``IssueBatch.prepare``: reads only, a refusal takes no serial), then the batch's
    certificates are written together (``IssueBatch.write``: a statement each for the serials, the rows, the
    status-list indexes, the events, the notifications and the items' progress, where issuing each in its
    savepoint cost ~8 statements a certificate: 11.6 → 3.1 a certificate on PostgreSQL, bench.profile_issuing).
    Refused as a whole (a racing run issued one of them first), they are issued one by one, each in its
    savepoint, as before."""
    t0, cpu0 = time.monotonic(), time.thread_time()
    with session_factory() as s:
        items = {i.id: i for i in s.scalars(select(IssueJobItem).where(IssueJobItem.id.in_(item_ids)))}
        enrollment_ids = [i.enrollment_id for i in items.values()]
        enrollments = {e.id: e for e in s.scalars(select(Enrollment).where(Enrollment.id.in_(enrollment_ids))
                                                   .options(selectinload(Enrollment.user)))}
        existing = dict(s.execute(select(Certificate.current_for_enrollment_id, Certificate.id).where(
            Certificate.current_for_enrollment_id.in_(enrollment_ids))).all())
        actor = s.get(User, actor_id)
        # The batch (issue 20): gates and completion asked once, the issuer looked up once, the pool entries
        # and credits of its certificates written together when it announces them.
        batch = services.IssueBatch(s, [enrollments[i.enrollment_id] for i in items.values()
                                        if i.status == "pending" and i.enrollment_id not in existing])
        ready: list[tuple[IssueJobItem, services.Draft]] = []
        done = 0
        for item_id in item_ids:
            item = items[item_id]
            if item.status == "pending":
                _prepare_item(batch, item, actor, enrollments[item.enrollment_id], existing.get(item.enrollment_id),
                              cfg, today, ready)
            done += 1
            if time.thread_time() - cpu0 > BATCH_SECONDS or time.monotonic() - t0 > BATCH_WALL_SECONDS:
                break
        certs = batch.write(actor, [d for _item, d in ready], today)
        if certs is None:  # refused as a whole: one by one, each refusal its own
            for item, draft in ready:
                _issue_item(s, item, actor, draft.enrollment, None, cfg, today, batch)
        else:
            for (item, _draft), cert in zip(ready, certs):
                _issued(item, cert)
        batch.announce(actor, today)
        s.commit()
    return done


def _prepare_item(batch: services.IssueBatch, item: IssueJobItem, actor: User, enrollment: Enrollment,
                  existing_id: int | None, cfg: services.CertConfig, today: dt.date,
                  ready: list[tuple[IssueJobItem, services.Draft]]) -> None:
    """Check one item (``IssueBatch.prepare``): add its draft to ``ready``, or record why it is not issued."""
    if existing_id is not None:
        _skip_existing(item, existing_id)
        return
    try:
        ready.append((item, batch.prepare(actor, enrollment, cfg, today)))
    except DomainError as exc:
        _refused(item, exc)


def _issue_alone(session_factory: Callable[[], Session], job_id: int, item_id: int, actor_id: int,
                 cfg: services.CertConfig, today: dt.date) -> None:
    """One item in its own transaction, retried on a transient conflict (``lms.db.retrying``); a failure is
    recorded on the item and does not stop the others."""
    def one():
        with session_factory() as s:
            item = s.get(IssueJobItem, item_id)
            if item.status != "pending":
                return
            enrollment = s.get(Enrollment, item.enrollment_id)
            existing = services.current_certificate(s, enrollment.id)
            _issue_item(s, item, s.get(User, actor_id), enrollment, existing.id if existing else None, cfg, today)
            s.commit()

    try:
        retrying(one)
    except Exception:  # one certificate's failure must not stop the others
        log.exception("issuing item %s of job %s failed", item_id, job_id)
        with session_factory() as s:
            item = s.get(IssueJobItem, item_id)
            item.status, item.message = "failed", _("系统错误，请稍后重试")
            s.commit()
