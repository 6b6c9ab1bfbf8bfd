"""Issue 15, evaluation as data through both doors: the indicators page shows each value's basis and refuses
bad bands naming the band; the scoring flow's pages and API scope each step to its actor; the selection is
published as a masked notice; the standard travels through the API (and its OpenAPI document)."""
import re

from sqlalchemy import select

from lms.auth import services as auth_services
from lms.domain import Role
from lms.notifications.models import Notification
from talent.models import AssessmentStep, GradeBand, NoticeEntry
from talent.services import assessments as flow
from talent.services import provincial_eval as pe
from tests.conftest import csrf_token, post_form
from tests.conftest import login as _login
from tests.factories import PASSWORD, make_staff
from tests.unit.test_provincial_evaluation import BANDS, _tree, full
from tests.unit.test_talent_lifecycle import certify


def login(client, username, password=PASSWORD):
    client.post("/auth/logout", data={})
    client.delete_cookie("session")
    _login(client, username, password)


def _bearer(db, user):
    _tok, clear = auth_services.create_token(db, user, "t")
    db.flush()
    return {"Authorization": f"Bearer {clear}"}


def _setup(db, world):
    pe.load_tree(db, world.province_admin, world.jiangsu.id, _tree())
    pe.save_bands(db, world.province_admin, world.jiangsu.id, BANDS)
    entry = certify(db, world)
    ent = auth_services.create_user(db, username="qd_ent", password=PASSWORD, display_name="启东机械", role=Role.enterprise,
                                    enterprise=world.ent_qd)
    experts = [make_staff(db, f"expert{i}", Role.institution_staff, institution=world.inst_nt) for i in (1, 2)]
    db.flush()
    return entry, ent, experts


def test_provincial_indicators_page_labels_and_band_refusal(client, db, world):
    _setup(db, world)
    login(client, "js_admin")
    html = client.get("/talent/indicators").get_data(as_text=True)
    row_a = re.search(r'id="ind-A".*?</tr>', html, re.S).group(0)
    assert "6项一级指标" in row_a and 'data-basis="example"' in row_a  # the name from the standard, the weight an example
    row_a1 = re.search(r'id="ind-A1".*?</tr>', html, re.S).group(0)
    assert 'data-setting="eval_indicators.indicator_name"' in row_a1 and 'data-basis="source"' not in row_a1
    assert 'data-setting="eval_grade_bands.band_stars"' in html and 'id="bands-form"' in html
    form = {f"{k}_{i}": v for i, b in enumerate(BANDS) if b.stars != 3 for k, v in
            (("low", b.low), ("high", b.high), ("stars", b.stars), ("grade", b.grade))}
    resp = post_form(client, "/talent/indicators/bands", form, token_from="/talent/indicators", follow_redirects=True)
    assert "分档有空缺" in resp.get_data(as_text=True) and "70–80" in resp.get_data(as_text=True)
    assert len(db.scalars(select(GradeBand).where(GradeBand.province_id == world.jiangsu.id)).all()) == 5
    resp = client.get("/talent/indicators/export.xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    login(client, "nt_admin")  # a city bureau reads its province's standard, cannot change it
    assert client.get("/talent/indicators").status_code == 200
    assert post_form(client, "/talent/indicators/bands", form, token_from="/talent/indicators").status_code == 403


def test_provincial_flow_pages_scoped_to_each_actor(client, db, world):
    entry, ent, experts = _setup(db, world)
    login(client, "qd_admin")
    token = csrf_token(client, "/talent/assessments")
    resp = client.post("/talent/assessments", data={"open-csrf_token": token, "open-entry_id": entry.id, "open-year": 2026,
                                                     "open-experts": "expert1，expert2"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    url = resp.headers["Location"]
    a_id = int(url.rstrip("/").split("/")[-1])
    assert db.scalar(select(Notification.url).where(Notification.user_id == world.trainee.id)) == url
    points = {f"s_{k}": v for k, v in full(9).items()}
    # the enterprise cannot act before the CQO, another trainee cannot even see it
    login(client, "linfz")
    assert client.get(url).status_code == 404
    login(client, "qd_ent")
    assert 'id="assessment-step-form"' not in client.get(url).get_data(as_text=True)
    assert post_form(client, url, {"note": "同意"}).status_code == 403  # not its turn: refused, nothing changed
    login(client, "wangfang")
    assert 'id="assessment-step-form"' in client.get(url).get_data(as_text=True)
    resp = post_form(client, url, points | {"s_A1": "11"}, follow_redirects=True)
    assert "A1" in resp.get_data(as_text=True) and "0 到 10" in resp.get_data(as_text=True)
    assert post_form(client, url, points | {"note": "自评"}).status_code == 302
    login(client, "qd_ent")
    assert post_form(client, url, {"note": "同意自评"}).status_code == 302
    for name, p in (("expert1", 9), ("expert2", 8)):
        login(client, name)
        assert post_form(client, url, {f"s_{k}": v for k, v in full(p).items()}).status_code == 302
    login(client, "qd_admin")
    html = client.get(url).get_data(as_text=True)
    assert 'id="expert-table"' in html and "待监管部门确认" in html
    assert post_form(client, url, {"note": "确认"}).status_code == 302
    db.expire_all()
    assert entry.stars == 4  # (90 + 80) / 2 = 85 → 80–90
    login(client, "rg_admin")
    assert client.get(url).status_code == 404
    assert a_id


def test_provincial_flow_api(client, db, world):
    entry, ent, experts = _setup(db, world)
    admin = _bearer(db, world.county_admin)
    resp = client.post("/api/v1/talent/assessments", json={"entry_id": entry.id, "year": 2026, "experts": ["expert1"]}, headers=admin)
    assert resp.status_code == 422 and "experts" in resp.get_json()["fields"]
    resp = client.post("/api/v1/talent/assessments", json={"entry_id": entry.id, "year": 2026, "experts": ["expert1", "expert2"]},
                       headers=admin)
    assert resp.status_code == 201
    a = resp.get_json()
    step = f"/api/v1/talent/assessments/{a['id']}/step"
    assert client.post(step, json={"note": "好"}, headers=_bearer(db, ent)).status_code == 403
    assert client.post(step, json={"scores": "x"}, headers=_bearer(db, world.trainee)).status_code == 422
    assert client.post(step, json={"scores": full(9)}, headers=_bearer(db, world.trainee)).get_json()["step"] == "enterprise"
    assert client.post(step, json={"note": "同意"}, headers=_bearer(db, ent)).get_json()["step"] == "experts"
    assert client.get(f"/api/v1/talent/assessments/{a['id']}", headers=_bearer(db, world.staff_nt)).status_code == 404
    client.post(step, json={"scores": full(9)}, headers=_bearer(db, experts[0]))
    body = client.post(step, json={"scores": full(9.5)}, headers=_bearer(db, experts[1])).get_json()
    assert body["step"] == "bureau" and body["total"] == 92.5 and body["stars"] == 5
    assert client.post(step, json={"note": ""}, headers=_bearer(db, world.rugao_admin)).status_code == 404
    assert client.post(step, json={"note": ""}, headers=admin).get_json()["step"] == AssessmentStep.confirmed.value


def test_provincial_standard_api_and_selection(client, db, world):
    entry, ent, experts = _setup(db, world)
    admin = _bearer(db, world.province_admin)
    doc = client.get("/api/v1/talent/evaluation/standard", headers=admin).get_json()
    assert doc["indicators"][0]["name_basis"]["kind"] == "source" and doc["bands"][0]["basis"]["kind"] == "example"
    bad = {k: doc[k] for k in ("indicators", "bands", "outlier_threshold", "nomination_min_stars")}
    bad["bands"] = [b for b in bad["bands"] if b["stars"] != 3]
    resp = client.put("/api/v1/talent/evaluation/standard", json=bad, headers=admin)
    assert resp.status_code == 409 and any("80–90" in k for k in resp.get_json()["fields"])  # well formed, inconsistent
    good = dict(bad, bands=doc["bands"], outlier_threshold=5)
    assert client.put("/api/v1/talent/evaluation/standard", json=good, headers=admin).get_json()["outlier_threshold"] == 5
    assert client.put("/api/v1/talent/evaluation/standard", json=good, headers=_bearer(db, world.city_admin)).status_code == 403
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/talent/evaluation/standard" in str(spec["paths"].keys()) and "/talent/assessments/{assessment_id}/step" in str(spec["paths"].keys())
    # the selection through the pages: open, nominate the starred, decide, publish masked
    entry.stars = 5
    db.flush()
    login(client, "nt_admin")
    token = csrf_token(client, "/talent/selections")
    resp = client.post("/talent/selections", data={"sel-csrf_token": token, "sel-year": 2026, "sel-title": "2026年度优秀首席质量官"})
    assert resp.status_code == 302
    url = resp.headers["Location"]
    assert client.post(url, data={"nom-csrf_token": token, "action": "nominate", "nom-entry_id": entry.id,
                                  "nom-reason": "成效显著"}).status_code == 302
    nom_id = int(re.search(r'name="selected" value="(\d+)"', client.get(url).get_data(as_text=True)).group(1))
    assert client.post(url, data={"dec-csrf_token": token, "action": "decide", "selected": nom_id, "dec-note": "通过"}).status_code == 302
    assert client.post(url, data={"pub-csrf_token": token, "action": "publish", "pub-objection_days": 7}).status_code == 302
    line = db.scalar(select(NoticeEntry).order_by(NoticeEntry.id.desc()))
    assert line.name != entry.name and "*" in line.name
    login(client, "wangfang")
    assert client.get(url).status_code == 403


def test_provincial_demo_has_a_complete_and_an_open_evaluation(app, db, client):
    import datetime as dt

    from lms import demo
    from talent.models import Assessment
    with app.app_context():
        demo.seed(db, dt.date.today())
    db.flush()
    rows = db.scalars(select(Assessment).order_by(Assessment.year)).all()
    assert [a.step for a in rows] == [AssessmentStep.confirmed, AssessmentStep.experts]
    assert rows[0].stars and rows[0].entry.stars == rows[0].stars
    login(client, "js_staff", demo.DEMO_PASSWORD)  # the expert still to score sees the form
    assert 'id="assessment-step-form"' in client.get(f"/talent/assessments/{rows[1].id}").get_data(as_text=True)
    for user in ("qidong_admin", "trainee", "qd_enterprise", "nt_staff"):
        login(client, user, demo.DEMO_PASSWORD)
        html = client.get("/talent/assessments").get_data(as_text=True)
        assert f'id="assessment-{rows[1].id}"' in html, user
        assert client.get(f"/talent/assessments/{rows[0].id}").status_code == 200
    login(client, "jiangsu_admin", demo.DEMO_PASSWORD)
    html = client.get("/talent/indicators").get_data(as_text=True)
    assert html.count('data-basis="source"') == 6 and 'id="band-table"' in html
    assert client.get("/talent/selections").status_code == 200
