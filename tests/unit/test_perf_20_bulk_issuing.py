"""Issue 20, issuing in bulk: the background job's batches ask the class gates, the completion rules and the
talent pool once a batch, not once a certificate, and what they issue is what issuing one by one issues
(certificates, refusals, pool entries, their events and certificates, credits)."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from certificates import services
from certificates.models import Certificate
from certificates.signals import certificate_issued, certificates_issued
from courses.models import AttendanceStatus, Enrollment, LessonProgress
from credits.models import CreditRecord
from credits.signals import credits_changed, credits_changed_many
from exams import results
from lms import completion
from lms.db import utcnow
from lms.errors import DomainError
from lms.notifications.models import Notification
from lms.people.models import TraineeProfile
from talent.models import TalentCertificate, TalentEntry, TalentEvent
from talent.services import entries
from tests import courses_support as cs
from tests import exam_factories as f
from tests import factories
from tests.cert_factories import cert_cfg  # noqa: F401
from tests.conftest import TODAY


def _class_of_mixed_trainees(db, world, n: int, tag: str, prog=None, mixed: bool = True):
    """A class (a required course of two lessons, two sessions of 4 h, an exam) whose trainees meet or miss
    each rule in turn: attendance present/late/absent, exam passed/failed/none, lessons done or half done
    (``mixed=False``: everyone meets every rule)."""
    prog = prog or cs.programme(db, world)
    cls = f.make_class(db, world.inst_nt, prog)
    sessions = [f.add_session(db, cls, dt.datetime(2026, 11, 2 + i, 1, tzinfo=dt.timezone.utc)) for i in range(2)]
    exam = f.make_exam(db, world.staff_nt, cls, f.make_bank(db, world.staff_nt))
    lessons = [les for c in prog.required_courses for les in c.lessons]
    out = []
    for i in range(n):
        j = i if mixed else 0
        ent = world.ent_qd if i % 5 else factories.make_enterprise(db, world.fuzhou, name=f"福州企业{tag}{i}")
        user = factories.make_trainee(db, f"bulk_{tag}_{i:02d}", ent, real_name="王芳")
        e = f.enrol(db, cls, user)
        f.attend(db, sessions[0], e, AttendanceStatus.present if j % 7 != 3 else AttendanceStatus.absent)
        if j % 4 != 1:
            f.attend(db, sessions[1], e, AttendanceStatus.late if i % 3 else AttendanceStatus.present)
        if j % 6 != 5:
            results.record_offline_result(db, world.staff_nt, exam, user.username, 40 if j % 8 == 2 else 75 + i % 10)
        for les in lessons[: 1 if j % 9 == 4 else len(lessons)]:
            db.add(LessonProgress(lesson_id=les.id, user_id=user.id, completed_at=utcnow()))
        out.append(e)
    db.flush()
    return cls, out


def _issue_one_by_one(db, actor, enrollments, cfg) -> dict:
    refused = {}
    for e in enrollments:
        try:
            with db.begin_nested():
                services.issue(db, actor, e, cfg, TODAY)
        except DomainError as exc:
            refused[e.id] = exc.message
    return refused


def _issue_in_a_batch(db, actor, enrollments, cfg) -> dict:
    """What ``certificates.worker._issue_batch`` does with one transaction's items."""
    refused = {}
    batch = services.IssueBatch(db, enrollments)
    for e in enrollments:
        try:
            with db.begin_nested():
                services.issue(db, actor, e, cfg, TODAY, batch=batch)
        except DomainError as exc:
            refused[e.id] = exc.message
    batch.announce(actor, TODAY)
    db.flush()
    return refused


def _state(db, user_ids) -> dict:
    """Everything issuing writes, without row ids, cids and signatures (random or sequence-made)."""
    db.expire_all()
    certs = sorted((c.number, c.holder_user_id, c.holder_name, c.tier.value, c.issued_on, c.valid_until, c.status.value,
                    c.class_id, c.region_id, c.bureau_id, c.issuer_id, sorted(c.snapshot.items()))
                   for c in db.scalars(select(Certificate).where(Certificate.holder_user_id.in_(user_ids))))
    pool = sorted((e.user_id, e.province_id, e.region_id, e.enterprise_id, e.highest_tier, e.status.value,
                   e.status_cause.value, e.status_since, e.entered_on,
                   sorted((ev.on, ev.from_status, ev.to_status, ev.cause, ev.reason) for ev in e.events),
                   sorted((c.number, c.tier.value, c.issued_on, c.valid_until, c.status) for c in e.certificates))
                  for e in db.scalars(select(TalentEntry).where(TalentEntry.user_id.in_(user_ids))))
    credits = sorted((r.user_id, r.year, r.hours, r.source_ref) for r in db.scalars(
        select(CreditRecord).where(CreditRecord.user_id.in_(user_ids))))
    notes = sorted((n.user_id, n.kind, n.title) for n in db.scalars(
        select(Notification).where(Notification.user_id.in_(user_ids))))
    return {"certificates": certs, "pool": pool, "credits": credits, "notifications": notes}


def test_perf_20_completion_verdicts_in_a_batch_equal_one_by_one(db, world):
    _cls, enrollments = _class_of_mixed_trainees(db, world, 18, "v")
    many = completion.check_many(db, enrollments)
    one = {e.id: completion.check(db, e) for e in enrollments}
    assert many == one
    assert {r.met for rs in one.values() for r in rs} == {True, False}  # the class has both kinds
    assert {r.code for rs in one.values() for r in rs if not r.met} >= {"attendance", "exam", "lessons"}


def test_perf_20_batch_issues_what_one_by_one_issues(db, world, cert_cfg):
    cls, enrollments = _class_of_mixed_trainees(db, world, 15, "e")
    user_ids = [e.user_id for e in enrollments]
    # Two holders are in the pool already (another certificate): their entries are updated, not created.
    for e in enrollments[:2]:
        entries.on_certificate_issued(db, user_id=e.user_id, certificate_id=900_000 + e.id, number=f"OLD-{e.id}",
                                      tier="basic", issued_on=TODAY - dt.timedelta(days=400), valid_until=None,
                                      region_id=world.qidong.id, enterprise_id=None)
    db.flush()
    outer = db.begin_nested()
    refused_one = _issue_one_by_one(db, world.staff_nt, enrollments, cert_cfg)
    one = _state(db, user_ids)
    outer.rollback()
    db.expire_all()
    assert _state(db, user_ids)["certificates"] == []
    refused_batch = _issue_in_a_batch(db, world.staff_nt, enrollments, cert_cfg)
    batch = _state(db, user_ids)
    assert refused_batch == refused_one and 0 < len(refused_one) < len(enrollments)
    assert batch == one
    assert len(one["certificates"]) == len(enrollments) - len(refused_one) and len(one["pool"]) >= 2


@contextmanager
def _statements(db):
    seen: list[str] = []
    engine = db.get_bind()

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


PER_BATCH_TABLES = ("talent_entries", "talent_events", "talent_certificates", "class_sessions", "attendance_records",
                    "exam_results", "lesson_progress", "exams ", "class_filings")
# Statements a certificate beyond the batch's own: ~10 measured (its serial, row, status-list index, event, audit
# entry with the chain's head, notification, savepoints); 28 before issue 20, 39 before issue 9.
PER_CERTIFICATE_MAX = 12


def _count_batch(db, world, cfg, n: int, tag: str, prog) -> tuple[int, int, dict[str, int]]:
    """Issue the complete enrolments of a fresh class in one batch: (certificates, statements, per table)."""
    _cls, enrollments = _class_of_mixed_trainees(db, world, n, tag, prog, mixed=False)
    complete = [e for e in enrollments if completion.is_complete(completion.check(db, e))]
    assert len(complete) == n
    db.flush()
    ids = [e.id for e in complete]
    db.expire_all()
    with _statements(db) as seen:  # loaded as the worker loads a batch's enrolments
        batch = list(db.scalars(select(Enrollment).where(Enrollment.id.in_(ids))
                                .options(selectinload(Enrollment.user))))
        refused = _issue_in_a_batch(db, world.staff_nt, batch, cfg)
    assert refused == {}
    per_table = {t: sum(1 for s in seen if t in s) for t in PER_BATCH_TABLES}
    return len(complete), len(seen), per_table


def test_perf_20_statements_per_batch(db, world, cert_cfg):
    prog = cs.programme(db, world)
    small_n, small, small_tables = _count_batch(db, world, cert_cfg, 4, "s", prog)
    large_n, large, large_tables = _count_batch(db, world, cert_cfg, 16, "l", prog)
    # The pool, the completion rules and the gates: the same statements for 4 certificates as for 16.
    assert large_tables == small_tables, (small_tables, large_tables)
    per_certificate = (large - small) / (large_n - small_n)
    assert per_certificate <= PER_CERTIFICATE_MAX, per_certificate


def test_perf_20_every_receiver_of_an_issue_handles_a_batch(app):
    def modules(sig):
        return {getattr(r, "__module__", "") for r in sig.receivers_for(None)}

    assert modules(certificate_issued)  # credits and talent receive issues
    assert modules(certificate_issued) == modules(certificates_issued)
    assert modules(credits_changed) <= modules(credits_changed_many)


def test_perf_20_holders_in_the_pool_take_no_statements_a_certificate(db, world, cert_cfg):
    """Holders already in the pool (the bench's case: the class trains people certified before) are recorded
    on their entries together, like new ones: the pool's statements are the same for 4 certificates as for 16."""
    prog = cs.programme(db, world)
    counts = []
    for n, tag in ((4, "ps"), (16, "pl")):
        _cls, enrollments = _class_of_mixed_trainees(db, world, n, tag, prog, mixed=False)
        for e in enrollments:  # each holds an older certificate: in the pool where their enterprise is
            entries.on_certificate_issued(db, user_id=e.user_id, certificate_id=800_000 + e.id, number=f"OLD-{e.id}",
                                          tier="basic", issued_on=TODAY - dt.timedelta(days=400), valid_until=None,
                                          region_id=world.qidong.id, enterprise_id=db.scalar(
                                              select(TraineeProfile.enterprise_id).where(TraineeProfile.user_id == e.user_id)))
        db.flush()
        ids = [e.id for e in enrollments]
        db.expire_all()
        with _statements(db) as seen:
            batch = list(db.scalars(select(Enrollment).where(Enrollment.id.in_(ids))
                                    .options(selectinload(Enrollment.user))))
            assert _issue_in_a_batch(db, world.staff_nt, batch, cert_cfg) == {}
        counts.append(sum(1 for s in seen if "talent_" in s))
    assert counts[0] == counts[1], (counts, "\n".join(s[:100].replace("\n", " ") for s in seen if "talent_" in s))


def test_perf_20_batch_equals_one_by_one_for_holders_in_the_pool(db, world, cert_cfg):
    """Holders in the pool where their enterprise is (recorded together), one whose entry exited with its last
    certificate revoked (returns, one by one), one with a higher tier already (kept), one placed elsewhere
    (moves), one whose old certificate has lapsed (the new one is the tier): the batch writes what issuing one by
    one writes."""
    _cls, enrollments = _class_of_mixed_trainees(db, world, 10, "k", mixed=False)
    user_ids = [e.user_id for e in enrollments]
    for i, e in enumerate(enrollments):
        ent = db.scalar(select(TraineeProfile.enterprise_id).where(TraineeProfile.user_id == e.user_id))
        entry = entries.on_certificate_issued(
            db, user_id=e.user_id, certificate_id=700_000 + e.id, number=f"OLD-{e.id}",
            tier="senior" if i == 1 else "basic", issued_on=TODAY - dt.timedelta(days=400),
            valid_until=TODAY - dt.timedelta(days=30) if i == 3 else None,
            region_id=world.qidong.id, enterprise_id=None if i == 2 else ent)
        if i == 0:
            entries.on_certificate_status_changed(db, user_id=e.user_id, certificate_id=700_000 + e.id,
                                                  status="revoked", reason="撤销", today=TODAY - dt.timedelta(days=10))
            assert entry.status.value == "exited"
    db.flush()
    outer = db.begin_nested()
    refused_one = _issue_one_by_one(db, world.staff_nt, enrollments, cert_cfg)
    one = _state(db, user_ids)
    outer.rollback()
    db.expire_all()
    refused_batch = _issue_in_a_batch(db, world.staff_nt, enrollments, cert_cfg)
    assert refused_batch == refused_one == {}
    assert _state(db, user_ids) == one
    assert len(one["pool"]) == len(enrollments)
