"""The printed link /C/<TOKEN> (issue 16): verified by the server, status from the database, nothing leaked for a
bad token, no referrer, no token in the access log; and an old /v/ link without its fragment."""
from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import compact, keys, services
from certificates.models import Certificate, CertificateStatus
from lms.requestlog import logged_path
from tests.cert_factories import completion_rule, cw  # noqa: F401
from tests.conftest import TODAY


@pytest.fixture
def cfg(app, tmp_path, monkeypatch):
    """A key directory of this test's own: the session's is shared with tests that rotate keys and move their
    windows, and /C/ checks the window."""
    monkeypatch.setitem(app.config, "CERT_KEY_DIR", str(tmp_path / "keys"))
    keys.create_key(app.config["CERT_KEY_DIR"], TODAY)
    return services.CertConfig.from_app(app)


@pytest.fixture
def cert(db, world, cw, cfg, completion_rule) -> Certificate:
    completion_rule("test_ok")
    c = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    db.commit()
    return c


def _path(url: str) -> str:
    return "/C/" + compact.token_from_url(url)


def test_verifiers_compact_link_genuine_any_case(client, cert, cfg):
    url = services.qr_url(cert, cfg)
    assert url.startswith("HTTP://") and "/C/" in url and compact.is_alphanumeric(url)
    for path in (_path(url), _path(url).lower(), "/c/" + compact.token_from_url(url)):
        resp = client.get(path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, path
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert 'data-status="valid"' in html and cert.number in html and "王*" in html and "王芳" not in html
        assert 'id="sig-result" data-state="valid"' in html


def test_verifiers_compact_link_tampered_unknown_key_are_not_found(client, cert, cfg):
    token = compact.token_from_url(services.qr_url(cert, cfg))
    payload, body, sig = compact.split(token)
    flipped = compact.b32encode(body + bytes([sig[0] ^ 1]) + sig[1:])
    other = Ed25519PrivateKey.generate()
    forged_name = compact.sign(keys.private_key(cfg.key_dir, cert.key_id),
                               {**services.signed_fields(cert), "holder_name": "李四"})  # genuine key, not the record
    unknown = compact.sign(other, {**services.signed_fields(cert), "kid": "cqo-unknown"})
    pages = {}
    for name, t in {"flipped": flipped, "unknown_key": unknown, "not_the_record": forged_name,
                    "garbage": "NOTATOKEN", "truncated": token[:-8]}.items():
        resp = client.get("/C/" + t)
        pages[name] = resp.get_data(as_text=True)
        assert resp.status_code == 404, name
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert cert.number not in pages[name] and "李四" not in pages[name]
    assert len(set(pages.values())) == 1  # the same page whatever was wrong: no detail leaks


def test_verifiers_compact_link_shows_revoked(client, db, world, cert, cfg):
    cert.status = CertificateStatus.revoked  # the bureau's action is tested elsewhere; the page reads the record
    db.commit()
    html = client.get(_path(services.qr_url(cert, cfg))).get_data(as_text=True)
    assert 'data-status="revoked"' in html and 'data-status="valid"' not in html


def test_verifiers_fragmentless_v_link_shows_status_and_unchecked(client, cert):
    html = client.get(f"/v/{cert.cid}").get_data(as_text=True)
    assert 'data-status="valid"' in html
    assert 'data-sig-server=""' in html and "未核验签名" in html  # the script shows it; no "forged" for a cut link
    js = client.get("/certificates/static/verify.js").get_data(as_text=True)
    assert "data-sig-none" in js and "if (!hash) { fail()" not in js


def test_verifiers_compact_token_not_in_access_log(client, cert, cfg, caplog):
    path = _path(services.qr_url(cert, cfg))
    assert logged_path(path) == "/C/…" and logged_path(path.lower()) == "/c/…"
    assert logged_path("/certificates/1") == "/certificates/1"
    with caplog.at_level(logging.INFO, logger="lms.access"):
        client.get(path)
    lines = [r.getMessage() for r in caplog.records if r.name == "lms.access"]
    assert lines and all(compact.token_from_url(path) not in m for m in lines)
    assert any("path=/C/…" in m for m in lines)


def test_verifiers_index_printed_by_default(client, db, cert, cfg):
    """The printed code carries the certificate's status-list index (compact format 2), and /C/ checks it
    against the record; an older code without it (format 1) keeps verifying."""
    token = compact.token_from_url(services.qr_url(cert, cfg))
    payload, body, _sig = compact.split(token)
    assert body[0] >> 4 == 2 and payload.status_index == cert.status_list_index is not None
    assert client.get("/C/" + token).status_code == 200
    private = keys.private_key(cfg.key_dir, cert.key_id)
    old = compact.sign(private, services.signed_fields(cert))
    assert compact.split(old)[1][0] >> 4 == 1 and client.get("/C/" + old).status_code == 200
    wrong = compact.sign(private, {**services.signed_fields(cert), "status_index": cert.status_list_index + 1})
    assert client.get("/C/" + wrong).status_code == 404  # a genuine key, but not the record's index



def test_verifiers_links_api_and_pages_give_the_printed_link(client, db, world, login_as, cert, cfg):
    """The API's verify_url, the certificate page's 核验页面 link and a superseded certificate's link to its
    successor are the printed /C/ link, which opens the checked page (not the old /v/ link)."""
    import re

    from lms.auth import services as auth_services

    _tok, clear = auth_services.create_token(db, world.staff_nt, "test")
    db.commit()
    item = client.get(f"/api/v1/certificates/{cert.number}", headers={"Authorization": f"Bearer {clear}"}).get_json()
    assert item["verify_url"] == services.qr_url(cert, cfg) and "/C/" in item["verify_url"]
    assert client.get(_path(item["verify_url"])).status_code == 200

    staff = login_as("nt_staff")
    page = staff.get(f"/certificates/{cert.id}").get_data(as_text=True)
    href = re.search(r'href="([^"]+)" id="verify-link"', page).group(1)
    assert href == services.qr_url(cert, cfg)

    new = services.reissue(db, world.staff_nt, cert, "姓名录入有误，更正后换发", cfg, TODAY)
    db.commit()
    old_page = client.get(_path(services.qr_url(cert, cfg))).get_data(as_text=True)
    successor = re.search(r'<a href="([^"]+)" id="successor-link"', old_page).group(1)
    assert successor.startswith("/C/")
    resp = client.get(successor)
    assert resp.status_code == 200 and new.number in resp.get_data(as_text=True)
    verify_json = client.get(f"/api/v1/verify/{cert.cid}").get_json()
    assert verify_json["superseded_by"]["verify_path"] == successor


def test_verifiers_upper_case_url_as_decoded_reaches_the_page(client, cert, cfg):
    """What a scanner decodes is the upper-case URL itself; whichever way a client sends it (host as printed,
    https, a trailing slash added by hand), it reaches the checked page and no redirect changes the token."""
    from urllib.parse import urlsplit

    url = services.qr_url(cert, cfg).replace("HTTP://", "HTTPS://")
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.netloc == parts.netloc.upper()  # urlsplit lower-cases only the scheme
    for path in (parts.path, parts.path + "/"):
        resp = client.get(path, base_url=f"HTTPS://{parts.netloc}")
        assert resp.status_code == 200, path
        assert 'id="sig-result" data-state="valid"' in resp.get_data(as_text=True)


def test_verifiers_same_wording_cli_and_phone(client):
    """The phone's offline verifier says what the command line says: the same headlines, status-list and compare
    sentences (certificates.verdicts and certificates.status_verdict), in Chinese."""
    import datetime as dt
    import json
    import re

    from certificates import status_verdict, verdicts

    html = client.get("/verify-offline").get_data(as_text=True)
    texts = json.loads(re.search(r'<script type="application/json" id="offline-texts">(.*?)</script>', html,
                                 re.S).group(1))
    pairs = {"valid": "valid", "expired": "expired", "bad_signature": "forged", "unknown_key": "unknown_key",
             "outside_window": "outside_key_window", "malformed": "unreadable", "revoked": "revoked",
             "suspended": "suspended"}
    for phone, cli in pairs.items():
        assert texts[phone] == verdicts.HEADLINES[cli], phone
    assert texts["compare"] == verdicts.COMPARE and texts["compare_nothing"] == verdicts.COMPARE_NOTHING
    assert texts["no_status_list"] == verdicts.NO_STATUS
    when = dt.datetime(2026, 11, 22, 2, 30, tzinfo=dt.timezone.utc)
    assert texts["status_age"].replace("%(t)s", "2026-11-22 10:30") == status_verdict.age_message(when)
    assert texts["no_index"] == status_verdict.NO_INDEX
    checked = type("C", (), {"ok": True, "reason": "ok", "fields": {
        "holder_name": "王芳", "number": "N-1", "tier": "basic", "issued_on": "2026-01-01", "valid_until": "2029-01-01",
        "kid": "k"}})()
    cli_compare = verdicts.offline_verdict(checked, dt.date(2026, 6, 1)).compare
    phone_compare = texts["compare"] + texts["expected"].replace("%(name)s", "王芳").replace("%(number)s", "N-1") \
        .replace("%(start)s", "2026-01-01").replace("%(end)s", "2029-01-01")
    assert phone_compare == cli_compare
