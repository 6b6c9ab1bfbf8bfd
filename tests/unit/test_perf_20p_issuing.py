"""Issue 20 (issuing, second round): a batch chains its certificates' audit events together (the chain head locked
and advanced once a batch, not twice a certificate) and reads its holders' mail addresses once; the chain still
verifies and every certificate has its audit event and its mail. Counted, never timed."""
from __future__ import annotations

from sqlalchemy import func, select

from lms import auditchain
from lms.auth.models import AuditEvent
from lms.notifications.models import Notification
from lms.people.models import TraineeProfile
from tests import factories
from tests import courses_support as cs
from tests.cert_factories import cert_cfg  # noqa: F401
from tests.unit.test_perf_20_bulk_issuing import _count_batch, _statements  # noqa: F401


def _batch_statements(db, world, cfg, n, tag, prog, table):
    """Statements touching ``table`` while one batch of ``n`` certificates is issued."""
    events_before = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "certificate.issue"))
    from tests.unit import test_perf_20_bulk_issuing as bulk

    saved = bulk.PER_BATCH_TABLES
    bulk.PER_BATCH_TABLES = (table,)
    try:
        issued, _total, per_table = _count_batch(db, world, cfg, n, tag, prog)
    finally:
        bulk.PER_BATCH_TABLES = saved
    events_after = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "certificate.issue"))
    assert events_after - events_before == issued  # one audit event a certificate, as before
    return per_table[table]


def test_perf_20p_audit_chain_head_once_a_batch(db, world, cert_cfg):
    prog = cs.programme(db, world)
    small = _batch_statements(db, world, cert_cfg, 3, "ha", prog, "audit_chain_head")
    large = _batch_statements(db, world, cert_cfg, 12, "hb", prog, "audit_chain_head")
    assert small == large <= 2, (small, large)  # the lock and the advance, whatever the batch's size
    verdict = auditchain.verify(db)
    assert verdict.ok, str(verdict)


def test_perf_20p_holders_addresses_read_once_a_batch(app, db, world, cert_cfg, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "folder")  # restored after the test (the app is shared)
    monkeypatch.setitem(app.config, "MAIL_FOLDER", str(tmp_path / "mail"))
    make = factories.make_trainee
    # Every other holder has a mail address on the profile; the others are mailed at their account's, if any.
    monkeypatch.setattr(factories, "make_trainee", lambda session, username, enterprise, **kw: make(
        session, username, enterprise, **({"email": f"{username}@example.cn"} if username[-1] in "02468" else {}), **kw))
    prog = cs.programme(db, world)
    with app.app_context():  # mail is queued in an app's context (a request, a job)
        small = _batch_statements(db, world, cert_cfg, 3, "ma", prog, "trainee_profiles")
        large = _batch_statements(db, world, cert_cfg, 12, "mb", prog, "trainee_profiles")
    assert small == large, (small, large)
    # Every holder with an address still gets the mail of the issue (queued, sent at the commit).
    mailed = db.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "certificate", Notification.emailed.is_(True)))
    notified = db.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "certificate"))
    with_address = db.scalar(select(func.count()).select_from(Notification).join(
        TraineeProfile, TraineeProfile.user_id == Notification.user_id).where(
        Notification.kind == "certificate", TraineeProfile.email != ""))
    assert notified == 15 and 0 < with_address < notified and mailed == with_address, (mailed, with_address, notified)
