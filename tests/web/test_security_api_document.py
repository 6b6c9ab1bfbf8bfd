"""Issue 18: "the API matches its document" — the disagreements Schemathesis found, one test each, so that each
stays fixed on its own: query values outside the documented range or enumeration are 4xx (never a 500, never
silently clamped), a 405 names the allowed methods, the success statuses and media types are documented as
answered, and bodies the document allows are accepted (a free-text revoke reason, issue ``{}``)."""
from __future__ import annotations

import jsonschema
import pytest
from sqlalchemy import select

from certificates import services as cert_services
from certificates.models import Certificate, CertificateStatus
from courses.models import Course
from lms.auth import services as auth_services
from tests.cert_factories import cert_cfg, completion_rules, cw  # noqa: F401 (fixtures)
from tests.conftest import TODAY


def _bearer(db, user) -> dict:
    _t, clear = auth_services.create_token(db, user, "文档")
    db.commit()
    return {"Authorization": f"Bearer {clear}"}


def _body_schema(doc: dict, path: str) -> dict:
    """The request body's schema of POST ``path``, its $refs resolved against the document."""
    ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return {**doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]], "components": doc["components"]}


@pytest.mark.parametrize("who,url", [
    ("admin", "/api/v1/talent/entries?region=0"), ("admin", "/api/v1/talent/entries?region=99999999999"),
    ("admin", "/api/v1/talent/entries?stars=6"), ("admin", "/api/v1/talent/entries?status=bogus"),
    ("admin", "/api/v1/talent/entries?tier=gold"), ("admin", "/api/v1/certificates?class_id=0"),
    ("admin", "/api/v1/certificates?class_id=2147483648"), ("admin", "/api/v1/certificates?status=lost"),
    ("admin", "/api/v1/regions?per_page=0"), ("admin", "/api/v1/regions?per_page=-5"),
    ("admin", "/api/v1/regions?per_page=201"), ("admin", "/api/v1/regions?page=0"),
    ("admin", "/api/v1/regions?page=x"), ("trainee", "/api/v1/credits/progress?year=0"),
    ("trainee", "/api/v1/credits/progress?year=10000"), ("trainee", "/api/v1/credits/progress?year=abc"),
])
def test_security_api_query_values_outside_the_document_are_refused(client, db, world, who, url):
    headers = _bearer(db, {"admin": world.province_admin, "trainee": world.trainee}[who])
    resp = client.get(url, headers=headers)
    name = url.split("?")[1].split("=")[0]
    assert resp.status_code == 422 and name in resp.get_json()["fields"], (url, resp.status_code, resp.get_json())


def test_security_api_query_values_inside_the_document_are_answered(client, db, world):
    headers = _bearer(db, world.province_admin)
    for url in ("/api/v1/talent/entries?region=1&stars=0&status=active&tier=basic&status=", "/api/v1/regions?per_page=200",
                "/api/v1/regions?per_page=1&page=1000000000", "/api/v1/certificates?status=valid&class_id=2147483647"):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (url, resp.get_json())
    assert client.get("/api/v1/regions?per_page=1", headers=headers).get_json()["per_page"] == 1


@pytest.mark.parametrize("method,url,allowed", [
    ("DELETE", "/api/v1/enterprises", {"GET", "POST"}), ("PUT", "/api/v1/openapi.json", {"GET"}),
    ("DELETE", "/auth/login", {"GET", "POST"}),
])
def test_security_405_names_the_allowed_methods(client, method, url, allowed):
    resp = client.open(url, method=method)
    assert resp.status_code == 405
    assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}


def test_security_api_document_states_the_success_answers(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method, status in [("/api/v1/institutions", "post", "201"), ("/api/v1/enterprises", "post", "201"),
                                 ("/api/v1/classes/{class_id}/certificates/issue", "post", "202"),
                                 ("/api/v1/reports/classes/{class_id}/filing", "post", "201"),
                                 ("/api/v1/institutions", "get", "200")]:
        assert set(paths[path][method]["responses"]) == {status, "4XX"}, (path, method)
    credential = paths["/api/v1/certificates/{number}/credential"]["get"]["responses"]["200"]["content"]
    assert list(credential) == ["application/vc+jwt"]
    download = paths["/api/v1/certificates/{number}/certificate.{fmt}"]["get"]["responses"]["200"]["content"]
    assert set(download) == {"application/pdf", "image/png"}


def test_security_api_region_ids_are_the_stored_ones(client, db, world):
    doc = client.get("/api/v1/openapi.json").get_json()
    stored = [world.jiangsu.id, world.nantong.id, world.qidong.id, world.rugao.id, world.fujian.id, world.fuzhou.id]
    assert sorted(doc["components"]["schemas"]["RegionId"]["enum"]) == sorted(stored)


def test_security_api_credit_code_clash_is_a_conflict(client, db, world):
    schema = _body_schema(client.get("/api/v1/openapi.json").get_json(), "/api/v1/enterprises")
    body = {"name": "启东重名企业", "credit_code": world.ent_rg.credit_code, "region_id": world.qidong.id,
            "ownership_type": "private", "size_class": "small"}
    jsonschema.validate(body, schema)
    resp = client.post("/api/v1/enterprises", json=body, headers=_bearer(db, world.province_admin))
    assert resp.status_code == 409 and "credit_code" in resp.get_json()["fields"]


def _certificate(db, world, cw, cert_cfg) -> Certificate:
    db.add(Course(code="DOC-01", title="质量法律制度", hours=8, subject_category="professional",
                  owner_province_id=world.jiangsu.id))
    with completion_rules(ok=True):
        cert = cert_services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    db.commit()
    return cert


def test_security_api_revoke_accepts_what_the_document_allows(client, db, world, cw, cert_cfg):
    cert = _certificate(db, world, cw, cert_cfg)
    doc = client.get("/api/v1/openapi.json").get_json()
    schema = _body_schema(doc, "/api/v1/certificates/{number}/revoke")
    headers = _bearer(db, world.province_admin)
    url = f"/api/v1/certificates/{cert.number}/revoke"
    for refused in ({"reason": ""}, {"reason": "   "}, {"reason": "x"}, {"reason": "other"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(refused, schema)
        assert client.post(url, json=refused, headers=headers).status_code == 422, refused
    allowed = {"reason": "以欺骗手段取得证书", "note": "经核查属实"}
    jsonschema.validate(allowed, schema)
    assert client.post(url, json=allowed, headers=headers).status_code == 200
    db.expire_all()
    assert db.get(Certificate, cert.id).status == CertificateStatus.revoked
    again = client.post(url, json={"reason": "quality_fault"}, headers=headers)
    assert again.status_code == 409  # a revoked certificate cannot be revoked again: the state refuses, not the body


def test_security_api_issue_with_an_empty_body_is_accepted_or_a_conflict(client, db, world, cw):
    doc = client.get("/api/v1/openapi.json").get_json()
    jsonschema.validate({}, _body_schema(doc, "/api/v1/classes/{class_id}/certificates/issue"))
    headers = _bearer(db, world.staff_nt)
    cw.e_wang.status = cw.e_wang.status.__class__("withdrawn")  # nobody admitted: nothing to issue
    db.commit()
    resp = client.post(f"/api/v1/classes/{cw.cls.id}/certificates/issue", json={}, headers=headers)
    assert resp.status_code == 409 and "已录取" in resp.get_json()["message"]
    assert db.scalar(select(Certificate.id)) is None
