"""Issue 17: the journeys of shared/docs/journeys.md, each walked in Chromium through the pages as its people would
(a phone where the story says phone), each step asserting the record it leaves for the next. Nothing is written to
the database behind the pages: the only data not entered here is the seeded demo's.

Journeys 2 and 3 run after tests/e2e/test_reports_journey.py and test_certificate_journey.py in the same database
(pytest runs the files in name order); each journey reads the state it needs from the pages, not from them."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import zxingcpp
from PIL import Image
from sqlalchemy import select

from lms.templating import today_local
from tests.e2e.conftest import e2e_login, nav

ROOT = Path(__file__).resolve().parents[2]


def _new_page(browser, phone: bool = False):
    opts = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
    if phone:
        opts.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2,
                    user_agent="Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 "
                               "Mobile Safari/537.36 MicroMessenger/8.0")
    else:
        opts.update(viewport={"width": 1280, "height": 900})
    pg = browser.new_context(**opts).new_page()
    pg.set_default_timeout(15000)
    return pg


def _logout(page) -> None:
    page.click("#user-menu")
    page.click("#logout")


def _holder_png(page, base: str, username: str, tmp_path: Path, which: int = 0) -> Path:
    """The holder signs in, opens 我的证书 and downloads a certificate's picture, as they would to print it."""
    e2e_login(page, base, username)
    nav(page, "nav-certificates-index")
    link = page.locator("#certificates a[id^='png-']").nth(which)
    with page.expect_download() as dl:
        link.click()
    path = tmp_path / f"{username}-{which}.png"
    dl.value.save_as(path)
    _logout(page)
    return path


def _scan(png: Path) -> str:
    found = zxingcpp.read_barcodes(Image.open(png))
    assert found, f"no QR code in {png.name}"
    return found[0].text


def test_journey_4_a_verifier_checks_a_certificate(page, browser, live_server, e2e_app, tmp_path):
    """An HR manager scans certificates' QR codes with WeChat: valid, revoked with the date, expired, replaced by a
    newer one; the masked holder, tier, institution and bureau in Chinese, in a second; offline, the verifier
    still says whether the signature is genuine."""
    base = live_server
    e2e_app.config["PUBLIC_BASE_URL"] = base  # the printed QR points at this server
    phone = _new_page(browser, phone=True)
    try:
        # 1. The holders print their certificates (the demo's: Wang Fang's valid one, one revoked, one expired,
        #    one replaced by a corrected certificate).
        pngs = {"valid": _holder_png(page, base, "trainee", tmp_path)}
        for username in ("trainee01", "trainee04", "trainee02"):
            e2e_login(page, base, username)
            nav(page, "nav-certificates-index")
            rows = page.locator("#certificates tr[id^='cert-']")
            for i in range(rows.count()):
                row = rows.nth(i)
                text = row.inner_text()
                status = ("revoked" if "已撤销" in text else "expired" if "已过期" in text
                          else "superseded" if "已换发" in text else None)
                if status and status not in pngs:
                    with page.expect_download() as dl:
                        row.locator("a[id^='png-']").click()
                    pngs[status] = tmp_path / f"{status}.png"
                    dl.value.save_as(pngs[status])
            _logout(page)
        assert set(pngs) == {"valid", "revoked", "expired", "superseded"}, pngs

        # 2. The phone scans each; the verdict shows in Chinese with the masked holder, tier, institution, bureau.
        words = {"valid": "有效", "revoked": "已撤销", "expired": "已过期", "superseded": "已换发"}
        for status, png in pngs.items():
            started = time.monotonic()
            phone.goto(_scan(png))
            phone.wait_for_selector("#sig-result[data-state]")
            assert time.monotonic() - started < 3, "the verdict took longer than a scan should"
            details = phone.locator("#verify-details")
            assert details.get_attribute("data-status") == status
            assert words[status] in phone.locator("#verify-status").inner_text()
            assert "*" in phone.locator("#holder-name").inner_text()
            fields = details.inner_text()
            assert "基础" in fields and "培训中心" in fields and "市场监督管理局" in fields
            if status == "revoked":
                assert re.search(r"\d{4}-\d{2}-\d{2}", phone.locator("#status-detail").inner_text())
            if status == "superseded":
                successor = phone.locator("#successor-link")
                successor.click()
                phone.wait_for_selector("#verify-details")
                assert phone.locator("#verify-details").get_attribute("data-status") == "valid"

        # 3. With no network, the offline verifier still says whether the signature is genuine.
        keyfile = tmp_path / "keys.json"
        with urllib.request.urlopen(f"{base}/.well-known/cqo-certificate-keys.json") as resp:
            keyfile.write_bytes(resp.read())
        assert json.loads(keyfile.read_text())["keys"]

        def offline(source) -> int:
            return subprocess.run([sys.executable, "-m", "certificates.verify", str(source), "--keys", str(keyfile)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=120).returncode

        assert offline(pngs["valid"]) == 0
        link = _scan(pngs["valid"])
        assert offline(link[:-4] + ("AAAA" if link[-4:] != "AAAA" else "BBBB")) != 0
    finally:
        phone.context.close()
