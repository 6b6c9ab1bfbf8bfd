"""Issue 17: exam integrity that staff can see — departures from the exam page, pastes and copies are logged
with times (stored once, even when resent after going offline), shown on the staff's answer sheet; a per-exam
limit hands the attempt in; the page carries a watermark of the trainee's masked identity and the time."""
import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from exams import attempts
from exams.models import Attempt, AttemptEvent, AttemptStatus
from lms.auth.services import create_token
from lms.pii import mask_id_number
from tests import exam_factories as f
from tests.conftest import login


@pytest.fixture
def exam_setup(db, world):
    prog = f.make_programme(db, world.jiangsu)
    cls = f.make_class(db, world.inst_nt, prog)
    f.enrol(db, cls, world.trainee)
    bank = f.make_bank(db, world.staff_nt)
    now = attempts.utcnow()
    strict = f.make_exam(db, world.staff_nt, cls, bank, opens_at=now - dt.timedelta(hours=1),
                         closes_at=now + dt.timedelta(days=1), max_departures=3)
    db.commit()
    return strict


def _sit(c, exam):
    resp = c.post(f"/exams/{exam.id}/start", data={"csrf_token": _token(c, "/exams/my")})
    aid = int(re.search(r"/attempts/(\d+)", resp.headers["Location"]).group(1))
    page = c.get(f"/exams/attempts/{aid}").get_data(as_text=True)
    return aid, page, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _token(c, url):
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(url).get_data(as_text=True)).group(1)


def _report(c, aid, token, events):
    return c.post(f"/exams/attempts/{aid}/events", data=json.dumps({"events": events}),
                  content_type="application/json", headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_trainee_exam_page_carries_the_masked_watermark_and_the_rule(login_as, db, world, exam_setup):
    c = login_as("wangfang")
    _aid, page, _t = _sit(c, exam_setup)
    prof = world.trainee.trainee_profile[0]
    assert f"王* {mask_id_number(prof.id_number)}" in page and prof.id_number not in page
    assert 'id="exam-watermark"' in page and "integrity.js" in page
    assert "离开 3 次将自动交卷" in page


def test_trainee_exam_departures_are_logged_once_and_hand_in_at_the_limit(login_as, db, world, exam_setup):
    c = login_as("wangfang")
    aid, _page, token = _sit(c, exam_setup)
    at = dt.datetime.now(dt.timezone.utc).isoformat()
    r = _report(c, aid, token, [{"seq": 1, "kind": "hidden", "at": at}, {"seq": 2, "kind": "paste", "at": at}])
    assert r.status_code == 200 and r.json == {"departures": 1, "limit": 3, "submitted": False, "result": None}
    # the same events resent after a lost connection, with one more departure: stored once
    r = _report(c, aid, token, [{"seq": 1, "kind": "hidden", "at": at}, {"seq": 2, "kind": "paste", "at": at},
                                {"seq": 3, "kind": "blur", "at": at}])
    assert r.json["departures"] == 2 and not r.json["submitted"]
    assert db.scalar(select(func.count(AttemptEvent.id)).where(AttemptEvent.attempt_id == aid)) == 3
    bad = _report(c, aid, token, [{"seq": 4, "kind": "screenshot", "at": at}])
    assert bad.status_code == 422 and bad.json["message"] == "事件格式无效"
    r = _report(c, aid, token, [{"seq": 4, "kind": "hidden", "at": "not a time"}])
    assert r.json["submitted"] and r.json["result"] == f"/exams/attempts/{aid}/result"
    db.expire_all()
    assert db.get(Attempt, aid).status == AttemptStatus.submitted
    # events queued offline before the close still arrive afterwards; the attempt stays closed
    r = _report(c, aid, token, [{"seq": 5, "kind": "copy", "at": at}])
    assert r.status_code == 200 and r.json["departures"] == 3 and not r.json["submitted"]


def test_trainee_exam_log_is_shown_to_staff_and_no_one_else(login_as, app, db, world, exam_setup):
    c = login_as("wangfang")
    aid, _page, token = _sit(c, exam_setup)
    at = dt.datetime.now(dt.timezone.utc).isoformat()
    _report(c, aid, token, [{"seq": 1, "kind": "hidden", "at": at}, {"seq": 2, "kind": "paste", "at": at}])
    other = app.test_client()
    login(other, "linfz")
    assert _report(other, aid, _token(other, "/exams/my"), [{"seq": 9, "kind": "blur", "at": at}]).status_code == 404
    staff = app.test_client()
    login(staff, "nt_staff")
    html = staff.get(f"/exams/manage/attempts/{aid}").get_data(as_text=True)
    assert html.count('class="integrity-event"') == 2
    assert "离开考试页面（切换标签页或应用）" in html and "粘贴" in html and "（离开 3 次自动交卷）" in html
    assert staff.get(f"/exams/manage/attempts/{aid}", headers={"Accept-Language": "en"}).status_code == 200


def test_journey_exam_api_gives_the_limit_and_the_integrity_log(app, client, login_as, db, world, exam_setup):
    """Issue 17 (remaining 3): the exam API gives the per-exam departures limit and an attempt's integrity log,
    as the staff's answer sheet shows them (the same integrity services), scoped like the pages."""
    c = login_as("wangfang")
    aid, _page, token = _sit(c, exam_setup)
    at = dt.datetime.now(dt.timezone.utc).isoformat()
    assert _report(c, aid, token, [{"seq": 1, "kind": "hidden", "at": at}, {"seq": 2, "kind": "paste", "at": at},
                                   {"seq": 3, "kind": "blur", "at": at}]).status_code == 200
    _tok, secret = create_token(db, world.staff_nt, "机构系统")
    _tok2, other = create_token(db, world.staff_fj, "别的机构")
    db.commit()
    h = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/api/v1/exams/{exam_setup.id}", headers=h).get_json()["max_departures"] == 3
    log = client.get(f"/api/v1/exams/attempts/{aid}/integrity", headers=h).get_json()
    assert log["departures"] == 2 and log["max_departures"] == 3 and log["status"] == "open"
    assert [(e["seq"], e["kind"]) for e in log["events"]] == [(1, "hidden"), (2, "paste"), (3, "blur")]
    assert log["events"][1]["label"] == "粘贴"
    staff = app.test_client()
    login(staff, "nt_staff")
    sheet = staff.get(f"/exams/manage/attempts/{aid}").get_data(as_text=True)
    assert all(e["label"] in sheet for e in log["events"])
    assert client.get(f"/api/v1/exams/attempts/{aid}/integrity",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.get("/api/v1/exams/attempts/999999/integrity", headers=h).status_code == 404
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/exams/attempts/{attempt_id}/integrity" in paths
