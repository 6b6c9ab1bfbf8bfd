"""QR check-in over HTTP: the projector's QR URL, login in between, confirm once, refusals with clear
messages and no record; the live list; manual marking and Excel import through the pages; the API."""
import io
import re
from urllib.parse import parse_qs, urlparse

from openpyxl import Workbook
from sqlalchemy import func, select

from courses import checkin
from courses.models import AttendanceRecord, AttendanceStatus
from lms.auth import services as auth_services
from lms.db import utcnow
from lms.templating import today_local
from tests import courses_support as cs
from tests.conftest import post_form


def _setup(db, world):
    klass = cs.training_class(db, world, start=today_local())
    sess = cs.session_now(db, world, klass)
    user, e = cs.admitted(db, world, klass, "scanner")
    return klass, sess, user, e


def _qr_url(client, sess):
    resp = client.get(f"/courses/sessions/{sess.id}/qr.svg")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in resp.data
    return resp.headers["X-Checkin-Url"]


def _records(db, sess):
    return db.scalar(select(func.count(AttendanceRecord.id)).where(AttendanceRecord.session_id == sess.id))


def test_scan_login_confirm_once(client, db, login_as, world):
    klass, sess, user, e = _setup(db, world)
    login_as("nt_staff")
    url = _qr_url(client, sess)
    path = urlparse(url).path + "?" + urlparse(url).query
    cs.logout(client)
    resp = client.get(path)  # not logged in: verified, then sent to log in with a ticket
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    next_url = parse_qs(urlparse(resp.headers["Location"]).query)["next"][0]
    assert "ticket=" in next_url and "t=" not in next_url.replace("ticket=", "")
    resp = post_form(client, "/auth/login?next=" + next_url, {"username": "scanner", "password": "Passw0rd!cqo"},
                     token_from="/auth/login")
    assert resp.headers["Location"] == next_url
    page = client.get(next_url).get_data(as_text=True)
    assert 'id="confirm-checkin"' in page and _records(db, sess) == 0
    ticket = re.search(r'name="ticket"[^>]*value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    confirm = f"/courses/checkin/{sess.id}"
    r1 = client.post(confirm, data={"csrf_token": token, "ticket": ticket})
    r2 = client.post(confirm, data={"csrf_token": token, "ticket": ticket})  # a double tap
    assert r1.status_code == r2.status_code == 200
    assert 'id="checkin-done"' in r2.get_data(as_text=True) and "出勤率" in r2.get_data(as_text=True)
    assert _records(db, sess) == 1
    rec = db.scalar(select(AttendanceRecord).where(AttendanceRecord.session_id == sess.id))
    assert len(rec.device_hash) == 64 and len(rec.address_hash) == 64 and "127.0.0.1" not in rec.address_hash
    assert "cqo_device" in r1.headers.get("Set-Cookie", "")


def _one_letter_changed(token: str) -> str:
    """The token with its MAC's first hex digit changed (a fixed "00" ending matched the real MAC 1 run in 256)."""
    head, _, mac = token.rpartition(".")
    return f"{head}.{'1' if mac[0] == '0' else '0'}{mac[1:]}"


def test_bad_tokens_give_clear_messages_and_no_record(client, db, login_as, world, app):
    klass, sess, user, e = _setup(db, world)
    other = cs.session_now(db, world, klass)
    key = checkin.derive_key(app.config["SECRET_KEY"], "attendance-qr")
    login_as("scanner")
    cases = {
        checkin.make_token(key, sess.id, utcnow().replace(year=2025)): "已过期",
        checkin.make_token(key, other.id, utcnow()): "另一个课次",
        _one_letter_changed(checkin.make_token(key, sess.id, utcnow())): "篡改",
        "nonsense": "无效",
    }
    for tok, words in cases.items():
        resp = client.get(f"/courses/checkin/{sess.id}?t={tok}")
        assert resp.status_code == 400 and words in resp.get_data(as_text=True), words
    resp = client.post(f"/courses/checkin/{sess.id}", data={"csrf_token": "x", "ticket": "forged"})
    assert resp.status_code == 400
    assert _records(db, sess) == 0


def test_a_trainee_not_admitted_is_refused(client, db, login_as, world, app):
    klass, sess, user, e = _setup(db, world)
    key = checkin.derive_key(app.config["SECRET_KEY"], "attendance-qr")
    login_as("wangfang")
    resp = client.get(f"/courses/checkin/{sess.id}?t={checkin.make_token(key, sess.id, utcnow())}")
    assert resp.status_code == 403 and "不是本培训班的已录取学员" in resp.get_data(as_text=True)
    assert _records(db, sess) == 0


def test_projector_live_list_and_manual_marking(client, db, login_as, world):
    klass, sess, user, e = _setup(db, world)
    checkin.check_in(db, user, sess, utcnow(), device_hash="a", address_hash="b")
    login_as("nt_staff")
    html = client.get(f"/courses/sessions/{sess.id}/projector").get_data(as_text=True)
    assert 'id="qr-image"' in html and "projector.js" in html
    data = client.get(f"/courses/sessions/{sess.id}/live.json").get_json()
    assert data["attended"] == 1 and data["roster"] == 1 and data["items"][0]["status"] in ("present", "late")
    page = f"/courses/sessions/{sess.id}/attendance"
    resp = post_form(client, f"{page}/mark", {"enrollment_id": e.id, "status": "absent", "reason": ""}, token_from=page,
                     follow_redirects=True)
    assert "原因" in resp.get_data(as_text=True)
    post_form(client, f"{page}/mark", {"enrollment_id": e.id, "status": "excused", "reason": "单位急事请假"}, token_from=page)
    rec = db.scalar(select(AttendanceRecord).where(AttendanceRecord.session_id == sess.id))
    db.refresh(rec)
    assert rec.status == AttendanceStatus.excused and rec.method == "manual"


def test_excel_import_through_the_page(client, db, login_as, world):
    klass, sess, user, e = _setup(db, world)
    login_as("nt_staff")
    page = f"/courses/sessions/{sess.id}/attendance"
    template = client.get(f"{page}/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    wb = Workbook()
    wb.active.append(["用户名", "姓名", "状态", "原因"])
    wb.active.append(["scanner", "", "迟到", "堵车"])
    wb.active.append(["ghost", "", "出勤", ""])
    buf = io.BytesIO()
    wb.save(buf)
    resp = post_form(client, f"{page}/import", {"file": (io.BytesIO(buf.getvalue()), "a.xlsx")}, token_from=page,
                     content_type="multipart/form-data", follow_redirects=True)
    assert "第 3 行「用户名」列" in resp.get_data(as_text=True) and _records(db, sess) == 0
    wb.active.delete_rows(3)
    buf = io.BytesIO()
    wb.save(buf)
    resp = post_form(client, f"{page}/import", {"file": (io.BytesIO(buf.getvalue()), "a.xlsx")}, token_from=page,
                     content_type="multipart/form-data", follow_redirects=True)
    assert "已导入 1 条" in resp.get_data(as_text=True) and _records(db, sess) == 1


def _bearer(db, user):
    _t, clear = auth_services.create_token(db, user, "测试")
    return {"Authorization": f"Bearer {clear}"}


def test_api_lists_classes_and_enrolments_and_posts_attendance(client, db, world):
    klass, sess, user, e = _setup(db, world)
    h = _bearer(db, world.staff_nt)
    data = client.get("/api/v1/classes", headers=h).get_json()
    assert data["total"] == 1 and data["items"][0]["id"] == klass.id and data["items"][0]["sessions"]
    enr = client.get(f"/api/v1/classes/{klass.id}/enrollments", headers=h).get_json()
    assert enr["items"][0]["username"] == "scanner" and enr["items"][0]["status"] == "approved"
    bad = client.post(f"/api/v1/sessions/{sess.id}/attendance", headers=h,
                      json={"items": [{"enrollment_id": e.id, "status": "present", "reason": "接口同步"},
                                      {"enrollment_id": e.id, "status": "nope", "reason": "接口同步"}]})
    assert bad.status_code == 422 and "items[1].status" in bad.get_json()["fields"]
    assert _records(db, sess) == 0
    ok = client.post(f"/api/v1/sessions/{sess.id}/attendance", headers=h,
                     json={"items": [{"enrollment_id": e.id, "status": "present", "reason": "接口同步"}]})
    assert ok.status_code == 200 and ok.get_json() == {"recorded": 1}
    h_fj = _bearer(db, world.staff_fj)
    assert client.get("/api/v1/classes", headers=h_fj).get_json()["total"] == 0
    assert client.get(f"/api/v1/classes/{klass.id}/enrollments", headers=h_fj).status_code == 404
    assert client.post(f"/api/v1/sessions/{sess.id}/attendance", headers=h_fj,
                       json={"items": [{"enrollment_id": e.id, "status": "absent", "reason": "越权"}]}).status_code == 404
    assert client.get("/api/v1/classes", headers=_bearer(db, user)).status_code == 403
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/classes", "/api/v1/classes/{class_id}/enrollments", "/api/v1/sessions/{session_id}/attendance"} <= set(paths)


def test_confirm_reads_outside_the_write_transaction_and_writes_the_login_touch_with_it(client, db, login_as, world):
    """On SQLite a write transaction holds the database's one write lock (BEGIN IMMEDIATE): the confirm POST
    must read (session user, class session, enrolment, rates) outside it and write (the record, its audit
    event and the session's last-seen time the login loader touched) inside it, and nothing else."""
    import datetime as dt

    from sqlalchemy import event, update

    from lms import db as lms_db
    from lms.auth.models import AuditEvent, UserSession

    klass, sess, user, e = _setup(db, world)
    login_as("scanner")
    ticket = checkin_ticket(client, sess)
    page = client.get(f"/courses/checkin/{sess.id}?ticket={ticket}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    stale = utcnow() - dt.timedelta(hours=1)
    db.execute(update(UserSession).where(UserSession.user_id == user.id).values(last_seen_at=stale))
    seen = []

    def spy(conn, cursor, statement, params, context, executemany):
        seen.append((statement.split()[0].upper(), lms_db._write_intent.get(), statement))

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        resp = client.post(f"/courses/checkin/{sess.id}", data={"csrf_token": token, "ticket": ticket})
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert resp.status_code == 200 and 'id="checkin-done"' in resp.get_data(as_text=True)
    writes = [s for kind, intent, s in seen if kind in ("INSERT", "UPDATE", "DELETE")]
    assert any("attendance_records" in s for s in writes) and any("audit_events" in s for s in writes)
    assert any("user_sessions" in s for s in writes)  # the touched last_seen_at is not lost …
    assert all(intent for kind, intent, _s in seen if kind in ("INSERT", "UPDATE", "DELETE"))  # … nor written early
    assert not any(intent for kind, intent, _s in seen if kind == "SELECT")
    assert _records(db, sess) == 1
    assert db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "attendance.checkin")) == 1
    row = db.scalar(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.last_seen_at.desc()))
    db.refresh(row)
    assert row.last_seen_at > stale


def checkin_ticket(client, sess) -> str:
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    with client.application.app_context():
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="courses.checkin-ticket").dumps({"s": sess.id})
