"""Issue 17 (remaining 5): where a province sets a validity, the holder is told, in the app and by mail, before
the certificate's end (renewed, or not renewed for a lapse) and the day it expires, each time with a link to the
certificate's page."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from certificates import services
from certificates.services.status import expire_due
from lms.notifications.models import Notification
from talent.models import Cause, PoolStatus, TalentEntry
from talent.services import entries, status
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401  (fixtures)
from tests.conftest import TODAY
from tests.unit.test_trainee_notifications import mailbox  # noqa: F401  (fixture)


def _issued(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    entries.enter_pool(db, cert)
    world.trainee.trainee_profile[0].email = "wang@example.com"
    db.flush()
    return cert, db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))


def _told(db, user_id: int, kind: str) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)))


def test_journey_validity_renewed_holder_told_with_a_link(db, world, cw, cert_cfg, completion_rule, mailbox):
    cert, _entry = _issued(db, world, cw, cert_cfg, completion_rule)
    assert cert.valid_until is not None
    assert entries.renew_certificates(db, cert.valid_until - dt.timedelta(days=10), cert_cfg)["renewed"] == 1
    db.commit()  # mail leaves after the commit that wrote the notification
    db.expire_all()
    (note,) = _told(db, world.trainee.id, "certificate_renewed")
    assert note.url == f"/certificates/{cert.id}" and cert.valid_until.isoformat() in note.body
    assert note.emailed and any(f"/certificates/{cert.id}" in m.get_body().get_content() for m in mailbox()
                                if "续期" in m["Subject"])


def test_journey_validity_lapsed_holder_told_before_the_end_and_when_it_expires(db, world, cw, cert_cfg,
                                                                             completion_rule, mailbox):
    cert, entry = _issued(db, world, cw, cert_cfg, completion_rule)
    end = cert.valid_until
    status.set_status(db, entry, PoolStatus.lapsed, Cause.missed_credits, end - dt.timedelta(days=60))
    assert entries.renew_certificates(db, end - dt.timedelta(days=20), cert_cfg)["not_renewed"] == 1
    (before,) = _told(db, world.trainee.id, "certificate_expiry")
    assert before.url == f"/certificates/{cert.id}" and end.isoformat() in before.body
    assert expire_due(db, end) == 0  # not on its last day
    assert expire_due(db, end + dt.timedelta(days=1)) == 1
    db.commit()  # mail leaves after the commit that wrote the notification
    db.expire_all()
    (after,) = [n for n in _told(db, world.trainee.id, "certificate") if n.title.startswith("证书已过期")]
    assert after.url == f"/certificates/{cert.id}" and end.isoformat() in after.body and cert.number in after.title
    assert after.emailed
    assert any(m["Subject"].startswith("证书已过期") for m in mailbox())
    assert expire_due(db, end + dt.timedelta(days=2)) == 0  # told once
    assert len([n for n in _told(db, world.trainee.id, "certificate") if n.title.startswith("证书已过期")]) == 1
