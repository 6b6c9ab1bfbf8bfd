"""One user cannot read or change another's records by guessing ids: on the web and through the API."""
from sqlalchemy import select

from lms.auth import services as auth_services
from lms.auth.models import AuditEvent
from lms.people.models import TraineeProfile
from tests.conftest import post_form


def test_county_admin_cannot_open_another_countys_records(client, db, login_as, world):
    login_as("qd_admin")
    assert client.get(f"/manage/enterprises/{world.ent_qd.id}/edit").status_code == 200
    assert client.get(f"/manage/enterprises/{world.ent_rg.id}/edit").status_code == 404
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee_fz.id))
    assert client.get(f"/manage/trainees/{prof.id}").status_code == 404
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied", AuditEvent.actor_id == world.county_admin.id)).all()
    assert {e.object_type for e in denied} >= {"Enterprise", "TraineeProfile"}


def test_city_admin_cannot_change_another_provinces_institution(client, db, login_as, world):
    login_as("nt_admin")
    resp = post_form(client, f"/manage/institutions/{world.inst_fj.id}/edit",
                     {"name": "改名", "credit_code": world.inst_fj.credit_code, "region_id": str(world.nantong.id)},
                     token_from="/manage/institutions")
    assert resp.status_code == 404
    db.refresh(world.inst_fj)
    assert world.inst_fj.name == "福建质协"


def test_lists_show_only_own_region(client, login_as, world):
    login_as("qd_admin")
    html = client.get("/manage/enterprises").get_data(as_text=True)
    assert "启东机械有限公司" in html and "如皋食品有限公司" not in html and "福州电机有限公司" not in html


def test_staff_and_trainees_cannot_use_management_pages(client, login_as, world):
    login_as("nt_staff")
    assert client.get("/manage/enterprises").status_code == 403


def test_trainee_profile_is_masked_for_regulators_until_revealed_with_audit(client, db, login_as, world):
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id))
    login_as("nt_admin")
    html = client.get(f"/manage/trainees/{prof.id}").get_data(as_text=True)
    assert prof.id_number not in html and prof.id_number_masked in html
    html = client.get(f"/manage/trainees/{prof.id}?reveal=1").get_data(as_text=True)
    assert prof.id_number in html
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "pii.reveal", AuditEvent.object_id == str(prof.id)))


def _bearer(db, user):
    _t, clear = auth_services.create_token(db, user, "test")
    db.flush()
    return {"Authorization": f"Bearer {clear}"}


def test_api_requires_a_valid_token(client, db, world):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer cqo_wrong"}).status_code == 401
    body = client.get("/api/v1/me", headers=_bearer(db, world.staff_nt)).get_json()
    assert body["username"] == "nt_staff" and body["role"] == "institution_staff"


def test_api_scoping_and_guessing(client, db, world):
    h = _bearer(db, world.staff_nt)
    items = client.get("/api/v1/institutions", headers=h).get_json()["items"]
    assert [i["name"] for i in items] == ["南通培训中心"]
    assert client.get(f"/api/v1/institutions/{world.inst_fj.id}", headers=h).status_code == 404
    h2 = _bearer(db, world.county_admin)
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee_fz.id))
    assert client.get(f"/api/v1/trainees/{prof.id}", headers=h2).status_code == 404
    listed = client.get("/api/v1/trainees", headers=h2).get_json()["items"]
    assert listed and all("*" in t["id_number_masked"] for t in listed)
    assert all("id_number" not in t and "phone" not in t for t in listed)


def test_api_validation_errors_are_chinese_and_name_fields(client, db, world):
    h = _bearer(db, world.city_admin)
    payload = {"name": "某企业", "credit_code": "91320600MA1NT00019", "region_id": world.qidong.id,
               "ownership_type": "private", "size_class": "medium"}
    resp = client.post("/api/v1/enterprises", json=payload, headers=h)
    body = resp.get_json()
    assert resp.status_code == 422 and "校验位" in body["fields"]["credit_code"]
    resp = client.post("/api/v1/enterprises", json={**payload, "size_class": "big"}, headers=h)
    assert resp.status_code == 422 and "size_class" in resp.get_json()["fields"]
    resp = client.post("/api/v1/enterprises", data="not json", headers={**h, "Content-Type": "application/json"})
    assert resp.status_code == 422
    resp = client.post("/api/v1/institutions", json={"name": "x"}, headers=_bearer(db, world.staff_nt))
    assert resp.status_code == 403


def test_api_creates_enterprise_in_own_region_only(client, db, world):
    from lms.demo import credit_code

    h = _bearer(db, world.county_admin)
    payload = {"name": "启东新企业有限公司", "credit_code": credit_code("320681MA1QD0555"), "region_id": world.qidong.id,
               "ownership_type": "private", "size_class": "small", "above_designated_size": True}
    resp = client.post("/api/v1/enterprises", json=payload, headers=h)
    assert resp.status_code == 201 and resp.get_json()["above_designated_size"] is True
    payload.update(credit_code=credit_code("320682MA1RG0555"), region_id=world.rugao.id)
    # Another county: an existing region the caller does not administer is refused by the service (403), as documented
    assert client.post("/api/v1/enterprises", json=payload, headers=h).status_code == 403


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    import re

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], (method, path)


def test_token_page_creates_and_revokes(client, db, login_as, world):
    login_as("nt_staff")
    html = post_form(client, "/auth/tokens", {"name": "教务系统"}).get_data(as_text=True)
    import re

    token = re.search(r'id="new-token">(cqo_[^<]+)<', html).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    from lms.auth.models import ApiToken

    t = db.scalar(select(ApiToken).where(ApiToken.user_id == world.staff_nt.id))
    post_form(client, f"/auth/tokens/{t.id}/revoke", {}, token_from="/auth/tokens")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_lookup_by_id_number_is_a_post_and_scoped(client, db, login_as, world):
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id))
    other = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee_fz.id))
    login_as("nt_admin")
    resp = post_form(client, "/manage/trainees/lookup", {"id_number": prof.id_number}, token_from="/manage/trainees")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/manage/trainees/{prof.id}")
    resp = post_form(client, "/manage/trainees/lookup", {"id_number": other.id_number}, token_from="/manage/trainees")
    assert resp.headers["Location"].endswith("/manage/trainees")
