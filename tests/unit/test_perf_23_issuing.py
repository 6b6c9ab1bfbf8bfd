"""Issue 20 (issuing, third round): the background job checks a batch's items first (``IssueBatch.prepare``, reads
only) and writes their certificates together (``IssueBatch.write``): the serials, rows, status-list indexes,
events, notifications and audit entries a statement each for the batch, not ~8 statements a certificate. The rows,
their order, the audit chain and the serials are those of issuing one by one. Counted, never timed."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from certificates import services, worker
from certificates.models import Certificate, CertificateCounter, CertificateEvent, IssueJob
from courses.models import Enrollment
from lms import auditchain, completion
from lms.auth.models import AuditEvent
from lms.errors import DomainError
from lms.notifications.models import Notification
from tests import courses_support as cs
from tests.cert_factories import cert_cfg  # noqa: F401
from tests.conftest import TODAY
from tests.unit.test_perf_20_bulk_issuing import _class_of_mixed_trainees, _issue_one_by_one, _statements


def _issue_as_the_worker(db, actor, enrollments, cfg) -> dict:
    """What ``certificates.worker._issue_batch`` does with one transaction's items: check each, write together."""
    refused, drafts = {}, []
    batch = services.IssueBatch(db, enrollments)
    for e in enrollments:
        try:
            drafts.append(batch.prepare(actor, e, cfg, TODAY))
        except DomainError as exc:
            refused[e.id] = exc.message
    assert batch.write(actor, drafts, TODAY) is not None
    batch.announce(actor, TODAY)
    db.flush()
    return refused


def _rows(db, user_ids) -> dict:
    """What issuing wrote, in the order it wrote it (row ids and chain places), without the random or
    sequence-made values (ids become the certificate's number, cids and signatures are left out)."""
    db.expire_all()
    certs = list(db.scalars(select(Certificate).where(Certificate.holder_user_id.in_(user_ids))
                            .order_by(Certificate.id)))
    number = {c.id: c.number for c in certs}
    return {
        "certificates": [(c.number, c.holder_user_id, c.holder_name, c.enrollment_id, c.current_for_enrollment_id,
                          c.tier.value, c.issued_on, c.valid_until, c.status.value, c.key_id, c.issuer_kind.value,
                          c.issuer_id, c.bureau_id, c.issued_by_id, sorted(c.snapshot.items()),
                          c.status_list_index == c.id) for c in certs],
        "events": [(number[ev.certificate_id], ev.action, ev.from_status, ev.to_status, ev.actor_id) for ev in
                   db.scalars(select(CertificateEvent).where(CertificateEvent.certificate_id.in_(number))
                              .order_by(CertificateEvent.id))],
        "notifications": [(n.user_id, n.kind, n.title, n.body, n.url.replace(f"/{cid}", f"/{number[cid]}"), n.emailed)
                          for n in db.scalars(select(Notification).where(Notification.user_id.in_(user_ids))
                                              .order_by(Notification.id))
                          for cid in [int(n.url.rstrip("/").rsplit("/", 1)[-1])]],
        "audit": [(ev.actor_id, ev.action, ev.object_type, number[int(ev.object_id)], ev.detail) for ev in
                  db.scalars(select(AuditEvent).where(AuditEvent.action == "certificate.issue",
                                                      AuditEvent.object_id.in_([str(i) for i in number]))
                             .order_by(AuditEvent.chain_seq))],
    }


def test_perf_23_batch_writes_the_rows_of_one_by_one_in_the_same_order(app, db, world, cert_cfg, tmp_path,
                                                                        monkeypatch):
    """A class whose trainees miss a rule in turn: the refused take no serial, and the batch writes the rows,
    events, notifications (their links, their mails) and audit entries issuing one by one writes, in the same
    order; the chain verifies."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "folder")  # restored after the test (the app is shared)
    monkeypatch.setitem(app.config, "MAIL_FOLDER", str(tmp_path / "mail"))
    _cls, enrollments = _class_of_mixed_trainees(db, world, 15, "o")
    user_ids = [e.user_id for e in enrollments]
    for e in enrollments[::2]:  # every other holder has an address: mailed, the others not
        e.user.email = f"{e.user.username}@example.cn"
    outer = db.begin_nested()
    with app.app_context():  # links and mails are made in an app's context (a request, a job)
        refused_one = _issue_one_by_one(db, world.staff_nt, enrollments, cert_cfg)
    one = _rows(db, user_ids)
    outer.rollback()
    db.expire_all()
    with app.app_context():
        refused_batch = _issue_as_the_worker(db, world.staff_nt, enrollments, cert_cfg)
    batch = _rows(db, user_ids)
    assert {n[-1] for n in batch["notifications"]} == {True, False}
    assert refused_batch == refused_one and 0 < len(refused_one) < len(enrollments)
    assert batch == one
    issued = len(enrollments) - len(refused_one)
    assert [c[0][-5:] for c in batch["certificates"]] == [f"{n:05d}" for n in range(1, issued + 1)]  # no gap
    assert len(batch["events"]) == len(batch["notifications"]) == len(batch["audit"]) == issued
    verdict = auditchain.verify(db)
    assert verdict.ok, str(verdict)


def _count(db, world, cfg, n: int, tag: str, prog) -> list[str]:
    """The statements of one worker batch of ``n`` complete enrolments of a fresh class."""
    _cls, enrollments = _class_of_mixed_trainees(db, world, n, tag, prog, mixed=False)
    assert all(completion.is_complete(completion.check(db, e)) for e in enrollments)
    db.flush()
    ids = [e.id for e in enrollments]
    db.expire_all()
    with _statements(db) as seen:  # loaded as the worker loads a batch's enrolments
        batch = list(db.scalars(select(Enrollment).where(Enrollment.id.in_(ids)).options(selectinload(Enrollment.user))))
        assert _issue_as_the_worker(db, world.staff_nt, batch, cfg) == {}
    return seen


def test_perf_23_statements_a_batch_do_not_grow_with_its_size(db, world, cert_cfg):
    prog = cs.programme(db, world)
    _count(db, world, cert_cfg, 2, "tw", prog)  # the first creates the serial counter
    small = _count(db, world, cert_cfg, 4, "ts", prog)
    large = _count(db, world, cert_cfg, 16, "tl", prog)

    # SQLite guarantees no order to a multi-row INSERT … RETURNING, so SQLAlchemy sends those rows one at a time
    # there (in process: no round trip); PostgreSQL takes each table's rows in one statement.
    one_a_row = ("INSERT INTO",) if db.get_bind().dialect.name == "sqlite" else ()

    def kinds(seen):
        return sorted(" ".join(s.split()[:1] if "SAVEPOINT" in s else s.split()[:3]) for s in seen
                      if not s.startswith(one_a_row))

    # Every statement of the batch, the serials, rows, status-list indexes, events, notifications, audit entries
    # and savepoints included: the same for 16 certificates as for 4 (each certificate in its savepoint cost ~8
    # more: issue 20's 11.6 a certificate on PostgreSQL).
    assert kinds(large) == kinds(small), "\n".join(sorted(set(kinds(large)) ^ set(kinds(small))))
    assert len(kinds(large)) < 120, len(kinds(large))
    for table in ("UPDATE certificate_counters", "UPDATE certificates", "SAVEPOINT"):
        assert sum(1 for s in large if s.startswith(table)) <= 2, table


def test_perf_23_rows_refused_as_a_whole_are_issued_one_by_one_without_a_gap(app, db, world, cert_cfg, monkeypatch):
    """A racing run issues one of the batch's enrolments after the batch checked it: the batch's rows are refused
    (nothing written, no serial taken), then each item is issued in its savepoint: that one skipped, the others
    issued, the serials contiguous."""
    _cls, enrollments = _class_of_mixed_trainees(db, world, 6, "r", mixed=False)
    raced = enrollments[2]
    real_write = services.IssueBatch.write
    outcome = []

    def write(self, actor, drafts, today):
        with db.begin_nested():  # the racing run, committed first
            services.issue(db, world.staff_nt, db.get(Enrollment, raced.id), cert_cfg, TODAY)
        counter = db.scalar(select(CertificateCounter.n))
        outcome.append(real_write(self, actor, drafts, today))
        assert db.scalar(select(CertificateCounter.n)) == counter  # the batch's serials given back
        return outcome[-1]

    monkeypatch.setattr(services.IssueBatch, "write", write)
    job = worker.start_job(db, world.staff_nt, _cls)
    db.flush()
    out = worker.process_job(lambda: db, job.id, cert_cfg, TODAY)
    assert outcome == [None]
    assert (out["issued"], out["skipped"], out["failed"]) == (5, 1, 0)
    db.expire_all()
    items = {i.enrollment_id: i for i in db.get(IssueJob, job.id).items}
    assert items[raced.id].status == "skipped"
    numbers = sorted(db.scalars(select(Certificate.number).where(Certificate.class_id == _cls.id)))
    assert [n[-5:] for n in numbers] == [f"{n:05d}" for n in range(1, 7)]
    assert db.scalar(select(func.count()).select_from(Certificate).where(Certificate.class_id == _cls.id)) == 6
