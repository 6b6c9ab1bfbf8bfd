"""Issue 14, appointments: the enterprise's account registers its CQO on seed 002's annex form (and the CQO may
file for themself); registering checks a certificate in force (of the province's tier), no disqualification and no
appointment in force elsewhere; the county bureau of the enterprise accepts or returns it; a new appointment ends the
previous one on its start date; a change registered after the deadline (seed 002 四(三)「应当在聘用后一个月内」) is
late whichever way it was filed; the CQO confirms an appointment in their name. Page and API share the services."""
from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from lms.auth import services as auth_services
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from talent.models import Appointment, Cause, PoolStatus, RegistrationStatus
from talent.services import appointments, sanctions
from tests.conftest import csrf_token, login, post_form
from lms.demo import credit_code
from tests.factories import id_number, make_trainee
from tests.unit.test_talent_lifecycle import certify

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def enterprise_account(db, world, enterprise=None, username="qd_jixie", bureau=None):
    return auth_services.create_user(db, username=username, password="Qiye2026pass", display_name="启东机械",
                                     role=Role.enterprise, enterprise=enterprise or world.ent_qd,
                                     created_by=bureau or world.county_admin)


def form(appointed_on, id_no="", kind="initial"):
    return appointments.AppointmentData(
        kind=kind, appointed_on=appointed_on, enterprise_head="张总", enterprise_head_phone="13800000000",
        quality_head="", quality_head_phone="", cv="2010 年起从事质量管理工作。", awards="",
        opinion="我单位任命该同志为企业首席质量官。", opinion_date=appointed_on, id_number=id_no)


def file(db, app, actor, data, today):
    return appointments.submit_appointment(db, actor, data, PDF, "任命书.pdf", app.config["UPLOAD_DIR"], today)


def idn(user):
    return user.trainee_profile[0].id_number


def count(db):
    return db.scalar(select(func.count()).select_from(Appointment))


def test_policy_enterprise_account_is_created_by_its_bureau(db, world):
    with pytest.raises(Forbidden):  # Rugao's bureau cannot create an account for a Qidong enterprise
        auth_services.create_user(db, username="x_ent", password="Qiye2026pass", display_name="x", role=Role.enterprise,
                                  enterprise=world.ent_qd, created_by=world.rugao_admin)
    with pytest.raises(ValidationFailed):
        auth_services.create_user(db, username="y_ent", password="Qiye2026pass", display_name="y", role=Role.enterprise,
                                  created_by=world.county_admin)
    acct = enterprise_account(db, world)
    assert acct.enterprise_id == world.ent_qd.id and acct.region_id == world.qidong.id


def test_policy_registration_refuses_the_ineligible_and_stores_nothing(db, world, app):
    acct = enterprise_account(db, world)
    today = dt.date(2026, 6, 1)
    with pytest.raises(ValidationFailed) as exc:  # no certificate at all
        file(db, app, acct, form(dt.date(2026, 5, 20), idn(world.trainee)), today)
    assert "有效" in exc.value.errors["id_number"] and count(db) == 0
    with pytest.raises(ValidationFailed) as exc:  # nobody with that ID number
        file(db, app, acct, form(dt.date(2026, 5, 20), id_number("320600", dt.date(1990, 1, 1), 7)), today)
    assert "id_number" in exc.value.errors and count(db) == 0
    entry = certify(db, world, issued=dt.date(2026, 3, 1))
    with pytest.raises(ValidationFailed):  # appointed before the certificate was issued
        file(db, app, acct, form(dt.date(2026, 2, 1), idn(world.trainee)), today)
    # the province requires the advanced tier: a basic certificate no longer suffices
    appointments.set_appointment_rule(db, world.province_admin, world.jiangsu.id, "advanced", "本省自定")
    with pytest.raises(ValidationFailed) as exc:
        file(db, app, acct, form(dt.date(2026, 5, 20), idn(world.trainee)), today)
    assert "本省要求" in exc.value.errors["id_number"] and count(db) == 0
    appointments.set_appointment_rule(db, world.province_admin, world.jiangsu.id, "", "")
    with pytest.raises(Forbidden):
        appointments.set_appointment_rule(db, world.city_admin, world.jiangsu.id, "senior", "本省自定")
    # disqualified (seed 001 第六条): refused
    sanctions.impose(db, world.city_admin, entry, kind="disqualification", reason="abuse_of_power", basis="",
                     evidence="干预企业经营，已查实", today=today)
    with pytest.raises(ValidationFailed) as exc:
        file(db, app, acct, form(dt.date(2026, 5, 20), idn(world.trainee)), today)
    assert "取消" in exc.value.errors["id_number"] and count(db) == 0


def test_policy_registered_accepted_confirmed_and_replaced(db, world, app):
    acct = enterprise_account(db, world)
    certify(db, world, issued=dt.date(2026, 1, 10))
    first = file(db, app, acct, form(dt.date(2026, 2, 1), idn(world.trainee)), dt.date(2026, 2, 10))
    assert first.kind == "initial" and not first.late and first.filed_by_id == acct.id and first.confirmed_at is None
    with pytest.raises(Forbidden):  # another county's bureau
        appointments.review_appointment(db, world.rugao_admin, first, accept=True, reason="")
    with pytest.raises(Forbidden):
        appointments.confirm_appointment(db, world.trainee_fz, first)
    appointments.confirm_appointment(db, world.trainee, first)
    appointments.review_appointment(db, world.county_admin, first, accept=True, reason="")
    assert first.confirmed_at is not None and first.status == RegistrationStatus.accepted and first.ended_on is None

    # 李强 replaces 王芳 on 2026-09-01; the enterprise files on 2026-10-15 and picks "initial": it is a change,
    # filed more than the deadline after the appointment, so it is late.
    li = make_trainee(db, "liqiang", world.ent_qd, real_name="李强", id_number=id_number("320600", dt.date(1985, 5, 5), 21))
    li_entry = certify(db, world, user=li, cert_id=800002, issued=dt.date(2026, 6, 1))
    second = file(db, app, acct, form(dt.date(2026, 9, 1), idn(li), kind="initial"), dt.date(2026, 10, 15))
    assert second.kind == "change" and second.late
    assert li_entry.status == PoolStatus.warning and li_entry.status_cause == Cause.overdue_registration
    assert first.ended_on is None  # only the acceptance ends the previous appointment
    appointments.review_appointment(db, world.county_admin, second, accept=True, reason="")
    assert first.ended_on == dt.date(2026, 9, 1) and second.ended_on is None
    # 王芳 is no longer in force anywhere: Rugao's enterprise may register her; 李强 is in force at 启东机械
    rg = enterprise_account(db, world, world.ent_rg, username="rg_food", bureau=world.rugao_admin)
    with pytest.raises(ValidationFailed) as exc:
        file(db, app, rg, form(dt.date(2026, 10, 20), idn(li)), dt.date(2026, 10, 20))
    assert "启东机械" in exc.value.errors["id_number"]
    third = file(db, app, rg, form(dt.date(2026, 10, 20), idn(world.trainee)), dt.date(2026, 10, 25))
    assert third.kind == "initial" and not third.late
    with pytest.raises(Forbidden):  # Qidong's bureau cannot accept a Rugao registration
        appointments.review_appointment(db, world.county_admin, third, accept=True, reason="")


def test_policy_on_time_change_is_not_late_and_end_is_recorded(db, world, app):
    acct = enterprise_account(db, world)
    certify(db, world, issued=dt.date(2026, 1, 10))
    appt = file(db, app, acct, form(dt.date(2026, 3, 1), idn(world.trainee), kind="change"), dt.date(2026, 3, 20))
    assert appt.kind == "change" and not appt.late
    with pytest.raises(Conflict):
        appointments.end_appointment(db, acct, appt, dt.date(2026, 4, 1), dt.date(2026, 5, 1))  # not yet accepted
    appointments.review_appointment(db, world.county_admin, appt, accept=True, reason="")
    with pytest.raises(Conflict):
        appointments.review_appointment(db, world.county_admin, appt, accept=False, reason="重复")
    with pytest.raises(ValidationFailed):
        appointments.end_appointment(db, acct, appt, dt.date(2026, 2, 1), dt.date(2026, 5, 1))  # before it began
    with pytest.raises(Forbidden):
        appointments.end_appointment(db, world.trainee, appt, dt.date(2026, 4, 1), dt.date(2026, 5, 1))
    appointments.end_appointment(db, acct, appt, dt.date(2026, 4, 30), dt.date(2026, 5, 1))
    assert appt.ended_on == dt.date(2026, 4, 30)


def test_policy_return_needs_a_reason_and_review_rechecks(db, world, app):
    acct = enterprise_account(db, world)
    entry = certify(db, world, issued=dt.date(2026, 1, 10))
    appt = file(db, app, acct, form(dt.date(2026, 3, 1), idn(world.trainee)), dt.date(2026, 3, 2))
    with pytest.raises(ValidationFailed):
        appointments.review_appointment(db, world.county_admin, appt, accept=False, reason=" ")
    sanctions.impose(db, world.city_admin, entry, kind="disqualification", reason="leaking_secrets", basis="",
                     evidence="泄露客户资料，已查实", today=dt.date(2026, 3, 3))
    assert appt.status == RegistrationStatus.submitted
    with pytest.raises(DomainError):
        appointments.review_appointment(db, world.county_admin, appt, accept=True, reason="")


def test_policy_appointment_api_is_the_page_twin(db, world, app, client):
    acct = enterprise_account(db, world)
    certify(db, world, issued=dt.date(2026, 1, 10))
    db.commit()
    tok = lambda u: {"Authorization": "Bearer " + auth_services.create_token(db, u, "t")[1]}  # noqa: E731
    ent_h, bureau_h, cqo_h = tok(acct), tok(world.county_admin), tok(world.trainee)
    db.commit()
    body = {"appointed_on": "2026-03-01", "enterprise_head": "张总", "enterprise_head_phone": "13800000000",
            "cv": "2010 年起从事质量管理工作。", "opinion": "任命。", "opinion_date": "2026-03-01",
            "letter_base64": base64.b64encode(PDF).decode(), "letter_name": "任命书.pdf", "id_number": "110101199001010000"}
    r = client.post("/api/v1/talent/appointments", json=body, headers=ent_h)
    assert r.status_code == 422 and "id_number" in r.get_json()["fields"]
    r = client.post("/api/v1/talent/appointments", json={**body, "letter_base64": "%%%"}, headers=ent_h)
    assert r.status_code == 422
    r = client.post("/api/v1/talent/appointments", json={**body, "id_number": idn(world.trainee)}, headers=ent_h)
    assert r.status_code == 200, r.get_json()
    aid = r.get_json()["id"]
    assert client.post(f"/api/v1/talent/appointments/{aid}/review", json={"decision": "accept"}, headers=ent_h).status_code == 403
    r = client.post(f"/api/v1/talent/appointments/{aid}/confirm", headers=cqo_h)
    assert r.status_code == 200 and r.get_json()["confirmed"]
    r = client.post(f"/api/v1/talent/appointments/{aid}/review", json={"decision": "accept"}, headers=bureau_h)
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    listed = client.get("/api/v1/talent/appointments", headers=ent_h).get_json()
    assert [a["id"] for a in listed["items"]] == [aid]
    r = client.post(f"/api/v1/talent/appointments/{aid}/end", json={"ended_on": "2026-01-01"}, headers=ent_h)
    assert r.status_code == 422


def test_policy_bureau_creates_the_account_and_the_enterprise_files_on_the_page(db, world, app, client, login_as):
    certify(db, world, issued=dt.date(2026, 1, 10))
    db.commit()
    login_as("qd_admin")
    page = client.get("/talent/enterprise-accounts").get_data(as_text=True)
    assert "启东机械有限公司" in page and "如皋食品有限公司" not in page  # another county's enterprise is not offered
    bad = post_form(client, "/talent/enterprise-accounts", {"enterprise_id": world.ent_rg.id, "username": "rg_x",
                                                            "display_name": "x", "password": "Qiye2026pass"})
    assert bad.status_code == 200 and db.scalar(select(User.id).where(User.username == "rg_x")) is None  # not offered
    ok = post_form(client, "/talent/enterprise-accounts", {"enterprise_id": world.ent_qd.id, "username": "qd_jixie",
                                                           "display_name": "启东机械", "password": "Qiye2026pass"})
    assert ok.status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/home")})
    login(client, "qd_jixie", "Qiye2026pass")
    form_page = client.get("/talent/appointments/new").get_data(as_text=True)
    assert 'id="id_number"' in form_page and "启东机械有限公司" in form_page
    data = {"id_number": idn(world.trainee), "kind": "initial", "appointed_on": "2026-03-01", "enterprise_head": "张总",
            "enterprise_head_phone": "13800000000", "cv": "2010 年起从事质量管理工作。", "opinion": "任命。",
            "opinion_date": "2026-03-01", "letter": (io.BytesIO(PDF), "任命书.pdf")}
    r = post_form(client, "/talent/appointments/new", {**data, "id_number": "110101199001010000"},
                  content_type="multipart/form-data")
    assert r.status_code == 200 and count(db) == 0
    data["letter"] = (io.BytesIO(PDF), "任命书.pdf")
    r = post_form(client, "/talent/appointments/new", data, content_type="multipart/form-data")
    assert r.status_code == 302 and count(db) == 1
    listed = client.get("/talent/appointments?status=submitted").get_data(as_text=True)
    assert "王芳" in listed or "wangfang" in listed


def test_policy_enterprise_self_registers_and_its_county_approves(db, world, client, login_as):
    from talent.services import accounts

    with pytest.raises(ValidationFailed):  # not a credit code
        accounts.register_enterprise(db, credit_code="123", username="self_ent", display_name="x", password="Qiye2026pass")
    with pytest.raises(ValidationFailed) as exc:  # a valid code no bureau registered
        accounts.register_enterprise(db, credit_code=credit_code("320681MA1W5XGA0"), username="self_ent", display_name="x",
                                     password="Qiye2026pass")
    assert "credit_code" in exc.value.errors
    user = accounts.register_enterprise(db, credit_code=world.ent_qd.credit_code.lower(), username="self_ent",
                                        display_name="启东机械", password="Qiye2026pass")
    assert not user.is_enabled and accounts.is_pending(user) and user.enterprise_id == world.ent_qd.id
    with pytest.raises(ValidationFailed):  # one account per enterprise
        accounts.register_enterprise(db, credit_code=world.ent_qd.credit_code, username="self_ent2", display_name="x",
                                     password="Qiye2026pass")
    with pytest.raises(Forbidden):
        accounts.review_enterprise_account(db, world.rugao_admin, user, approve=True)
    db.commit()
    login_as("qd_admin")
    page = client.get("/talent/enterprise-accounts").get_data(as_text=True)
    assert f'id="approve-{user.id}"' in page
    r = post_form(client, f"/talent/enterprise-accounts/{user.id}/review", {"decision": "approve"},
                  token_from="/talent/enterprise-accounts")
    assert r.status_code == 302
    db.expire_all()
    assert db.get(User, user.id).is_enabled and not accounts.is_pending(db.get(User, user.id))
