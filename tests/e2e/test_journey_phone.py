"""Issue 17: phone and projector. On the exam, check-in and verify pages every control a finger taps is at least
44 × 44 CSS px, measured in Chromium at a phone's size (a radio or checkbox counts by its label when the label, the
whole option row, contains it; a tap anywhere on the row selects the option); the check-in projector shows the
QR code and the scan instruction together on a 1280 × 720 screen. axe-core checks the same pages."""
from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import zxingcpp
from PIL import Image
from sqlalchemy import select

from certificates.models import Certificate
from courses.models import TrainingClass
from lms.db import db
from tests.e2e.conftest import click_to, e2e_login
from tests.e2e.test_journey_a11y import axe_violations

MIN = 44
SMALL_TARGETS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [role=button], summary')) {
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') continue;
    let r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;          // inside a closed menu: not on screen
    if (r.right <= 0 || r.bottom <= -10000) continue;       // the skip link, off screen until focused
    if ((el.type === 'radio' || el.type === 'checkbox') && el.labels && el.labels.length) {
      const l = el.labels[0].getBoundingClientRect();
      if (l.left <= r.left && l.right >= r.right && l.top <= r.top && l.bottom >= r.bottom) r = l;
    }
    if (r.width < MIN - 0.5 || r.height < MIN - 0.5) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} ${Math.round(r.width)}x${Math.round(r.height)} ` +
               `${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 20)}`);
    }
  }
  return out;
}""".replace("MIN", str(MIN))


def small_targets(page) -> list[str]:
    """Controls on the page smaller than 44 × 44 CSS px, measured once its stylesheets have loaded: after a
    form's navigation an element can be waited for before the load event, and measured without the CSS."""
    page.wait_for_load_state()
    return page.evaluate(SMALL_TARGETS)


def _class_id(app, name_part: str) -> int:
    with app.app_context():
        return db.session.scalar(select(TrainingClass.id).where(TrainingClass.name.like(f"%{name_part}%")))


def test_journey_phone_projector_fits_and_check_in_targets(page, phone_page, live_server, e2e_app):
    base = live_server
    class_id = _class_id(e2e_app, "启东市首席质量官基础培训班（第一期）")
    page.set_viewport_size({"width": 1280, "height": 720})
    e2e_login(page, base, "nt_staff")
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    start = max(now - dt.timedelta(minutes=5), now.replace(hour=0, minute=0))
    end = min(now + dt.timedelta(hours=1), now.replace(hour=23, minute=59))
    page.goto(f"{base}/courses/classes/{class_id}")
    page.fill("#date", now.strftime("%Y-%m-%d"))
    page.fill("#start_time", start.strftime("%H:%M"))
    page.fill("#end_time", end.strftime("%H:%M"))
    page.fill("#topic", "投影与手机检查课")
    click_to(page, "#session-submit")
    row = page.locator("#timetable tr", has_text="投影与手机检查课")
    session_id = row.get_attribute("data-session")
    row.locator(f"#projector-{session_id}").click()
    page.wait_for_url(re.compile(r".*/projector$"))
    qr = page.locator("#qr-image")
    qr.wait_for(state="visible")
    page.wait_for_function("document.getElementById('qr-image').complete && document.getElementById('qr-image').naturalWidth > 0")
    # Code and instruction on one 1280 × 720 screen, without scrolling.
    for box in (qr.bounding_box(), page.locator("#scan-instruction").bounding_box()):
        assert box["y"] >= 0 and box["y"] + box["height"] <= 720 and box["x"] + box["width"] <= 1280, box
    assert page.evaluate("() => window.scrollY") == 0
    assert not axe_violations(page)

    e2e_login(phone_page, base, "trainee01")
    url = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))[0].text
    phone_page.goto(url)
    assert small_targets(phone_page) == []
    assert not axe_violations(phone_page)
    phone_page.click("#confirm-checkin")
    phone_page.locator("#checkin-done").wait_for()
    assert small_targets(phone_page) == []


def test_journey_phone_exam_targets_and_whole_row_selects(phone_page, live_server):
    base = live_server
    e2e_login(phone_page, base, "trainee")
    phone_page.goto(f"{base}/exams/my")
    phone_page.locator("button[id^='start-']").first.click()
    phone_page.wait_for_url(re.compile(r".*/exams/attempts/\d+$"))
    assert phone_page.locator("h1").count() == 1
    assert small_targets(phone_page) == []
    # A tap near the right end of an option row selects that option.
    row = phone_page.locator("fieldset[data-question] .form-check-label").nth(1)
    box = row.bounding_box()
    phone_page.touchscreen.tap(box["x"] + box["width"] - 8, box["y"] + box["height"] / 2)
    target = row.get_attribute("for")
    assert phone_page.locator(f"[id='{target}']").is_checked()
    assert not axe_violations(phone_page)


def test_journey_phone_verify_targets(phone_page, live_server, e2e_app):
    with e2e_app.app_context():
        cert = db.session.scalars(select(Certificate).where(Certificate.status == "valid").order_by(Certificate.id)).first()
        link = f"{live_server}/v/{cert.cid}#{cert.signed_part}"
    phone_page.goto(link)
    phone_page.wait_for_selector("#sig-result[data-state]")
    assert phone_page.locator("h1").count() == 1
    assert small_targets(phone_page) == []
