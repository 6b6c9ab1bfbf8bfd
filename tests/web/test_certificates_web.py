"""Certificate pages and API over HTTP: issuing with progress, downloads and their scoping, public
verification (page, JSON, holder check, rate limits), revocation and the published keys."""
from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile

import pytest
from PIL import Image
from sqlalchemy import select

from certificates import keys, rendering, services
from certificates.models import Certificate, VerificationLog
from lms.auth import services as auth_services
from lms.auth.models import AuditEvent, User
from tests import factories
from tests.cert_factories import completion_rule, completion_rules, cw, enrol  # noqa: F401
from tests.conftest import TODAY, login, post_form


@pytest.fixture
def cfg(app):
    keys.ensure_key(app.config["CERT_KEY_DIR"], TODAY)
    app.config["BACKGROUND_INLINE"] = True
    yield services.CertConfig.from_app(app)
    app.config["BACKGROUND_INLINE"] = False


@pytest.fixture
def cert(db, world, cw, cfg, completion_rule) -> Certificate:
    completion_rule("test_ok")
    c = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    db.commit()
    return c


def bearer(db, user) -> dict:
    _tok, clear = auth_services.create_token(db, user, "test")
    db.commit()
    return {"Authorization": f"Bearer {clear}"}


def test_staff_issue_a_class_and_watch_progress(db, world, cw, cfg, login_as, completion_rule):
    completion_rule("test_ok")
    t2 = factories.make_trainee(db, "trainee_b", world.ent_qd, real_name="李强")
    enrol(db, cw.cls, t2)
    db.commit()
    client = login_as("nt_staff")
    page = client.get(f"/certificates/classes/{cw.cls.id}")
    assert page.status_code == 200 and 'id="issue-form"' in page.get_data(as_text=True)
    assert 'data-rule="test_ok"' in page.get_data(as_text=True)
    resp = post_form(client, f"/certificates/classes/{cw.cls.id}/issue", {}, token_from=f"/certificates/classes/{cw.cls.id}",
                     headers={"Accept": "application/json"})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    progress = client.get(resp.get_json()["progress_url"]).get_json()
    assert (progress["status"], progress["total"], progress["issued"], progress["percent"]) == ("done", 2, 2, 100)
    # Running again issues nothing twice.
    resp = post_form(client, f"/certificates/classes/{cw.cls.id}/issue", {}, token_from=f"/certificates/classes/{cw.cls.id}",
                     headers={"Accept": "application/json"})
    assert client.get(resp.get_json()["progress_url"]).get_json()["skipped"] == 2
    assert len(db.scalars(select(Certificate)).all()) == 2
    z = client.get(f"/certificates/classes/{cw.cls.id}/certificates.zip")
    assert z.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(z.data)).namelist()
    assert sorted(names) == ["320600-B-2026-00001.pdf", "320600-B-2026-00002.pdf"]


def test_other_institution_cannot_see_or_issue_the_class(db, world, cw, cfg, login_as, completion_rule):
    completion_rule("test_ok")
    client = login_as("fj_staff")
    assert client.get(f"/certificates/classes/{cw.cls.id}").status_code == 404
    resp = post_form(client, f"/certificates/classes/{cw.cls.id}/issue", {}, token_from="/certificates/classes")
    assert resp.status_code == 404
    assert db.scalar(select(Certificate)) is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied", AuditEvent.actor_id == world.staff_fj.id,
                                              AuditEvent.object_type == "TrainingClass")) is not None


def test_trainee_downloads_own_certificate_only(app, db, world, cert, cfg, login_as):
    other = factories.make_trainee(db, "trainee_c", world.ent_qd, real_name="张静")
    db.commit()
    client = login_as("wangfang")
    listing = client.get("/certificates").get_data(as_text=True)
    assert cert.number in listing
    png = client.get(f"/certificates/{cert.id}/certificate.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert rendering.decode_qr_from_image(Image.open(io.BytesIO(png.data)))[0] == services.qr_url(cert, cfg)
    pdf = client.get(f"/certificates/{cert.id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    other_client = app.test_client()
    login(other_client, other.username)
    assert other_client.get(f"/certificates/{cert.id}/certificate.png").status_code == 404
    assert other_client.get(f"/certificates/{cert.id}").status_code == 404
    assert cert.number not in other_client.get("/certificates").get_data(as_text=True)


def test_public_page_shows_status_without_script_and_no_personal_data(client, db, cert):
    html = client.get(f"/v/{cert.cid}").get_data(as_text=True)
    assert 'data-status="valid"' in html and "有效" in html and "王*" in html
    assert "王芳" not in html and "南通培训中心" in html and "南通市市场监督管理局" in html
    prof_id = cert.holder_user_id
    from lms.people.models import TraineeProfile

    p = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == prof_id))
    assert p.id_number not in html and p.id_number[-4:] + "<" not in html and p.phone not in html
    assert "<script>" not in html and "style=" not in html
    log = db.scalars(select(VerificationLog)).all()
    assert [(v.channel, v.result) for v in log] == [("page", "valid")]


def test_unknown_or_truncated_id_gives_the_red_page_echoing_nothing(client):
    probe = "Zz9" + secrets.token_urlsafe(16)
    for cid in (probe, probe[:10], "<script>alert(1)</script>"):
        resp = client.get(f"/v/{cid}")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 404 and 'id="verify-failed"' in html and "无法验证" in html
        assert probe[:10] not in html and "alert(1)" not in html


def test_json_verification_and_signature(client, cert):
    ok = client.get(f"/api/v1/verify/{cert.cid}?sig={cert.signed_part}").get_json()
    assert ok["status"] == "valid" and ok["signature_valid"] is True and ok["holder_name"] == "王*"
    body, sig = cert.signed_part.split(".")
    # One letter changed at the front, where every bit counts (a last base64 letter may carry unused bits, and the
    # old "AA" ending sometimes decoded to the same bytes).
    tampered = ("A" if body[0] != "A" else "B") + body[1:] + "." + sig
    bad = client.get(f"/api/v1/verify/{cert.cid}", query_string={"sig": tampered}).get_json()
    assert bad["signature_valid"] is False
    assert "signature_valid" not in client.get(f"/api/v1/verify/{cert.cid}").get_json()
    unknown = client.get("/api/v1/verify/" + secrets.token_urlsafe(16))
    assert unknown.status_code == 404 and unknown.get_json() == {"status": "unknown"}


def test_thousand_random_ids_are_unknown_then_429(client):
    for i in range(1000):
        path = ("/v/" if i % 2 else "/api/v1/verify/") + secrets.token_urlsafe(16)
        assert client.get(path).status_code == 404, i
    assert client.get("/api/v1/verify/" + secrets.token_urlsafe(16)).status_code == 429
    assert client.get("/v/" + secrets.token_urlsafe(16)).status_code == 429


def test_holder_check_answers_only_match_or_not_and_is_limited(client, db, cert):
    from lms.people.models import TraineeProfile

    id_number = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == cert.holder_user_id)).id_number
    url = f"/v/{cert.cid}"
    resp = client.post(url, data={"id_number": id_number})
    html = resp.get_data(as_text=True)
    assert 'data-match="yes"' in html and id_number not in html
    html = client.post(url, data={"id_number": "320681198506150000"}).get_data(as_text=True)
    assert 'data-match="no"' in html and "320681198506150000" not in html
    codes = [client.post(url, data={"id_number": "110101199001011234"}).status_code for _ in range(25)]
    assert codes[-1] == 429
    assert db.scalar(select(VerificationLog).where(VerificationLog.channel == "holder_check",
                                                   VerificationLog.result == "match")) is not None


def test_bureau_revokes_and_verification_shows_it_at_once(client, db, world, cert, login_as):
    staff_headers = bearer(db, world.staff_nt)
    resp = client.post(f"/api/v1/certificates/{cert.number}/revoke", json={"reason": "x"}, headers=staff_headers)
    assert resp.status_code == 403 and "监管部门" in resp.get_json()["message"]
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.status_refused",
                                              AuditEvent.actor_id == world.staff_nt.id)) is not None
    county = client.post(f"/api/v1/certificates/{cert.number}/revoke", json={"reason": "quality_fault"},
                         headers=bearer(db, world.county_admin))
    assert county.status_code == 404  # the certificate is outside the county's region: not even seen
    resp = client.post(f"/api/v1/certificates/{cert.number}/revoke", json={"reason": "企业发生重大质量事故"},
                       headers=bearer(db, world.city_admin))
    assert resp.status_code == 200 and resp.get_json()["status"] == "revoked"
    view = client.get(f"/api/v1/verify/{cert.cid}").get_json()
    assert view["status"] == "revoked" and view["reason_category"] == "other" and view["status_changed_on"]
    html = client.get(f"/v/{cert.cid}").get_data(as_text=True)
    assert 'data-status="revoked"' in html and "已撤销" in html and view["status_changed_on"] in html


def test_bureau_suspends_through_the_page(db, world, cert, login_as):
    client = login_as("nt_admin")
    resp = post_form(client, f"/certificates/{cert.id}/status", {"st-action": "suspend", "st-reason": "under_investigation",
                                                                  "st-note": "核查中"}, token_from=f"/certificates/{cert.id}")
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(Certificate, cert.id).status.value == "suspended"
    assert "已暂停" in client.get(f"/v/{cert.cid}").get_data(as_text=True)


def test_api_list_is_scoped_and_has_the_stable_fields(client, db, world, cert):
    items = client.get("/api/v1/certificates", headers=bearer(db, world.staff_nt)).get_json()["items"]
    assert len(items) == 1
    item = items[0]
    assert {"number", "status", "holder_name", "tier", "issued_on", "valid_until", "verify_url"} <= set(item)
    assert "/C/" in item["verify_url"] and item["tier"] == "basic"  # the printed link (issue 16), not /v/…#…
    assert client.get("/api/v1/certificates", headers=bearer(db, world.staff_fj)).get_json()["items"] == []
    assert client.get("/api/v1/certificates", headers=bearer(db, world.trainee_fz)).get_json()["items"] == []
    assert client.get(f"/api/v1/certificates/{cert.number}", headers=bearer(db, world.fujian_admin)).status_code == 404
    pdf = client.get(f"/api/v1/certificates/{cert.number}/certificate.pdf", headers=bearer(db, world.trainee))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_api_issue_runs_as_a_job(client, db, world, cw, cfg, completion_rule):
    completion_rule("test_ok")
    resp = client.post(f"/api/v1/classes/{cw.cls.id}/certificates/issue", json={}, headers=bearer(db, world.staff_nt))
    assert resp.status_code == 202 and resp.get_json()["issued"] == 1
    job = client.get(resp.get_json()["progress_url"], headers=bearer(db, world.staff_nt)).get_json()
    assert job["status"] == "done"
    other = client.post(f"/api/v1/classes/{cw.cls.id}/certificates/issue", json={}, headers=bearer(db, world.staff_fj))
    assert other.status_code == 404


def test_published_keys_and_credential_jwt(client, db, world, cert, app):
    doc = client.get("/.well-known/cqo-certificate-keys.json").get_json()
    assert doc["keys"][0]["kid"] and doc["keys"][0]["crv"] == "Ed25519" and "valid_from" in doc["keys"][0]
    assert "d" not in doc["keys"][0]
    token = client.get(f"/api/v1/certificates/{cert.number}/credential", headers=bearer(db, world.trainee)).get_data(as_text=True)
    header_b64, payload_b64, sig_b64 = token.split(".")
    from certificates.signing import b64d, public_keys_from_document

    header = json.loads(b64d(header_b64))
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    assert header["alg"] == "EdDSA" and header["kid"].endswith("/" + cert.key_id)
    assert "OpenBadgeCredential" in payload["type"] and payload["credentialSubject"]["name"] == "王芳"
    public_keys_from_document(doc)[cert.key_id]["key"].verify(b64d(sig_b64), f"{header_b64}.{payload_b64}".encode())


def test_openapi_lists_the_certificate_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for p in ("/api/v1/certificates", "/api/v1/certificates/{number}/revoke", "/api/v1/verify/{cid}",
              "/api/v1/classes/{class_id}/certificates/issue"):
        assert p in paths


def test_province_bureau_sets_the_number_pattern(db, world, login_as):
    client = login_as("js_admin")
    assert client.get("/certificates/settings").status_code == 200
    resp = post_form(client, "/certificates/settings", {"number_pattern": "{region_code}-{tier_code}-{year}-{serial:05d}",
                                                        "issuer_basic": "institution", "issuer_advanced": "bureau",
                                                        "issuer_senior": "bureau"})
    assert resp.status_code == 200 and "issuer_code" in resp.get_data(as_text=True)
    resp = post_form(client, "/certificates/settings", {"number_pattern": "JS-{issuer_code}-{tier_code}{year}-{serial:05d}",
                                                        "issuer_basic": "institution", "issuer_advanced": "bureau",
                                                        "issuer_senior": "bureau"})
    assert resp.status_code == 302
    assert services.settings_for(db, world.jiangsu)[1]["basic"] == "institution"


def test_city_bureau_and_staff_cannot_set_province_rules(login_as):
    client = login_as("nt_admin")
    assert client.get("/certificates/settings").status_code == 403


def test_home_pages_show_certificates(cert, app):
    c = app.test_client()
    login(c, "wangfang")
    assert cert.number in c.get("/home").get_data(as_text=True)


def test_certificate_pages_have_no_inline_script_or_style(db, world, cw, cert, login_as):
    import re

    client = login_as("nt_staff")
    for url in ["/certificates", f"/certificates/{cert.id}", "/certificates/classes", f"/certificates/classes/{cw.cls.id}",
                f"/v/{cert.cid}"]:
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html, url
    assert client.get("/certificates/static/verify.js").status_code == 200


def test_staff_cannot_change_status_through_the_page(db, world, cert, login_as):
    client = login_as("nt_staff")
    resp = post_form(client, f"/certificates/{cert.id}/status", {"st-action": "revoke", "st-reason": "other",
                                                                  "st-note": "试图撤销"}, token_from=f"/certificates/{cert.id}")
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(Certificate, cert.id).status.value == "valid"


def test_parity_certificate_download_page_and_api(client, db, world, cert, login_as):
    # One service renders the file: both doors give the same bytes, type and name, and refuse the same formats.
    api_headers = bearer(db, world.trainee)
    page_client = login_as("wangfang")
    for fmt in ("pdf", "png"):
        page = page_client.get(f"/certificates/{cert.id}/certificate.{fmt}")
        api = client.get(f"/api/v1/certificates/{cert.number}/certificate.{fmt}", headers=api_headers)
        assert page.status_code == api.status_code == 200
        assert page.data == api.data and page.mimetype == api.mimetype
        assert page.headers["Content-Disposition"] == api.headers["Content-Disposition"]
    assert page_client.get(f"/certificates/{cert.id}/certificate.gif").status_code == 404
    assert client.get(f"/api/v1/certificates/{cert.number}/certificate.gif", headers=api_headers).status_code == 404


def _revoke_outcome(db, cert_id: int):
    db.expire_all()
    c = db.get(Certificate, cert_id)
    event = c.events[-1] if c.events else None
    audits = [(a.action, a.detail) for a in db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "Certificate", AuditEvent.object_id == str(c.id),
                                 AuditEvent.action.like("certificate.%"), AuditEvent.action != "certificate.issue")
        .order_by(AuditEvent.id))]
    return (c.status.value, c.status_reason.value if c.status_reason else None,
            (event.action, event.reason.value if event.reason else None, event.note) if event else None, audits)


@pytest.mark.parametrize("username,reason,note,api_status,status", [
    ("nt_admin", "quality_fault", "所在企业发生重大质量事故", 200, "revoked"),  # a reason category
    ("nt_admin", "企业发生重大质量事故", "经调查属实", 200, "revoked"),  # free text: recorded under 'other'
    ("nt_admin", "", "没有原因", 422, "valid"),  # refused: a reason is required
    ("nt_staff", "quality_fault", "试图撤销", 403, "valid"),  # refused and audited: only bureaus revoke
])
def test_parity_revoke_page_and_api(client, app, db, world, cw, cfg, completion_rule, username, reason, note,
                                    api_status, status):
    # The page and the API call the same service: the same input leaves the same status, reason, event and audit.
    completion_rule("test_ok")
    other = enrol(db, cw.cls, factories.make_trainee(db, "trainee_r", world.ent_qd, real_name="李强"))
    by_page = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    by_api = services.issue(db, world.staff_nt, other, cfg, TODAY)
    db.commit()
    actor = db.scalar(select(User).where(User.username == username))
    api = client.post(f"/api/v1/certificates/{by_api.number}/revoke", json={"reason": reason, "note": note},
                      headers=bearer(db, actor))
    page_client = app.test_client()
    login(page_client, username)
    page = post_form(page_client, f"/certificates/{by_page.id}/status",
                     {"st-action": "revoke", "st-reason": reason, "st-note": note}, token_from=f"/certificates/{by_page.id}")
    assert page.status_code == 302
    assert api.status_code == api_status, api.get_data(as_text=True)
    outcome = _revoke_outcome(db, by_api.id)
    assert outcome[0] == status and _revoke_outcome(db, by_page.id) == outcome
    assert [a for a, _detail in outcome[3]] == {200: ["certificate.revoke"], 403: ["certificate.status_refused"]}.get(
        api_status, [])


def test_security_holder_check_allows_five_wrong_numbers_an_hour(client, db, cert, app):
    assert app.config["CERT_HOLDER_CHECK_RATE_LIMIT"] == "5 per hour"  # issue 18: it was 20
    url = f"/v/{cert.cid}"
    codes = [client.post(url, data={"id_number": "110101199001011234"}).status_code for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429
