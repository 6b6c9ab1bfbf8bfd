"""Issue 14, sanctions: one model for warning, suspension and disqualification (seed 002 五(三)「建立警示和退出机制」,
seed 001 第六条), each with reason, basis, evidence, the acting bureau and dates; disqualification revokes the
certificates and ends the appointments; the public verify page and its JSON show the pool standing beside the
certificate's status, with the history; lifting is recorded."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from certificates import services as cert_services
from certificates.models import CertificateStatus
from lms.auth import services as auth_services
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from talent.models import Appointment, Cause, PoolStatus, RegistrationStatus, Sanction, TalentEntry, TalentEvent
from talent.services import sanctions
from tests.cert_factories import cert_cfg, completion_rules, cw  # noqa: F401
from tests.conftest import TODAY


def bearer(db, user) -> dict:
    _tok, clear = auth_services.create_token(db, user, "test")
    db.commit()
    return {"Authorization": f"Bearer {clear}"}


def _issued(db, world, cw, cert_cfg):
    with completion_rules(ok=True):
        cert = cert_services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    return cert, db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))


def test_policy_warning_needs_reason_and_evidence_and_shows_to_verifiers(db, world, cw, cert_cfg):
    cert, entry = _issued(db, world, cw, cert_cfg)
    with pytest.raises(ValidationFailed) as exc:
        sanctions.impose(db, world.county_admin, entry, kind="warning", reason="", basis="", evidence="", today=TODAY)
    assert set(exc.value.errors) >= {"reason", "evidence"}
    assert db.scalar(select(Sanction.id)) is None
    with pytest.raises(Forbidden):
        sanctions.impose(db, world.trainee, entry, kind="warning", reason="concealed", basis="", evidence="群众举报属实",
                         today=TODAY)
    s = sanctions.impose(db, world.county_admin, entry, kind="warning", reason="concealed", basis="",
                         evidence="2026 年 10 月抽检不合格未上报", today=TODAY)
    assert s.basis.startswith("崇质强办文〔2022〕3号") and s.bureau_region_id == world.qidong.id
    assert entry.status == PoolStatus.warning and entry.status_cause == Cause.sanction
    view = cert_services.public_view(db, cert, TODAY)
    assert view["status"] == "valid"  # the certificate stays in force; the standing says the rest
    assert view["pool"]["status"] == "warning" and view["pool"]["since"] == TODAY.isoformat()
    assert "知情不报" in view["pool"]["reason"] and "抽检" not in str(view["pool"])  # never the evidence
    assert [h["kind"] for h in view["pool"]["history"]] == ["warning"]


def test_policy_lifting_a_warning_is_recorded(db, world, cw, cert_cfg):
    cert, entry = _issued(db, world, cw, cert_cfg)
    warn = sanctions.impose(db, world.county_admin, entry, kind="warning", reason="delayed", basis="",
                            evidence="隐患拖延两个月才报告", today=TODAY)
    susp = sanctions.impose(db, world.city_admin, entry, kind="suspension", reason="false_report", basis="",
                            evidence="年度报告数据与现场核查不符", today=TODAY)
    assert entry.status == PoolStatus.suspended  # the most severe open sanction
    with pytest.raises(ValidationFailed):
        sanctions.lift(db, world.city_admin, susp, " ", TODAY)
    later = TODAY + dt.timedelta(days=30)
    sanctions.lift(db, world.city_admin, susp, "整改完成", later)
    assert entry.status == PoolStatus.warning
    with pytest.raises(Conflict):
        sanctions.lift(db, world.city_admin, susp, "再次解除", later)
    sanctions.lift(db, world.county_admin, warn, "复查合格", later)
    assert entry.status == PoolStatus.active and entry.status_cause == Cause.restored
    assert warn.ended_on == later and warn.lift_reason == "复查合格" and warn.lifted_by_id == world.county_admin.id
    causes = [e.cause for e in db.scalars(select(TalentEvent).where(TalentEvent.entry_id == entry.id).order_by(TalentEvent.id))]
    assert causes[-1] == Cause.restored and causes.count(Cause.sanction) == 3
    history = cert_services.public_view(db, cert, later)["pool"]["history"]
    assert {(h["kind"], h["until"]) for h in history} == {("warning", later.isoformat()), ("suspension", later.isoformat())}


def test_policy_disqualification_revokes_ends_appointments_and_shows_on_verify(db, world, cw, cert_cfg, client):
    cert, entry = _issued(db, world, cw, cert_cfg)
    appt = Appointment(user_id=world.trainee.id, enterprise_id=world.ent_qd.id, appointed_on=TODAY - dt.timedelta(days=60),
                       enterprise_head="张总", enterprise_head_phone="13800000000", cv="-", opinion="-",
                       opinion_date=TODAY, letter_path="x", letter_name="x.pdf", letter_mime="application/pdf",
                       status=RegistrationStatus.accepted, submitted_on=TODAY)
    db.add(appt)
    db.flush()
    with pytest.raises(ValidationFailed):  # the triggers of seed 002 warn; they do not disqualify
        sanctions.impose(db, world.city_admin, entry, kind="disqualification", reason="concealed", basis="",
                         evidence="多次知情不报", today=TODAY)
    with pytest.raises(Forbidden):  # a county may warn, not revoke
        sanctions.impose(db, world.county_admin, entry, kind="disqualification", reason="improper_gain", basis="",
                         evidence="收受供应商财物", today=TODAY)
    sanctions.impose(db, world.city_admin, entry, kind="disqualification", reason="improper_gain", basis="",
                     evidence="收受供应商财物，已查实", today=TODAY)
    assert cert.status == CertificateStatus.revoked
    assert appt.ended_on == TODAY
    assert entry.status == PoolStatus.exited and entry.status_cause == Cause.disqualification
    with pytest.raises(Conflict):
        sanctions.impose(db, world.city_admin, entry, kind="warning", reason="delayed", basis="", evidence="再次处理",
                         today=TODAY)
    dq = db.scalar(select(Sanction).where(Sanction.entry_id == entry.id))
    with pytest.raises(DomainError):
        sanctions.lift(db, world.city_admin, dq, "误判", TODAY)
    db.commit()
    body = client.get(f"/api/v1/verify/{cert.cid}").get_json()
    assert body["status"] == "revoked" and body["pool"]["status"] == "exited"
    assert body["pool"]["history"][0]["kind"] == "disqualification" and "第六条(二)" in body["pool"]["history"][0]["basis"]
    page = client.get(f"/v/{cert.cid}").get_data(as_text=True)
    assert 'id="pool-status" data-status="exited"' in page and 'id="pool-history"' in page


def test_policy_lapsed_standing_shows_to_verifiers(db, world, cw, cert_cfg, client):
    cert, entry = _issued(db, world, cw, cert_cfg)
    entry.status, entry.status_cause, entry.status_since = PoolStatus.lapsed, Cause.missed_credits, TODAY
    db.commit()
    body = client.get(f"/api/v1/verify/{cert.cid}").get_json()
    assert body["status"] == "valid" and body["pool"]["status"] == "lapsed" and body["pool"]["reason"]


def test_policy_sanction_api_is_the_page_twin(db, world, cw, cert_cfg, client):
    _cert, entry = _issued(db, world, cw, cert_cfg)
    db.commit()
    headers = bearer(db, world.city_admin)
    r = client.post(f"/api/v1/talent/entries/{entry.id}/sanctions", json={"kind": "warning", "reason": "x", "evidence": ""},
                    headers=headers)
    assert r.status_code == 422 and "reason" in r.get_json()["fields"]
    r = client.post(f"/api/v1/talent/entries/{entry.id}/sanctions",
                    json={"kind": "warning", "reason": "concealed", "evidence": "抽检不合格未上报"}, headers=headers)
    assert r.status_code == 200 and r.get_json()["kind"] == "warning"
    sid = r.get_json()["id"]
    r = client.post(f"/api/v1/talent/sanctions/{sid}/lift", json={"reason": "复查合格"}, headers=headers)
    assert r.status_code == 200 and r.get_json()["ended_on"]
    rugao = bearer(db, world.rugao_admin)
    assert client.get(f"/api/v1/talent/entries/{entry.id}/sanctions", headers=rugao).status_code == 404


def test_policy_demo_shows_every_standing_with_a_verify_link(app, db, client):
    from lms import demo
    from talent import demo as talent_demo

    with app.app_context():
        demo.seed(db, TODAY)
        db.commit()
        links = talent_demo.standing_links(db, "https://cqo.example.gov.cn")
        assert [u for u, *_rest in links] == ["trainee", "trainee02", "trainee03", "trainee01"]
        seen = {}
        for username, _name, _label, link in links:
            cid = link.rsplit("/v/", 1)[1]
            body = client.get(f"/api/v1/verify/{cid}").get_json()
            seen[username] = (body["status"], body["pool"]["status"])
        assert seen == {"trainee": ("valid", "active"), "trainee02": ("valid", "warning"),
                        "trainee03": ("valid", "lapsed"), "trainee01": ("revoked", "exited")}
        assert demo.seed(db, TODAY)["standings"] == 0  # idempotent
        out = app.test_cli_runner().invoke(args=["talent-standings"])
        assert out.exit_code == 0 and out.output.count("/v/") == 4
