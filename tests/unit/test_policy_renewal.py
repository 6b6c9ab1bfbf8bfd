"""Issue 14, part A: where a province's programme sets a certificate validity, a CQO who is not lapsed has the
certificate renewed before it ends (same number, a new validity, signed again, an event of the certificate and of
the pool entry); only a lapse ends it, and the holder is told before the end, not after."""
import datetime as dt

from sqlalchemy import select

from certificates import keys, services
from certificates.models import CertificateEvent
from lms.notifications.models import Notification
from talent.models import Cause, PoolStatus, TalentEntry, TalentEvent
from talent.services import entries, status
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY


def _issued(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    entries.enter_pool(db, cert)  # (the signal does it too: idempotent)
    return cert, db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))


def test_policy_certificate_renewed_before_it_ends(db, world, cw, cert_cfg, completion_rule):
    cert, entry = _issued(db, world, cw, cert_cfg, completion_rule)
    number, end = cert.number, cert.valid_until
    assert entries.renew_certificates(db, end - dt.timedelta(days=31), cert_cfg)["renewed"] == 0  # not yet
    out = entries.renew_certificates(db, end - dt.timedelta(days=10), cert_cfg)
    assert out["renewed"] == 1
    assert cert.number == number and cert.valid_until == services.valid_until_for(end + dt.timedelta(days=1), 3)
    assert services.signature_matches(cert, cert.signed_part, keys.public_document(cert_cfg.key_dir))
    assert db.scalar(select(CertificateEvent.action).where(CertificateEvent.certificate_id == cert.id)
                     .order_by(CertificateEvent.id.desc()).limit(1)) == "renew"
    assert entries.renew_certificates(db, end - dt.timedelta(days=9), cert_cfg)["renewed"] == 0  # idempotent
    assert entries.expire_certificates(db, end + dt.timedelta(days=1)) == 0
    db.refresh(entry)
    assert entry.status == PoolStatus.active and entry.certificates[0].valid_until == cert.valid_until
    assert entry.events[-1].cause == Cause.renewed


def test_policy_lapsed_cqo_not_renewed_but_told_before_the_end(db, world, cw, cert_cfg, completion_rule):
    cert, entry = _issued(db, world, cw, cert_cfg, completion_rule)
    end = cert.valid_until
    status.set_status(db, entry, PoolStatus.lapsed, Cause.missed_credits, end - dt.timedelta(days=60))
    out = entries.renew_certificates(db, end - dt.timedelta(days=20), cert_cfg)
    assert out == {"renewed": 0, "not_renewed": 1}
    assert entries.renew_certificates(db, end - dt.timedelta(days=19), cert_cfg)["not_renewed"] == 0  # told once
    told = db.scalars(select(Notification).where(Notification.user_id == world.trainee.id,
                                                 Notification.kind == "certificate_expiry")).all()
    assert len(told) == 1 and end.isoformat() in told[0].body
    assert cert.valid_until == end
    # a lapse ends it: past its date the entry leaves the pool, with the cause, and is told
    assert entries.expire_certificates(db, end + dt.timedelta(days=1)) == 1
    db.refresh(entry)
    assert entry.status == PoolStatus.exited and entry.status_cause == Cause.certificate_expired
    assert db.scalar(select(TalentEvent.cause).where(TalentEvent.entry_id == entry.id)
                     .order_by(TalentEvent.id.desc()).limit(1)) == Cause.certificate_expired


def test_policy_warned_cqo_is_renewed(db, world, cw, cert_cfg, completion_rule):
    cert, entry = _issued(db, world, cw, cert_cfg, completion_rule)
    end = cert.valid_until
    status.set_status(db, entry, PoolStatus.warning, Cause.missed_credits, end - dt.timedelta(days=60))
    assert entries.renew_certificates(db, end - dt.timedelta(days=5), cert_cfg)["renewed"] == 1
    assert cert.valid_until > end
