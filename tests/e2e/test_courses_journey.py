"""Issue 4's browser journey: an ineligible trainee is told why, an eligible one applies, staff approve,
staff put the rotating QR code on the projector, the trainee checks in on a phone with the URL decoded
from the QR image, and the attendance rate shows on both sides."""
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import zxingcpp
from PIL import Image
from sqlalchemy import select

from courses import eligibility
from courses.models import Enrollment, TrainingClass
from lms.auth.models import User
from lms.db import db
from lms.domain import Role
from tests.e2e.conftest import click_to, e2e_login


def _demo_class_and_ineligible_trainee(app):
    with app.app_context():
        with db.job_session() as s:
            klass = s.scalar(select(TrainingClass).where(TrainingClass.name.like("%启东市首席质量官基础培训班%")))
            enrolled = set(s.scalars(select(Enrollment.user_id).where(Enrollment.class_id == klass.id)))
            for user in s.scalars(select(User).where(User.role == Role.trainee).order_by(User.username)):
                if user.id in enrolled:
                    continue
                ev = eligibility.evaluate(s, user, klass.programme, dt.date.today())
                if not ev.eligible and any(c.code == "quality_years_min" for c in ev.unmet):
                    return klass.id, user.username
    raise AssertionError("the demo data has no ineligible trainee")


def test_apply_approve_and_check_in_by_qr(page, phone_page, live_server, e2e_app):
    base = live_server
    class_id, weak = _demo_class_and_ineligible_trainee(e2e_app)

    # 1. An ineligible trainee is told exactly why.
    e2e_login(page, base, weak)
    page.goto(f"{base}/courses/classes/{class_id}/apply")
    assert page.locator("#not-eligible").is_visible()
    unmet = page.locator('#eligibility li[data-met="no"]')
    assert "质量工作年限" in unmet.first.inner_text() or "质量工作年限" in page.locator("#eligibility").inner_text()
    assert page.locator("#apply-form").count() == 0
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/auth/login"))

    # ... and an eligible one applies, signing the pledge.
    e2e_login(page, base, "trainee")
    page.goto(f"{base}/courses/classes")
    click_to(page, f'#class-list a[data-class="{class_id}"]', f"{base}/courses/classes/{class_id}")
    click_to(page, "#apply-link", f"{base}/courses/classes/{class_id}/apply")
    assert page.locator('#eligibility li[data-met="no"]').count() == 0
    page.check("#accept_pledge")
    page.click("#apply-submit")
    page.wait_for_url(f"{base}/courses/my")
    assert "待审核" in page.locator(".enrollment-status").first.inner_text()
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/auth/login"))

    # 2. Staff approve.
    e2e_login(page, base, "nt_staff")
    page.goto(f"{base}/courses/classes/{class_id}")
    click_to(page, "#class-enrollments")
    row = page.locator('#enrollments-table tr[data-username="trainee"]')
    click_to(page, row.locator("button.approve"))
    assert "已录取" in page.locator('#enrollments-table tr[data-username="trainee"] .status').inner_text()

    # 3. Staff add a session running now and open the projector.
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    start = max(now - dt.timedelta(minutes=10), now.replace(hour=0, minute=0))
    end = min(now + dt.timedelta(hours=1), now.replace(hour=23, minute=59))
    page.goto(f"{base}/courses/classes/{class_id}")
    page.fill("#date", now.strftime("%Y-%m-%d"))
    page.fill("#start_time", start.strftime("%H:%M"))
    page.fill("#end_time", end.strftime("%H:%M"))
    page.fill("#topic", "扫码签到演示课")
    click_to(page, "#session-submit")
    session_row = page.locator("#timetable tr", has_text="扫码签到演示课")
    session_id = session_row.get_attribute("data-session")
    session_row.locator(f"#projector-{session_id}").click()
    page.wait_for_url(re.compile(r".*/projector$"))

    e2e_login(phone_page, base, "trainee")  # the phone is logged in before the scan
    qr = page.locator("#qr-image")
    qr.wait_for(state="visible")
    page.wait_for_function("document.getElementById('qr-image').complete && document.getElementById('qr-image').naturalWidth > 0")
    png = qr.screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "no QR code found in the projector image"
    url = found[0].text
    assert url.startswith(f"{base}/courses/checkin/{session_id}?t=")

    phone_page.goto(url)
    phone_page.click("#confirm-checkin")
    done = phone_page.locator("#checkin-done")
    done.wait_for()
    assert "已签到" in done.inner_text()
    phone_rate = phone_page.locator("#checkin-rate").inner_text()
    assert "%" in phone_rate

    # Staff see the check-in live on the projector.
    page.locator("#live-list .live-item", has_text="王芳").wait_for(timeout=10000)
    assert page.locator("#live-count").inner_text() == "1"

    # 4. The rate shows on both sides, and they agree.
    page.goto(f"{base}/courses/sessions/{session_id}/attendance")
    staff_rate = page.locator('#roster tr[data-username="trainee"] .rate').inner_text().strip()
    assert "出勤" in page.locator('#roster tr[data-username="trainee"] .att-status').inner_text() or \
        "迟到" in page.locator('#roster tr[data-username="trainee"] .att-status').inner_text()
    phone_page.goto(f"{base}/courses/my")
    card = phone_page.locator(".card", has_text="启东市首席质量官基础培训班")
    so_far = card.locator(".rate-so-far").inner_text().strip()
    overall = card.locator(".rate-overall").inner_text().strip()
    assert staff_rate == f"{so_far} / {overall}"
    assert so_far != "0%"
