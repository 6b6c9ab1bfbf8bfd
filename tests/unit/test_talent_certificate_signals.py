"""The pool and the credits follow the certificates feature through its signals (``certificates.signals``),
connected by ``credits.wiring`` and ``talent.wiring``; certificates never calls them. Every receiver is idempotent:
a signal delivered again changes nothing."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from certificates import services
from certificates.signals import certificate_expired, certificate_issued, certificate_reissued, certificate_revoked
from courses.models import Course, SubjectCategory
from credits.models import CreditRecord
from lms.domain import Tier
from talent.models import Cause, PoolStatus, TalentCertificate, TalentEntry
from tests.cert_factories import cert_cfg, completion_rules, cw  # noqa: F401
from tests.conftest import TODAY


def _issue(db, world, cw, cert_cfg):
    course = Course(code="T-01", title="质量法律制度", hours=8, subject_category=SubjectCategory.professional)
    db.add(course)
    db.flush()
    cw.programme.courses.append(course)
    db.flush()
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id)) is not None  # the signal's work
    for _ in range(2):  # further deliveries change nothing
        certificate_issued.send(services, session=db, certificate=cert, actor=world.staff_nt, today=TODAY)
    return cert


def _entry(db, world) -> TalentEntry:
    db.expire_all()
    return db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))


def test_issued_enters_the_pool_and_awards_the_hours_once(db, world, cw, cert_cfg):
    _issue(db, world, cw, cert_cfg)
    entry = _entry(db, world)
    assert entry.status == PoolStatus.active and entry.highest_tier == Tier.basic
    assert db.scalar(select(func.count()).select_from(TalentCertificate)) == 1
    hours = db.scalars(select(CreditRecord).where(CreditRecord.user_id == world.trainee.id)).all()
    assert [(c.year, c.hours, c.source) for c in hours] == [(TODAY.year, 8, "system")]


def test_revoked_exits_the_pool(db, world, cw, cert_cfg):
    cert = _issue(db, world, cw, cert_cfg)
    services.change_status(db, world.city_admin, cert, "revoke", "quality_fault", "重大质量事故", TODAY)
    assert _entry(db, world).status == PoolStatus.exited  # the revocation's signal reached the pool
    certificate_revoked.send(services, session=db, certificate=cert, actor=world.city_admin, reason="重大质量事故")  # again
    entry = _entry(db, world)
    assert entry.status == PoolStatus.exited and entry.status_cause == Cause.revoked_certificate


def test_expired_exits_the_pool(db, world, cw, cert_cfg):
    cert = _issue(db, world, cw, cert_cfg)
    later = cert.valid_until + dt.timedelta(days=1)
    assert services.expire_due(db, later) == 1
    certificate_expired.send(services, session=db, certificate=cert, reason="证书已过有效期", today=later)
    entry = _entry(db, world)
    assert entry.status == PoolStatus.exited and entry.status_cause == Cause.certificate_expired


def test_reissued_keeps_the_entry_on_the_new_certificate(db, world, cw, cert_cfg):
    cert = _issue(db, world, cw, cert_cfg)
    new = services.reissue(db, world.staff_nt, cert, "姓名有误", cert_cfg, TODAY)
    for named in (new, cert):  # whichever of the two the signal names, the outcome is the same
        certificate_reissued.send(services, session=db, certificate=named, actor=world.staff_nt, reason="姓名有误")
    entry = _entry(db, world)
    assert entry.status == PoolStatus.active and entry.highest_tier == Tier.basic
    statuses = {c.certificate_id: c.status for c in db.scalars(select(TalentCertificate))}
    assert statuses == {cert.id: "superseded", new.id: "valid"}
    assert db.scalar(select(func.count()).select_from(CreditRecord)) == 1  # the same enrolment: no second award
