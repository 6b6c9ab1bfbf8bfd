"""Issue 16, the holder's photo through the pages: the trainee's upload (clear Chinese refusals, nothing kept), who
may see the photo (the holder and the staff of the holder's classes, never the public), the province's setting with
its basis, the class page's gate, the public verify page (the fingerprint and the instruction, never the photo),
and the phone's offline wording, word for word the command line's."""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from PIL import Image

from certificates import compact, keys, partners, photos, services, verdicts
from certificates.models import HolderPhoto
from tests.cert_factories import completion_rule, cw  # noqa: F401
from tests.conftest import TODAY, login, post_form
from tests.unit.test_verifiers_holder_photo import jpeg_with_exif
from tests.web.test_verifiers_partners import fujian  # noqa: F401


@pytest.fixture
def cfg(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CERT_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    keys.create_key(app.config["CERT_KEY_DIR"], TODAY)
    return services.CertConfig.from_app(app)


def _upload(client, data: bytes, name: str = "me.jpg"):
    return post_form(client, "/certificates/my-photo", {"photo": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


def test_verifiers_photo_upload_page_and_refusals(client, db, world, cw, cfg):
    login(client, "wangfang")
    page = client.get("/certificates/my-photo")
    assert page.status_code == 200 and 'id="no-photo"' in page.get_data(as_text=True)
    bad = _upload(client, b"MZ\x90\x00" + b"\x00" * 64, "photo.jpg")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "照片须是 JPEG 或 PNG 图片" in html
    assert db.query(HolderPhoto).count() == 0
    small = io.BytesIO()
    Image.new("RGB", (100, 100)).save(small, "PNG")
    assert "照片太小（100×100 像素）" in _upload(client, small.getvalue(), "p.png").get_data(as_text=True)
    ok = _upload(client, jpeg_with_exif())
    assert ok.status_code == 302 and ok.location.endswith("/certificates/my-photo")
    row = db.query(HolderPhoto).one()
    html = client.get("/certificates/my-photo").get_data(as_text=True)
    assert row.fingerprint in html and f"/certificates/photos/{row.id}" in html
    img = client.get(f"/certificates/photos/{row.id}")
    assert img.status_code == 200 and img.mimetype == "image/jpeg" and "no-store" in img.headers["Cache-Control"]
    assert photos.fingerprint(img.get_data()) == row.fingerprint


def test_verifiers_photo_seen_by_holder_and_class_staff_only(app, client, db, world, cw, cfg):
    row = photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif()), "me.jpg", cfg.upload_dir)
    db.commit()
    url = f"/certificates/photos/{row.id}"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for username, code in (("wangfang", 200), ("nt_staff", 200), ("nt_admin", 200), ("js_admin", 200),
                           ("fj_staff", 404), ("fj_admin", 404), ("linfz", 404), ("rg_admin", 404)):
        c = app.test_client()
        login(c, username)
        assert c.get(url).status_code == code, username
    # the class page shows the staff the photo's link and fingerprint
    c = app.test_client()
    login(c, "nt_staff")
    html = c.get(f"/certificates/classes/{cw.cls.id}").get_data(as_text=True)
    assert url in html and row.fingerprint in html


def test_verifiers_photo_setting_on_the_rules_page(app, client, db, world, cw, cfg, completion_rule):
    login(client, "js_admin")
    html = client.get("/certificates/settings").get_data(as_text=True)
    assert 'data-setting="certificate_settings.holder_photo"' in html and "〔示例〕" in html
    resp = post_form(client, "/certificates/settings", {
        "number_pattern": "{region_code}-{tier_code}-{year}-{serial:05d}", "issuer_basic": "bureau",
        "issuer_advanced": "bureau", "issuer_senior": "bureau", "holder_photo": "y"})
    assert resp.status_code == 302
    html = client.get("/certificates/settings").get_data(as_text=True)
    assert re.search(r'data-setting="certificate_settings.holder_photo">是<small[^>]*>〔本省自定〕', html), html
    assert photos.photo_required(db, world.jiangsu)
    # the class page says why the certificate cannot be issued yet, and the button is off
    completion_rule("test_ok")
    c = app.test_client()
    login(c, "nt_staff")
    html = c.get(f"/certificates/classes/{cw.cls.id}").get_data(as_text=True)
    assert 'data-rule="holder_photo"' in html and "本省证书须印持证人照片" in html
    assert f'id="enrollment-{cw.e_wang.id}" data-complete="no"' in html


def test_verifiers_verify_page_shows_fingerprint_not_photo(app, client, db, world, cw, cfg, completion_rule):
    services.save_settings(db, world.province_admin, world.jiangsu, "{region_code}-{tier_code}-{year}-{serial:05d}",
                           {}, holder_photo=True)
    completion_rule("test_ok")
    row = photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif()), "me.jpg", cfg.upload_dir)
    cert = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    db.commit()
    path = "/C/" + compact.token_from_url(services.qr_url(cert, cfg))
    html = client.get(path).get_data(as_text=True)
    assert 'data-status="valid"' in html
    assert f'id="photo-fp">{row.fingerprint}<' in html and 'id="photo-compare"' in html
    assert "<img" not in html and "/certificates/photos/" not in html and "photo_file" not in html
    assert client.get(f"/certificates/photos/{row.id}").status_code == 302  # the public cannot fetch it
    api = client.get(f"/api/v1/verify/{cert.cid}").get_json()
    assert api["photo_fingerprint"] == row.fingerprint and not any("jpeg" in str(v) for v in api.values())


def test_verifiers_same_wording_cli_and_phone_photo_line(client):
    """The phone's compare line with the photo is the command line's, word for word."""
    html = client.get("/verify-offline").get_data(as_text=True)
    texts = json.loads(re.search(r'<script type="application/json" id="offline-texts">(.*?)</script>', html,
                                 re.S).group(1))
    assert texts["photo_compare"] == verdicts.PHOTO_COMPARE
    fp = "1A2B-3C4D-5E6F-7081"
    checked = type("C", (), {"ok": True, "reason": "ok", "fields": {
        "holder_name": "王芳", "number": "N-1", "tier": "basic", "issued_on": "2026-01-01", "valid_until": "2029-01-01",
        "kid": "k", "photo": fp}})()
    cli = verdicts.offline_verdict(checked, dt.date(2026, 6, 1)).compare
    phone = texts["compare"] + texts["expected"].replace("%(name)s", "王芳").replace("%(number)s", "N-1") \
        .replace("%(start)s", "2026-01-01").replace("%(end)s", "2029-01-01") + texts["photo_compare"].replace("%(fp)s", fp)
    assert phone == cli and cli.endswith(f"请核对持证人照片：指纹 {fp}")
    js = client.get("/certificates/static/verify-offline.js").get_data(as_text=True)
    assert "T.photo_compare" in js and "version === 3" in js


def test_verifiers_partner_certificate_with_photo_fingerprint(client, db, world, fujian):
    """A partner province's printed code in format 3: checked here by its signature, its photo fingerprint shown
    with the same comparison sentence."""
    fp = "0F1E-2D3C-4B5A-6978"
    kid = fujian["fields"]["kid"]
    key_dir = fujian["key_dir"]
    link = compact.qr_url(fujian["base"], compact.sign(keys.private_key(key_dir, kid),
                                                       {**fujian["fields"], "status_index": 7, "photo": fp}))
    partners.add_partner(db, world.sysadmin, "福建省（示例）", fujian["base"], json.dumps(fujian["doc"]), "示例")
    db.commit()
    page = client.get("/verify-partner", query_string={"link": link}).get_data(as_text=True)
    assert 'data-signature="valid"' in page and f'id="photo-fp">{fp}<' in page
    assert f"请核对持证人照片：指纹 {fp}" in page
    plain = client.get("/verify-partner", query_string={"link": fujian["link"]}).get_data(as_text=True)
    assert 'data-signature="valid"' in plain and 'id="photo-fp"' not in plain
