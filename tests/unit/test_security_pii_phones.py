"""Issue 18 — the remaining personal data: the appointment's head and quality-head phones and the institution's
contact phone are stored encrypted and shown masked on every page and in the API."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from lms.orgs.models import Institution
from talent.services import appointments
from tests.unit.test_talent_lifecycle import certify
from tests.conftest import csrf_token, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
HEAD, QUALITY, CONTACT = "13912345678", "13887654321", "13755501234"


def _raw(db, table: str, column: str, row_id: int):
    return db.execute(text(f"SELECT {column} FROM {table} WHERE id = :i"), {"i": row_id}).scalar_one()


def test_security_pii_appointment_phones_encrypted_and_masked(db, world, app):
    certify(db, world)  # an appointee holds a certificate in force (issue 14)
    data = appointments.AppointmentData(
        kind="initial", appointed_on=dt.date(2026, 9, 1), enterprise_head="张总", enterprise_head_phone=HEAD,
        quality_head="李工", quality_head_phone=QUALITY, cv="2010 年起从事质量管理工作。", awards="",
        opinion="我单位任命王芳同志为企业首席质量官。", opinion_date=dt.date(2026, 9, 1))
    appt = appointments.submit_appointment(db, world.trainee, data, PDF, "任命书.pdf", app.config["UPLOAD_DIR"],
                                           dt.date(2026, 9, 10))
    db.flush()
    for column, phone in (("enterprise_head_phone", HEAD), ("quality_head_phone", QUALITY)):
        stored = bytes(_raw(db, "appointments", column, appt.id))
        assert phone.encode() not in stored and stored.startswith(b"gAAAA")  # a Fernet token
    db.expire_all()
    assert db.get(type(appt), appt.id).enterprise_head_phone == HEAD
    db.commit()
    for who in ("wangfang", "nt_admin"):
        client = app.test_client()
        login(client, who)
        page = client.get(f"/talent/appointments/{appt.id}").get_data(as_text=True)
        assert HEAD not in page and QUALITY not in page, who
        assert "139****5678" in page and "138****4321" in page, who


def test_security_pii_institution_contact_phone_encrypted_and_masked(db, world, client):
    inst = world.inst_nt
    inst.contact_phone = CONTACT
    db.flush()
    stored = bytes(_raw(db, "institutions", "contact_phone", inst.id))
    assert CONTACT.encode() not in stored
    db.commit()
    login(client, "js_admin")
    for url in (f"/manage/institutions/{inst.id}", f"/manage/institutions/{inst.id}/edit", "/manage/institutions"):
        page = client.get(url).get_data(as_text=True)
        assert CONTACT not in page, url
    assert "137****1234" in client.get(f"/manage/institutions/{inst.id}").get_data(as_text=True)
    # Saving the form with the masked phone untouched keeps the phone.
    form = client.get(f"/manage/institutions/{inst.id}/edit").get_data(as_text=True)
    assert 'value="137****1234"' in form
    resp = client.post(f"/manage/institutions/{inst.id}/edit", data={
        "csrf_token": csrf_token(client, f"/manage/institutions/{inst.id}/edit"), "name": inst.name,
        "credit_code": inst.credit_code, "region_id": inst.region_id, "contact_name": "培训部",
        "contact_phone": "137****1234", "address": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    db.expire_all()
    assert db.get(Institution, inst.id).contact_phone == CONTACT
