"""Issue 17: the journeys of shared/docs/journeys.md, each walked in Chromium through the pages as its people would
(a phone where the story says phone), each step asserting the record it leaves for the next. Nothing is written to
the database behind the pages: the only data not entered here is the seeded demo's.

Journeys 2 and 3 run after tests/e2e/test_reports_journey.py and test_certificate_journey.py in the same database
(pytest runs the files in name order); each journey reads the state it needs from the pages, not from them."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import zxingcpp
from PIL import Image
from lms.templating import today_local
from tests.e2e.conftest import click_to, e2e_login, nav, new_page_after

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


def _phone_nav(page, link_id: str) -> None:
    """A navigation entry on a phone: open the collapsed menu (and the entry's group, if it has one), then tap."""
    link = page.locator(f"#{link_id}")
    page.click(".navbar-toggler")
    # Bootstrap sets .show when the menu has finished opening (.collapsing while it animates): a tap during the
    # animation could meet the link while its box was still clipped (a CI run under load once never navigated).
    page.wait_for_selector("#navmain.collapse.show")
    group = link.get_attribute("data-group")
    if group:
        page.click(f"#nav-group-{group}")
        page.wait_for_selector(f"#nav-group-{group}[aria-expanded='true']")
    link.wait_for(state="visible")
    click_to(page, link, urljoin(page.url, link.get_attribute("href")))


def _logout(page) -> None:
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/auth/login"))  # signed out before the next person signs in


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
    """An HR manager scans certificates' QR codes with WeChat: valid, revoked with the date, one issued four years
    ago that has no end date (长期有效: the demo sets no validity, issue 14), replaced by a newer one; the masked holder, tier, institution and bureau in Chinese, in a second; offline, the verifier
    still says whether the signature is genuine."""
    base = live_server
    e2e_app.config["PUBLIC_BASE_URL"] = base  # the printed QR points at this server
    phone = _new_page(browser, phone=True)
    try:
        # 1. The holders print their certificates (the demo's: Wang Fang's valid one, one revoked, one issued four
        #    years ago with no end date, one replaced by a corrected certificate).
        pngs = {"valid": _holder_png(page, base, "trainee", tmp_path)}
        for username in ("trainee01", "trainee04", "trainee02"):
            e2e_login(page, base, username)
            nav(page, "nav-certificates-index")
            rows = page.locator("#certificates tr[id^='cert-']")
            for i in range(rows.count()):
                row = rows.nth(i)
                text = row.inner_text()
                status = ("revoked" if "已撤销" in text else "superseded" if "已换发" in text
                          else "long" if username == "trainee04" and "长期有效" in text else None)
                if status and status not in pngs:
                    with page.expect_download() as dl:
                        row.locator("a[id^='png-']").click()
                    pngs[status] = tmp_path / f"{status}.png"
                    dl.value.save_as(pngs[status])
            _logout(page)
        assert set(pngs) == {"valid", "revoked", "long", "superseded"}, pngs

        # 2. The phone scans each; the verdict shows in Chinese with the masked holder, tier, institution, bureau.
        words = {"valid": "有效", "revoked": "已撤销", "long": "有效", "superseded": "已换发"}
        for status, png in pngs.items():
            started = time.monotonic()
            phone.goto(_scan(png))
            phone.wait_for_selector("#sig-result[data-state]")
            assert time.monotonic() - started < 3, "the verdict took longer than a scan should"
            details = phone.locator("#verify-details")
            assert details.get_attribute("data-status") == ("valid" if status == "long" else status)
            if status == "long":
                assert phone.locator("#valid-until").inner_text() == "长期有效"
            assert words[status] in phone.locator("#verify-status").inner_text()
            assert "*" in phone.locator("#holder-name").inner_text()
            fields = details.inner_text()
            assert "基础" in fields and "培训中心" in fields and "市场监督管理局" in fields
            if status == "revoked":
                assert re.search(r"\d{4}-\d{2}-\d{2}", phone.locator("#status-detail").inner_text())
            if status == "superseded":
                successor = phone.locator("#successor-link")
                click_to(phone, successor)
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


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _open_and_file_a_class(page, base: str, name: str) -> int:
    """Institution staff open a class of the city's advanced programme with a session and file it (journey 2,
    steps 1-2); returns the class id read from the page's address."""
    today = today_local()
    e2e_login(page, base, "nt_staff")
    page.goto(f"{base}/courses/classes/new")
    programme = page.locator("#programme_id option", has_text=f"{today.year}年江苏省首席质量官提升培训").first.get_attribute("value")
    page.select_option("#programme_id", programme)
    page.select_option("#region_id", label="南通市")
    page.fill("#name", name)
    page.fill("#place", "南通市崇川区工农路 1 号培训楼")
    start = today + dt.timedelta(days=30)
    for field, day in (("#start_date", start), ("#end_date", start + dt.timedelta(days=2)),
                       ("#enrol_opens_on", today), ("#enrol_closes_on", today + dt.timedelta(days=20))):
        page.fill(field, day.isoformat())
    page.fill("#capacity", "40")
    page.click("#class-submit")
    page.wait_for_url(re.compile(r".*/courses/classes/\d+$"))
    class_id = int(page.url.rsplit("/", 1)[1])
    page.fill("#date", start.isoformat())
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "12:00")
    page.fill("#topic", "质量强国建设纲要解读")
    click_to(page, "#session-submit")
    assert page.locator("#timetable tr", has_text="质量强国建设纲要解读").count() == 1
    nav(page, "nav-reports-index")
    click_to(page, f"#filing-link-{class_id}")
    page.fill("#teachers", "张建国，高级质量工程师，南通大学")
    click_to(page, "#file-class")
    assert page.locator("#filing-status [data-status]").get_attribute("data-status") == "submitted"
    assert "南通市市场监督管理局" in page.inner_text("#filing-bureau")
    _logout(page)
    return class_id


def test_journey_3_a_bureau_runs_its_region(page, browser, live_server):
    """The Nantong city bureau accepts a filing, approves a credit claim, revokes a certificate with the reason,
    publishes the year's notice and reads its dashboard county by county."""
    base = live_server
    class_id = _open_and_file_a_class(page, base, "旅程三：南通市首席质量官提升培训班")

    # A CQO claims an external seminar on her phone (journey 5's first step), to the bureau of her own region.
    phone = _new_page(browser, phone=True)
    try:
        e2e_login(phone, base, "trainee")
        _phone_nav(phone, "nav-credits-me")
        click_to(phone, "#new-claim")
        assert "启东市市场监督管理局" in phone.locator("#institution_id option").first.inner_text()
        assert phone.locator("#institution_id option", has_text="福建").count() == 0
        phone.fill("#title", "旅程三：长三角质量管理论坛")
        phone.fill("#organiser", "江苏省质量协会")
        phone.fill("#activity_date", today_local().isoformat())
        phone.fill("#hours", "6")
        phone.select_option("#subject_category", "professional")
        phone.set_input_files("#evidence", files=[{"name": "参会证明.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        phone.click("#claim-submit")
        phone.wait_for_url(f"{base}/credits/")
        assert "待审核" in phone.locator("#claims tr", has_text="旅程三：长三角质量管理论坛").inner_text()
    finally:
        phone.context.close()

    e2e_login(page, base, "nantong_admin")
    # 1. It accepts the class filing.
    nav(page, "nav-reports-index")
    click_to(page, f"#filing-open-{class_id}")
    assert "张建国" in page.inner_text("#filing-teachers")
    click_to(page, "#filing-accept")
    assert page.locator("#filing-status [data-status]").get_attribute("data-status") == "accepted"

    # 2. It approves the credit claim.
    page.goto(f"{base}/credits/review?status=pending")
    row = page.locator("#claims-table tr", has_text="旅程三：长三角质量管理论坛")
    claim_id = row.get_attribute("id").split("-")[1]
    page.select_option(f"#decision-{claim_id}", "approve")
    click_to(page, row.locator("button[type=submit]"))
    page.goto(f"{base}/credits/review?status=approved")
    assert page.locator("#claims-table tr", has_text="旅程三：长三角质量管理论坛").count() == 1

    # 3. It revokes the certificate of a CQO disqualified for misconduct, with the reason.
    nav(page, "nav-certificates-index")
    page.fill("#search-q", "何超")
    with new_page_after(page):
        page.locator("#search-q").press("Enter")
    click_to(page, page.locator("#certificates tr[id^='cert-'] td a").first)
    page.select_option("#st-action", "revoke")
    page.select_option("#st-reason", "abuse_of_power")
    page.fill("#st-note", "滥用职权，经调查属实")
    click_to(page, "#status-submit")
    page.wait_for_selector("#cert-status.cert-status-revoked")
    events = page.inner_text("#cert-events")
    assert "撤销" in events and "滥用职权" in events and "revoke" not in events

    # 4. It publishes the year's talent-pool notice.
    nav(page, "nav-talent-notices")
    page.fill("#title", f"南通市{today_local().year}年首席质量官人才库公示（旅程三）")
    page.fill("#objection_days", "10")
    page.click("#notice-submit")
    page.wait_for_url(f"{base}/talent/public/notices/*")
    assert "旅程三" in page.inner_text("#notice-title")

    # 5. Its dashboard, county by county: trained, pass rates, credit compliance, appointment rate against target.
    page.goto(f"{base}/home")
    nav(page, "nav-reports-dashboard")
    for code in ("320681", "320682", "320685"):
        assert page.locator(f"#training-{code}").count() == 1
        assert page.locator(f"#ce-{code} [data-key='rate']").count() == 1
        assert page.locator(f"#appointment-{code}-above_size").count() == 1
    assert page.locator("#chart-ce").count() == 1 and page.locator("#chart-appointment").count() == 1
    members = sum(int(page.inner_text(f"#ce-table tbody tr:nth-child({i + 1}) [data-key='members']"))
                  for i in range(page.locator("#ce-table tbody tr").count()))
    assert members == int(page.inner_text("#credit-compliance [data-key='members']"))
