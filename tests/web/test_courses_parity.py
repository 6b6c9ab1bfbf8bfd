"""The attendance page and the API's attendance sheet are one use case: both call
``courses.queries.attendance_sheet`` and show the same figures for the same session."""
import re

from courses import checkin, queries
from courses.models import AttendanceStatus
from lms.auth import services as auth_services
from lms.db import utcnow
from lms.templating import today_local
from tests import courses_support as cs


def _page_rows(html: str) -> dict[int, tuple[str, str]]:
    """Per enrolment on the page: the status label (or '') and the rates cell."""
    rows = {}
    for m in re.finditer(r'<tr data-enrollment="(\d+)".*?<td class="att-status">(.*?)</td>\s*<td class="rate">(.*?)</td>',
                         html, re.S):
        status = re.sub(r"<.*", "", m.group(2), flags=re.S).strip()
        rows[int(m.group(1))] = ("" if "未记录" in m.group(2) else status, m.group(3).strip())
    return rows


def test_parity_attendance_page_and_api(client, db, login_as, world, monkeypatch):
    klass = cs.training_class(db, world, start=today_local(), sessions=2)
    sess = cs.session_now(db, world, klass)
    (a, ea), (b, eb), (_c, ec) = (cs.admitted(db, world, klass, name) for name in ("par_a", "par_b", "par_c"))
    now = utcnow()
    checkin.check_in(db, a, sess, now, device_hash="one-phone", address_hash="x")
    checkin.check_in(db, b, sess, now, device_hash="one-phone", address_hash="y")  # the same phone: flagged
    checkin.mark(db, world.staff_nt, sess, ec, "absent", "未到场", now)
    earlier = klass.sessions[0]
    if earlier.starts_at <= now:
        checkin.mark(db, world.staff_nt, earlier, ea, "present", "补记", now)
    db.commit()
    calls = []
    real = queries.attendance_sheet
    monkeypatch.setattr(queries, "attendance_sheet", lambda *args: calls.append(args[1].id) or real(*args))

    login_as("nt_staff")
    html = client.get(f"/courses/sessions/{sess.id}/attendance").get_data(as_text=True)
    _t, clear = auth_services.create_token(db, world.staff_nt, "测试")
    api = client.get(f"/api/v1/sessions/{sess.id}/attendance", headers={"Authorization": f"Bearer {clear}"}).get_json()

    assert calls == [sess.id, sess.id]  # both answered from the one query
    page = _page_rows(html)
    assert set(page) == {item["enrollment_id"] for item in api["items"]} == {ea.id, eb.id, ec.id}
    assert api["total"] == 3 and api["flagged"] is True and 'id="shared-flag"' in html
    for item in api["items"]:
        label = AttendanceStatus(item["status"]).label if item["status"] else ""
        rates = "%d%% / %d%%" % (item["attendance_rate_so_far"] * 100, item["attendance_rate_overall"] * 100)
        assert page[item["enrollment_id"]] == (label, rates)
    flags = {item["enrollment_id"]: item["device_flag"] for item in api["items"]}
    assert flags == {ea.id: True, eb.id: True, ec.id: False}
    assert html.count("同一设备多人签到") == 2
