"""The public notices (公示) through the API's door: anyone reads the published notices and their masked lines (the
page's exact search, never a full ID or phone); a bureau publishes, reads and resolves objections and closes a notice,
through the services the pages call, scoped to its region and below."""
import datetime as dt

from sqlalchemy import select

from lms.auth import services as auth_services
from talent.models import Notice, NoticeObjection, ObjectionStatus
from talent.services import notices
from tests.unit.test_talent_lifecycle import certify


def _bearer(db, user) -> dict:
    _tok, clear = auth_services.create_token(db, user, "t")
    return {"Authorization": f"Bearer {clear}"}


def test_talent_notices_api_public_reads_match_the_page(client, db, world):
    certify(db, world)
    n = notices.publish_notice(db, world.city_admin, title="南通市人才库公示", objection_days=7, contact="0513-1",
                               kind="certified", today=dt.date(2026, 1, 1))
    hidden = notices.publish_notice(db, world.city_admin, title="撤回的公示", objection_days=7, contact="",
                                    kind="certified", today=dt.date(2026, 1, 2))
    hidden.withdrawn = True
    db.commit()
    listed = client.get("/api/v1/talent/notices").get_json()
    assert [x["id"] for x in listed["items"]] == [n.id] and listed["total"] == 1
    assert listed["items"][0] | {"open_for_objections": None} == {
        "id": n.id, "title": "南通市人才库公示", "region": "南通市", "kind": "certified", "published_on": "2026-01-01",
        "objection_until": "2026-01-08", "closed_on": None, "contact": "0513-1", "open_for_objections": None}
    assert client.get(f"/api/v1/talent/notices/{n.id}").get_json()["title"] == "南通市人才库公示"
    assert client.get(f"/api/v1/talent/notices/{hidden.id}").status_code == 404
    assert client.get(f"/api/v1/talent/notices/{hidden.id}/lines").status_code == 404
    lines = client.get(f"/api/v1/talent/notices/{n.id}/lines").get_json()
    profile = world.trainee.trainee_profile[0]
    (line,) = lines["items"]
    assert line["certificate_numbers"] == ["JS-B-2026-800001"] and line["region"] == "启东市"
    assert "*" in line["id_number_masked"] and profile.id_number not in str(lines) and profile.phone not in str(lines)
    by_cert = client.get(f"/api/v1/talent/notices/{n.id}/lines", query_string={"certificate": "JS-B-2026-800001"})
    assert by_cert.get_json()["items"] == [line]
    miss = client.get(f"/api/v1/talent/notices/{n.id}/lines", query_string={"name": "王"})
    assert miss.get_json()["items"] == []  # exact names only, as on the page


def test_talent_notices_api_bureau_publishes_resolves_and_closes(client, db, world):
    certify(db, world)
    nt, qd, fj = _bearer(db, world.city_admin), _bearer(db, world.county_admin), _bearer(db, world.fujian_admin)
    db.commit()
    bad = client.post("/api/v1/talent/notices", json={"title": " ", "objection_days": 3}, headers=nt)
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) >= {"title", "objection_days"}
    assert db.scalar(select(Notice.id)) is None  # refused whole
    typed = client.post("/api/v1/talent/notices", json={"title": ["公示"], "objection_days": 7}, headers=nt)
    assert typed.status_code == 422 and list(typed.get_json()["fields"]) == ["title"]
    text_days = client.post("/api/v1/talent/notices", json={"title": "公示", "objection_days": "7"}, headers=nt)
    assert text_days.status_code == 422 and list(text_days.get_json()["fields"]) == ["objection_days"]
    resp = client.post("/api/v1/talent/notices", json={"title": "启东市受聘首席质量官公示", "objection_days": 7,
                                                       "contact": "0513-2", "kind": "certified"}, headers=qd)
    assert resp.status_code == 201
    nid = resp.get_json()["id"]
    assert resp.get_json()["region"] == "启东市" and resp.get_json()["open_for_objections"] is True
    assert client.post("/api/v1/talent/notices", json={"title": "x", "objection_days": 7},
                       headers=_bearer(db, world.staff_nt)).status_code == 403
    notice = db.get(Notice, nid)
    obj = notices.lodge_objection(db, notice, line_id=None, text="该同志已于九月离职，请核实。", contact_name="张三",
                                  contact="13912345678", today=notice.published_on)
    db.commit()
    # the county that published it and the city above read the objections; another province does not
    got = client.get(f"/api/v1/talent/notices/{nid}/objections", headers=nt).get_json()
    assert [(o["id"], o["status"], o["contact_name"]) for o in got] == [(obj.id, "open", "张三")]
    assert "13912345678" not in str(got) and got[0]["contact_masked"].startswith("139")
    assert client.get(f"/api/v1/talent/notices/{nid}/objections", headers=fj).status_code == 404
    assert client.post(f"/api/v1/talent/objections/{obj.id}/resolve", json={"upheld": True, "resolution": "已核实"},
                       headers=fj).status_code == 404
    # closing waits for the period and the objections
    early = client.post(f"/api/v1/talent/notices/{nid}/close", headers=qd)
    assert early.status_code == 409 and "期满" in early.get_json()["message"]
    done = client.post(f"/api/v1/talent/objections/{obj.id}/resolve", json={"upheld": True, "resolution": "已核实，移出名单"},
                       headers=qd)
    assert done.status_code == 200 and done.get_json()["status"] == "upheld"
    db.expire_all()
    assert db.get(NoticeObjection, obj.id).status == ObjectionStatus.upheld
    again = client.post(f"/api/v1/talent/objections/{obj.id}/resolve", json={"upheld": False, "resolution": "改判"},
                        headers=qd)
    assert again.status_code == 409
    notice = db.get(Notice, nid)
    notice.published_on, notice.objection_until = dt.date(2020, 1, 1), dt.date(2020, 1, 8)  # the period is over
    db.commit()
    closed = client.post(f"/api/v1/talent/notices/{nid}/close", headers=qd)
    assert closed.status_code == 200 and closed.get_json()["open_for_objections"] is False
    db.expire_all()
    assert db.get(Notice, nid).closed_on.isoformat() == closed.get_json()["closed_on"]
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/talent/notices", "/api/v1/talent/notices/{notice_id}/lines",
            "/api/v1/talent/objections/{objection_id}/resolve"} <= set(spec)


def test_talent_notices_api_search_is_limited_as_the_page(client, db, world):
    """Exact-name guessing through the API meets the public page's limit per address (PUBLIC_LIMIT)."""
    certify(db, world)
    n = notices.publish_notice(db, world.city_admin, title="南通市人才库公示", objection_days=7, contact="",
                               kind="certified", today=dt.date(2026, 1, 1))
    db.commit()
    codes = [client.get(f"/api/v1/talent/notices/{n.id}/lines", query_string={"name": f"张{i}"}).status_code
             for i in range(35)]
    assert codes[:30] == [200] * 30 and 429 in codes[30:]
    refused = client.get(f"/api/v1/talent/notices/{n.id}/lines", query_string={"name": "张"})
    assert refused.status_code == 429 and refused.is_json and refused.get_json()["message"]
