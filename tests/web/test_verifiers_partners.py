"""Issue 16: a partner province's certificate verifies here by its signature (the partner's keys on our trust
list), with its status asked of the partner's verify JSON — a local stub on 127.0.0.1, never the internet."""
from __future__ import annotations

import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from certificates import keys, partners, signing
from certificates.models import PartnerProvince
from tests.conftest import TODAY, post_form


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):  # no stderr noise in the test output
        pass


@pytest.fixture
def fujian(tmp_path):
    """A stand-in for the Fujian instance: its own key ring and a verify JSON endpoint answering a fixed status."""
    key_dir = tmp_path / "fj-keys"
    kid = keys.create_key(key_dir, TODAY, prefix="fj-")
    answer = {"status": "valid"}
    seen = []

    def app(environ, start_response):
        seen.append(environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", ""))
        body = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    fields = {"holder_name": "林建华", "number": "350000-B-2026-00007", "tier": "basic", "issued_on": TODAY.isoformat(),
              "valid_until": "2029-11-21", "kid": kid}
    link = f"{base}/v/fjcid123#{signing.sign(keys.private_key(key_dir, kid), fields)}"
    yield {"base": base, "doc": keys.public_document(key_dir), "link": link, "answer": answer, "seen": seen,
           "fields": fields, "key_dir": key_dir}
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_verifiers_partner_province_certificate_verified_here(client, db, world, login_as, fujian):
    link = fujian["link"]
    assert client.get("/api/v1/partner-verify", query_string={"link": link}).status_code == 404  # not yet a partner

    admin = login_as("sys")
    assert admin.get("/certificates/partners").status_code == 200
    bad = post_form(admin, "/certificates/partners", {"name": "福建省（示例）", "base_url": "ftp://x",
                                                      "keys": "{}", "agreement_note": "闽苏互认协议（示例）"})
    assert bad.status_code == 200 and db.query(PartnerProvince).count() == 0
    resp = post_form(admin, "/certificates/partners", {"name": "福建省（示例）", "base_url": fujian["base"],
                                                       "keys": json.dumps(fujian["doc"]),
                                                       "agreement_note": "闽苏证书互认协议（示例），2026-11-01 签订"})
    assert resp.status_code == 302
    assert "福建省（示例）" in admin.get("/certificates/partners").get_data(as_text=True)

    out = client.get("/api/v1/partner-verify", query_string={"link": link}).get_json()
    assert out["partner"] == "福建省（示例）" and out["signature_valid"] is True
    assert out["fields"]["number"] == fujian["fields"]["number"]
    assert out["status"] == "valid" and out["status_source"] == "partner"
    assert fujian["seen"] and fujian["seen"][-1].startswith("/api/v1/verify/fjcid123?sig=")

    fujian["answer"]["status"] = "revoked"  # the partner revokes: we say so
    assert client.get("/api/v1/partner-verify", query_string={"link": link}).get_json()["status"] == "revoked"

    tampered = link.replace("#eyJ", "#eyK")
    out = client.get("/api/v1/partner-verify", query_string={"link": tampered}).get_json()
    assert out["signature_valid"] is False and out["status_source"] == "not_checked"


def test_verifiers_partner_unreachable_leaves_status_unknown(db, world, fujian):
    partner = partners.add_partner(db, world.sysadmin, "福建省（示例）", fujian["base"], json.dumps(fujian["doc"]), "示例")
    partner.base_url = "http://127.0.0.1:9"  # nothing listens there: the status is unknown, quickly
    res = partners.check_link(db, fujian["link"].replace(fujian["base"], partner.base_url), timeout=1.0)
    assert res.checked.ok and res.status == "unknown" and res.status_source == "unreachable"


def test_verifiers_partner_verify_json_is_in_the_openapi(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/verify/{cid}" in paths and "/api/v1/partner-verify" in paths


def test_verifiers_partner_certificate_on_our_verify_page(client, db, world, fujian):
    partners.add_partner(db, world.sysadmin, "福建省（示例）", fujian["base"], json.dumps(fujian["doc"]), "示例")
    db.commit()
    page = client.get("/verify-partner", query_string={"link": fujian["link"]}).get_data(as_text=True)
    assert 'data-signature="valid"' in page and 'data-status="valid"' in page and "福建省（示例）" in page
    assert fujian["fields"]["number"] in page and "<h1" in page
    fujian["answer"]["status"] = "revoked"
    page = client.get("/verify-partner", query_string={"link": fujian["link"]}).get_data(as_text=True)
    assert 'data-status="revoked"' in page and "已撤销" in page
    page = client.get("/verify-partner", query_string={"link": "http://elsewhere.example/v/x#y.z"}).get_data(as_text=True)
    assert 'data-partner="no"' in page
