"""Issuing, numbering, snapshots, reissue, status changes, expiry and the prerequisite check."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from certificates import keys, services, signing
from certificates.models import Certificate, CertificateEvent, CertificateStatus
from lms.auth.models import AuditEvent
from lms.domain import Tier
from lms.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from lms.people.models import TraineeProfile
from tests import factories
from tests.cert_factories import cert_cfg, completion_rule, completion_rules, cw, enrol, make_class, make_programme  # noqa: F401
from tests.conftest import TODAY


def keydoc(cfg):
    return signing.public_keys_from_document(keys.public_document(cfg.key_dir))


def test_no_rules_registered_means_not_complete(db, world, cw, cert_cfg):
    with completion_rules():
        results = services.completion_check(db, cw.e_wang)
        assert [r.met for r in results] == [False]
        with pytest.raises(DomainError) as exc:
            services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
        assert "尚未配置任何结业条件" in exc.value.message


def test_refused_with_each_unmet_rule(db, world, cw, cert_cfg):
    with completion_rules(attendance=False, exam=True, lessons=False):
        results = services.completion_check(db, cw.e_wang)
        assert [(r.code, r.met) for r in results] == [("attendance", False), ("exam", True), ("lessons", False)]
        with pytest.raises(DomainError) as exc:
            services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert "规则attendance" in exc.value.message and "规则lessons" in exc.value.message
    assert "规则exam" not in exc.value.message
    assert db.scalar(select(Certificate)) is None


def test_issue_numbers_signs_and_snapshots(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    # Nantong's institution, basic tier: the supervising bureau is the city's (no county in between).
    assert cert.number == "320600-B-2026-00001"
    assert cert.snapshot["bureau"] == "南通市市场监督管理局" and cert.snapshot["institution"] == "南通培训中心"
    assert cert.issued_on == TODAY and cert.valid_until == dt.date(2029, 11, 21)
    assert len(cert.cid) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", cert.cid)
    url = services.verify_url(cert, cert_cfg.base_url)
    assert url.startswith("https://cqo.example.gov.cn/v/" + cert.cid + "#")
    res = signing.check(url.split("#", 1)[1], keydoc(cert_cfg))
    assert res.ok and res.fields == services.signed_fields(cert) and res.fields["holder_name"] == "王芳"
    assert db.scalar(select(CertificateEvent.action).where(CertificateEvent.certificate_id == cert.id)) == "issue"
    # Frozen: a later profile edit changes nothing on the certificate.
    db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id)).real_name = "王芳芳"
    db.flush()
    db.refresh(cert)
    assert cert.holder_name == "王芳" and cert.snapshot["holder_name"] == "王芳"
    assert services.signature_matches(cert, cert.signed_part, keys.public_document(cert_cfg.key_dir))


def test_nothing_issued_twice_and_serials_have_no_gaps(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    t2 = factories.make_trainee(db, "trainee2", world.ent_qd, real_name="李强")
    t3 = factories.make_trainee(db, "trainee3", world.ent_qd, real_name="张静")
    e2, e3 = enrol(db, cw.cls, t2), enrol(db, cw.cls, t3)
    services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    with pytest.raises(Conflict):
        services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    # A failure inside the issuing transaction gives its serial back.
    try:
        with db.begin_nested():
            with completion_rules(test_ok=False):
                services.issue(db, world.staff_nt, e2, cert_cfg, TODAY)
    except DomainError:
        pass
    with pytest.raises(RuntimeError):
        with db.begin_nested():
            services.create_certificate(db, world.staff_nt, e2, cert_cfg, TODAY)
            raise RuntimeError("crash after numbering")
    services.issue(db, world.staff_nt, e3, cert_cfg, TODAY)
    services.issue(db, world.staff_nt, e2, cert_cfg, TODAY)
    numbers = db.scalars(select(Certificate.number).order_by(Certificate.number)).all()
    assert numbers == ["320600-B-2026-00001", "320600-B-2026-00002", "320600-B-2026-00003"]


def test_other_institution_cannot_issue_and_is_audited(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    with pytest.raises(NotFound):
        services.issue(db, world.staff_fj, cw.e_wang, cert_cfg, TODAY)
    with pytest.raises(NotFound):
        services.issue(db, world.trainee, cw.e_wang, cert_cfg, TODAY)
    assert db.scalar(select(Certificate)) is None
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied",
                                                 AuditEvent.object_type == "TrainingClass")).all()
    assert {e.actor_id for e in denied} == {world.staff_fj.id, world.trainee.id}


def test_reissue_supersedes_and_points_to_successor(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    old = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id)).real_name = "王芳芳"
    with pytest.raises(ValidationFailed):
        services.reissue(db, world.staff_nt, old, "", cert_cfg, TODAY)
    new = services.reissue(db, world.staff_nt, old, "姓名有误，更正", cert_cfg, TODAY)
    assert old.status == CertificateStatus.superseded and old.superseded_by_id == new.id
    assert new.holder_name == "王芳芳" and new.valid_until == old.valid_until and new.number.endswith("00002")
    view = services.public_view(db, old, TODAY)
    assert view["status"] == "superseded" and view["superseded_by"]["number"] == new.number
    assert view["superseded_by"]["verify_path"] == f"/v/{new.cid}"
    assert services.current_certificate(db, cw.e_wang.id).id == new.id
    with pytest.raises(DomainError):
        services.reissue(db, world.staff_nt, old, "再次换发", cert_cfg, TODAY)


def test_status_changes_by_province_or_city_bureau_only(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    for actor in (world.staff_nt, world.county_admin, world.fujian_admin, world.trainee):
        with pytest.raises(Forbidden):
            services.change_status(db, actor, cert, "revoke", "quality_fault", "", TODAY)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.status_refused")) is not None
    with pytest.raises(ValidationFailed):
        services.change_status(db, world.city_admin, cert, "suspend", None, "", TODAY)
    services.change_status(db, world.city_admin, cert, "suspend", "under_investigation", "核查中", TODAY)
    assert services.public_view(db, cert, TODAY)["status"] == "suspended"
    services.change_status(db, world.province_admin, cert, "reinstate", None, "核查无问题", TODAY)
    assert cert.status == CertificateStatus.valid
    services.change_status(db, world.city_admin, cert, "revoke", "quality_fault", "重大质量事故", TODAY)
    view = services.public_view(db, cert, TODAY)
    assert view["status"] == "revoked" and view["reason_category"] == "quality_fault" and view["status_changed_on"]
    assert "id_number" not in str(view) and "phone" not in str(view) and view["holder_name"] == "王*"
    events = db.scalars(select(CertificateEvent).where(CertificateEvent.certificate_id == cert.id)
                        .order_by(CertificateEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events][1:] == [
        ("suspend", world.city_admin.id), ("reinstate", world.province_admin.id), ("revoke", world.city_admin.id)]
    with pytest.raises(DomainError):
        services.change_status(db, world.city_admin, cert, "reinstate", None, "", TODAY)


def test_expiry_and_tier_in_force(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    uid = world.trainee.id
    assert services.has_tier_in_force(db, uid, Tier.basic, TODAY)
    assert not services.has_tier_in_force(db, uid, Tier.advanced, TODAY)
    assert not services.has_tier_in_force(db, uid, Tier.basic, TODAY - dt.timedelta(days=1))
    later = cert.valid_until + dt.timedelta(days=1)
    assert not services.has_tier_in_force(db, uid, Tier.basic, later)
    assert services.effective_status(cert, later) == CertificateStatus.expired  # shown before the job runs
    assert services.expire_due(db, TODAY) == 0
    assert services.expire_due(db, later) == 1 and cert.status == CertificateStatus.expired
    assert services.expire_due(db, later) == 0
    cert.status = CertificateStatus.valid
    services.change_status(db, world.city_admin, cert, "revoke", "false_information", "", TODAY)
    assert not services.has_tier_in_force(db, uid, Tier.basic, TODAY)


def test_rotation_keeps_old_certificates_verifying(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    old = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    keys.create_key(cert_cfg.key_dir, TODAY + dt.timedelta(days=1))
    t2 = factories.make_trainee(db, "trainee2", world.ent_qd, real_name="李强")
    new = services.issue(db, world.staff_nt, enrol(db, cw.cls, t2), cert_cfg, TODAY + dt.timedelta(days=1))
    assert new.key_id != old.key_id
    doc = keys.public_document(cert_cfg.key_dir)
    assert [k["valid_until"] for k in doc["keys"]] == [(TODAY + dt.timedelta(days=1)).isoformat(), None]
    assert services.signature_matches(old, old.signed_part, doc) and services.signature_matches(new, new.signed_part, doc)
    assert not services.signature_matches(old, new.signed_part, doc)  # a genuine signature of another certificate


def test_province_settings_choose_issuer_and_pattern(db, world, cw, cert_cfg, completion_rule):
    completion_rule("test_ok")
    with pytest.raises(ValidationFailed):
        services.save_settings(db, world.province_admin, world.jiangsu, "{region_code}-{tier_code}-{year}-{serial:05d}",
                               {"basic": "institution"})
    with pytest.raises(Forbidden):
        services.save_settings(db, world.city_admin, world.jiangsu, "JS{issuer_code}-{year}{serial:04d}", {})
    with pytest.raises(ValidationFailed):
        services.save_settings(db, world.province_admin, world.jiangsu, "{bogus}-{serial}", {})
    services.save_settings(db, world.province_admin, world.jiangsu, "{region_code}-{issuer_code}-{tier_code}{year}-{serial:04d}",
                           {"basic": "institution"})
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert cert.number == f"320600-{world.inst_nt.id:04d}-B2026-0001"
    assert cert.snapshot["issuer"] == "南通培训中心" and cert.snapshot["bureau"] == "南通市市场监督管理局"


def test_senior_tier_names_the_province_bureau(db, world, cert_cfg, completion_rule):
    completion_rule("test_ok")
    prog = make_programme(db, world.fujian, Tier.senior)
    cls = make_class(db, world.inst_fj, prog, region=world.fuzhou)
    cert = services.issue(db, world.staff_fj, enrol(db, cls, world.trainee_fz), cert_cfg, TODAY)
    assert cert.number == "350000-S-2026-00001" and cert.snapshot["bureau"] == "福建省市场监督管理局"
