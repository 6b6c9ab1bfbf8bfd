"""The pool, CE and notices over HTTP: public notice search, anonymous refusal, scoping, uploads, export."""
import datetime as dt
import io
import re

from openpyxl import load_workbook

from credits import services as credits
from talent.services import entries, notices
from tests.conftest import post_form
from tests.unit.test_talent_lifecycle import certify

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF"


def _notice(db, world):
    certify(db, world)
    n = notices.publish_notice(db, world.city_admin, title="南通市人才库公示", objection_days=7, contact="", kind="certified",
                                today=dt.date(2026, 1, 1))
    db.flush()
    return n


def test_public_notice_search(client, db, world):
    n = _notice(db, world)
    full_id = world.trainee.trainee_profile[0].id_number
    html = client.get("/talent/public/notices").get_data(as_text=True)
    assert f"/talent/public/notices/{n.id}" in html
    page = client.get(f"/talent/public/notices/{n.id}")
    assert page.status_code == 200 and 'id="notice-results"' not in page.get_data(as_text=True)  # no dump
    hit = client.get(f"/talent/public/notices/{n.id}?name=王芳").get_data(as_text=True)
    masked = re.findall(r'class="r-id">([^<]+)<', hit)
    assert masked and "*" in masked[0] and full_id not in hit
    phone = world.trainee.trainee_profile[0].phone
    assert phone not in hit and "人民路" not in hit
    miss = client.get(f"/talent/public/notices/{n.id}?name=王").get_data(as_text=True)
    assert 'id="no-results"' in miss
    by_cert = client.get(f"/talent/public/notices/{n.id}?certificate=JS-B-2026-800001").get_data(as_text=True)
    assert "王芳" in by_cert
    assert client.get("/talent/public/notices/99999").status_code == 404


def test_public_search_is_rate_limited(client, db, world):
    n = _notice(db, world)
    codes = [client.get(f"/talent/public/notices/{n.id}?name=张{i}").status_code for i in range(35)]
    assert 429 in codes


def test_pool_pages_scoped_and_exported(client, db, world, login_as):
    e = certify(db, world)
    login_as("fj_admin")
    assert client.get(f"/talent/entries/{e.id}").status_code == 404
    html = client.get("/talent/pool").get_data(as_text=True)
    assert "王芳" not in html
    client.post("/auth/logout", data={})
    client.delete_cookie("session")
    login_as("nt_admin")
    html = client.get("/talent/pool?status=active").get_data(as_text=True)
    assert "王芳" in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and " style=" not in html
    resp = client.get("/talent/pool/export")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws.cell(2, 1).value == "王芳" and "*" in ws.cell(2, 2).value
    html = client.get(f"/talent/entries/{e.id}").get_data(as_text=True)
    assert 'data-status="active"' in html
    resp = post_form(client, f"/talent/entries/{e.id}/status", {"status": "warning", "reason": "待核查"},
                     token_from=f"/talent/entries/{e.id}")
    assert resp.status_code == 302
    assert 'data-status="warning"' in client.get(f"/talent/entries/{e.id}").get_data(as_text=True)


def test_trainee_sees_own_entry_and_chart(client, db, world, login_as):
    e = certify(db, world)
    credits.award_system_credit(db, user_id=world.trainee.id, year=dt.date.today().year, hours=30,
                                subject_category="professional", source_ref="w1", title="质量文化建设")
    login_as("wangfang")
    assert client.get("/talent/pool").status_code == 403
    assert 'data-status="active"' in client.get("/talent/me").get_data(as_text=True)
    html = client.get("/credits/").get_data(as_text=True)
    assert '<svg' in html and 'id="ce-chart"' in html and " style=" not in html
    other = entries.on_certificate_issued(db, user_id=world.trainee_fz.id, certificate_id=5, number="X", tier="basic",
                                           issued_on=dt.date(2026, 1, 1), valid_until=None, region_id=world.fuzhou.id,
                                           enterprise_id=world.ent_fz.id)
    db.flush()
    assert client.get(f"/talent/entries/{other.id}").status_code == 404


def test_claim_upload_over_http(client, db, world, login_as):
    login_as("wangfang")
    data = {"title": "质量论坛", "organiser": "省质协", "institution_id": "0", "activity_date": "2026-10-01",
            "hours": "8", "subject_category": "professional"}
    bad = post_form(client, "/credits/claims/new", {**data, "evidence": (io.BytesIO(b"MZ evil"), "a.pdf")},
                    content_type="multipart/form-data")
    assert bad.status_code == 200 and 'data-field="evidence"' in bad.get_data(as_text=True)
    absurd = post_form(client, "/credits/claims/new", {**data, "hours": "999", "evidence": (io.BytesIO(PDF), "a.pdf")},
                       content_type="multipart/form-data")
    assert 'data-field="hours"' in absurd.get_data(as_text=True)
    ok = post_form(client, "/credits/claims/new", {**data, "evidence": (io.BytesIO(PDF), "a.pdf")},
                   content_type="multipart/form-data")
    assert ok.status_code == 302


def test_appointment_registration_over_http(client, db, world, login_as):
    certify(db, world)
    login_as("wangfang")
    data = {"kind": "initial", "appointed_on": "2026-03-01", "enterprise_head": "张总", "enterprise_head_phone": "0513-8000",
            "quality_head": "", "quality_head_phone": "", "cv": "2010 年起从事质量工作", "awards": "",
            "opinion": "我单位任命王芳同志为企业首席质量官。", "opinion_date": "2026-03-01"}
    bad = post_form(client, "/talent/appointments/new", {**data, "letter": (io.BytesIO(b"<html>"), "x.pdf")},
                    content_type="multipart/form-data")
    assert 'data-field="letter"' in bad.get_data(as_text=True)
    ok = post_form(client, "/talent/appointments/new", {**data, "letter": (io.BytesIO(PDF), "任命书.pdf")},
                   content_type="multipart/form-data")
    assert ok.status_code == 302


def test_demo_seed_is_idempotent(db, app):
    from lms import demo

    with app.app_context():
        first = demo.seed(db, dt.date(2026, 11, 22))
        second = demo.seed(db, dt.date(2026, 11, 22))
    assert first["notices"] == 1 and second["notices"] == 0 and second.get("certificates", 0) == 0
    from sqlalchemy import func, select

    from lms.auth.models import User
    from talent.models import PoolStatus, TalentEntry

    # The pool is built from the demo's real certificates: certified people are in it, and the one whose
    # certificate was revoked for a quality fault has exited.
    entries = {u: e for u, e in db.execute(select(User.username, TalentEntry).join(TalentEntry, TalentEntry.user_id == User.id))}
    assert {"trainee", "trainee01", "trainee02", "trainee03"} <= set(entries)
    assert entries["trainee"].status != PoolStatus.exited and entries["trainee01"].status == PoolStatus.exited
    assert db.scalar(select(func.count()).select_from(TalentEntry)) == len(entries)


def _bearer(db, user):
    from lms.auth.services import create_token

    _tok, clear = create_token(db, user, "t")
    db.flush()
    return {"Authorization": f"Bearer {clear}"}


def test_api_pool_and_progress(client, db, world):
    e = certify(db, world)
    nt = client.get("/api/v1/talent/entries", headers=_bearer(db, world.city_admin)).get_json()
    assert nt["total"] == 1 and nt["items"][0]["status"] == "active" and "*" in nt["items"][0]["id_number_masked"]
    fj = _bearer(db, world.fujian_admin)
    assert client.get("/api/v1/talent/entries", headers=fj).get_json()["total"] == 0
    assert client.get(f"/api/v1/talent/entries/{e.id}", headers=fj).status_code == 404
    me = _bearer(db, world.trainee)
    assert client.get("/api/v1/talent/entries", headers=me).status_code == 403
    assert client.get(f"/api/v1/talent/entries/{e.id}", headers=me).get_json()["id"] == e.id
    p = client.get("/api/v1/credits/progress?year=2026", headers=me).get_json()
    assert p["required"] == 90 and p["compliant"] is False
    assert "/api/v1/talent/entries" in client.get("/api/v1/openapi.json").get_json()["paths"]
