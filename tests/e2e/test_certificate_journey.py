"""Issue 6's browser journey: staff issue a class's certificates watching the progress; a phone opens the
QR code's link and sees it valid; the city bureau revokes it and the same link shows revoked with the date;
the offline verifier accepts the PNG and rejects a tampered link.

The class's trainees meet the real completion rules (attendance, lessons, exam): the demo data gives them
attendance, lesson progress and a passed paper exam through the same services staff use."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from certificates.demo import PENDING_CLASS
from courses.models import TrainingClass
from lms.templating import today_local
from tests.e2e.conftest import click_to, e2e_login

ROOT = Path(__file__).resolve().parents[2]


def test_issue_scan_revoke_and_verify_offline(page, phone_page, browser, live_server, e2e_app, tmp_path):
    base = live_server
    e2e_app.config["PUBLIC_BASE_URL"] = base  # the QR must point at this server
    from lms.db import db

    with e2e_app.app_context():
        cls_id = db.session.scalar(select(TrainingClass.id).where(
            TrainingClass.name == PENDING_CLASS.format(year=today_local().year)))

    # 1. Staff issue the class's certificates and watch the progress bar fill.
    e2e_login(page, base, "nt_staff")
    page.goto(f"{base}/certificates/classes")
    click_to(page, f"#class-{cls_id}")
    assert page.locator('#enrollments tr[data-complete="yes"]').count() == 4
    page.click("#issue-all")
    page.wait_for_selector('#issue-progress-box[data-status="done"]')
    assert page.locator("#issue-progress").get_attribute("value") == "100"
    assert "4/4" in page.locator("#issue-status").inner_text()
    # The page reloads itself with the certificate numbers (issue.js): only the reloaded page has them, and it
    # may still be parsing when the first one appears.
    page.wait_for_selector("#enrollments .cert-number")
    page.wait_for_load_state()
    assert page.locator("#enrollments .cert-number").count() == 4

    # 2. Download the first certificate's PNG and read its QR code.
    click_to(page, page.locator("#enrollments .cert-number").first)
    with page.expect_download() as dl:
        page.click("#download-png")
    png = tmp_path / "certificate.png"
    dl.value.save_as(png)
    url = [r.text for r in zxingcpp.read_barcodes(Image.open(png))][0]
    assert url.startswith(f"{base.upper()}/C/") and "#" not in url  # the compact printed link (issue 16)

    phone_page.goto(url)
    phone_page.wait_for_selector('#sig-result[data-state="valid"]')
    assert phone_page.locator("#verify-details").get_attribute("data-status") == "valid"
    assert "有效" in phone_page.locator("#verify-status").inner_text()
    assert "*" in phone_page.locator("#holder-name").inner_text()

    # A tampered token turns the page red.
    tampered = url[:-4] + ("AAAA" if url[-4:] != "AAAA" else "BBBB")
    phone_page.goto(tampered)
    phone_page.wait_for_selector("#verify-failed:not([hidden])")
    assert phone_page.locator("#verify-details").count() == 0

    # 3. The city bureau revokes it; the same link shows revoked, with the date.
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    admin = ctx.new_page()
    e2e_login(admin, base, "nantong_admin")
    admin.goto(page.url)
    admin.select_option("#st-action", "revoke")
    admin.select_option("#st-reason", "false_information")
    admin.fill("#st-note", "报名材料中的工作年限不实")
    click_to(admin, "#status-submit")
    admin.wait_for_selector('#cert-status.cert-status-revoked')
    ctx.close()
    phone_page.goto(url)
    phone_page.reload()
    assert phone_page.locator("#verify-details").get_attribute("data-status") == "revoked"
    assert "已撤销" in phone_page.locator("#verify-status").inner_text()
    assert today_local().isoformat() in phone_page.locator("#status-detail").inner_text()

    # 4. Offline: the published keys accept the PNG and reject a tampered link.
    keyfile = tmp_path / "keys.json"
    with urllib.request.urlopen(f"{base}/.well-known/cqo-certificate-keys.json") as resp:
        keyfile.write_bytes(resp.read())
    assert json.loads(keyfile.read_text())["keys"]

    def offline(source) -> int:
        return subprocess.run([sys.executable, "-m", "certificates.verify", str(source), "--keys", str(keyfile)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120).returncode

    assert offline(png) == 0
    assert offline(tampered) != 0
