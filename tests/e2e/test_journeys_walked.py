"""Issue 17: journeys 2 and 5 of shared/docs/journeys.md walked in Chromium by the people they name, through the
pages only (a phone where the story says phone), each step asserting the record it leaves for the next. Nothing is
written to the database behind the pages: the only data not entered here is the seeded demo's, and the clock is
not moved (no e2e test moves it).

A class cannot be filed with its bureau once it has started (reports.services.filing) nor take applications
after its window, so without moving the clock one class cannot be both newly opened and running now: journey 2
opens and files a new class of the city's advanced programme (steps 1-3), and takes attendance and builds the
exam on the demo's classes that are running today (steps 4-5), as an institution runs several classes at once.

This file runs after test_journeys.py (journeys 3 and 4) and the feature journeys in the same database (pytest
runs the files in name order); each journey reads the state it needs from the pages."""
from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import zxingcpp
from openpyxl import load_workbook
from PIL import Image

from exams.seed_questions import QUESTIONS
from lms.templating import today_local
from tests.e2e.conftest import e2e_login, nav
from tests.e2e.test_journeys import PDF, _logout, _new_page, _open_and_file_a_class, _phone_nav

RUNNING_ADVANCED = "南通市首席质量官提升培训班（第一期）"  # the demo's advanced class, running today (exams.demo)
RUNNING_BASIC = "启东市首席质量官基础培训班（第一期）"  # the demo's county class, starting today (courses.demo)
KEY = {stem: (options, answer) for _kp, _t, _d, stem, options, answer, _e in QUESTIONS}


def _now_local() -> dt.datetime:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai"))


def _class_link(page, base: str, name_part: str) -> int:
    """The id of a class of the staff's institution, found on its class list as staff would find it."""
    page.goto(f"{base}/courses/classes")
    link = page.locator("#class-list a[data-class]", has_text=name_part).first
    return int(link.get_attribute("data-class"))


def _add_session_now(page, base: str, class_id: int, topic: str) -> str:
    """Staff add a session running now to a class's timetable; returns its id."""
    now = _now_local()
    start = max(now - dt.timedelta(minutes=10), now.replace(hour=0, minute=0))
    end = min(now + dt.timedelta(hours=1), now.replace(hour=23, minute=59))
    page.goto(f"{base}/courses/classes/{class_id}")
    page.fill("#date", now.strftime("%Y-%m-%d"))
    page.fill("#start_time", start.strftime("%H:%M"))
    page.fill("#end_time", end.strftime("%H:%M"))
    page.fill("#topic", topic)
    page.click("#session-submit")
    page.wait_for_load_state()
    return page.locator("#timetable tr", has_text=topic).get_attribute("data-session")


def _answer_from_the_key(page) -> int:
    """The trainee answers every question of the paper as someone who knows the course: the seeded bank's
    reference answers, matched by stem and option text (the paper shuffles both). Returns how many."""
    questions = page.locator("fieldset[data-question]")
    n = questions.count()
    for i in range(n):
        fs = questions.nth(i)
        stem = fs.locator("legend .prewrap").inner_text().strip()
        options, answer = KEY[stem]
        right = {options[ord(letter) - ord("A")] for letter in answer} if options else {("正确" if answer == "T" else "错误")}
        labels = fs.locator(".form-check-label")
        for j in range(labels.count()):
            label = labels.nth(j)
            text = re.sub(r"^[A-F]\. ", "", label.inner_text().strip())
            if text in right:
                label.click()
    page.wait_for_function("n => document.querySelectorAll('.save-state.saved').length >= n", arg=n, timeout=30000)
    return n


def test_journey_2_an_institution_runs_a_class(page, browser, live_server, tmp_path):
    """Staff of the Nantong centre open and file a class of the city's advanced programme (accepted by the city
    bureau), approve applications (an ineligible trainee is told the rules she misses), take attendance by
    rotating QR and fix one by hand, build an exam from a blueprint and watch the results with item statistics,
    and file the annual work report."""
    base = live_server
    today = today_local()

    # 1-2. A class of the city's advanced programme, with its timetable, filed with and accepted by the city bureau.
    class_id = _open_and_file_a_class(page, base, "旅程二：南通市首席质量官提升培训班（第二期）")
    e2e_login(page, base, "nantong_admin")
    nav(page, "nav-reports-index")
    page.click(f"#filing-open-{class_id}")
    page.click("#filing-accept")
    assert page.locator("#filing-status [data-status]").get_attribute("data-status") == "accepted"
    _logout(page)

    # 3. Applications: one without the basic certificate is told exactly which rule she misses and cannot apply;
    #    王芳 (basic certificate in force) applies on her phone; staff approve her.
    e2e_login(page, base, "trainee20")
    page.goto(f"{base}/courses/classes/{class_id}/apply")
    assert page.locator("#not-eligible").is_visible()
    unmet = page.locator('#eligibility li[data-met="no"]')
    assert unmet.count() >= 1 and "基础" in " ".join(unmet.all_inner_texts())
    assert page.locator("#apply-form").count() == 0
    _logout(page)
    phone = _new_page(browser, phone=True)
    try:
        e2e_login(phone, base, "trainee")
        phone.goto(f"{base}/courses/classes/{class_id}/apply")
        assert phone.locator('#eligibility li[data-met="no"]').count() == 0
        phone.check("#accept_pledge")
        phone.click("#apply-submit")
        phone.wait_for_url(f"{base}/courses/my")
        assert "待审核" in phone.locator(".card", has_text="旅程二").inner_text()
    finally:
        phone.context.close()
    e2e_login(page, base, "nt_staff")
    page.goto(f"{base}/courses/classes/{class_id}")
    page.click("#class-enrollments")
    page.locator('#enrollments-table tr[data-username="trainee"] button.approve').click()
    page.wait_for_load_state()
    assert "已录取" in page.locator('#enrollments-table tr[data-username="trainee"] .status').inner_text()

    # 4. Attendance at today's session of a running class: the rotating QR on the projector, one trainee scans
    #    it on her phone, another (her phone died) is marked by hand with the reason; the rates show.
    running = _class_link(page, base, RUNNING_BASIC)
    page.goto(f"{base}/courses/classes/{running}")
    page.click("#class-enrollments")
    admitted = [u for u in page.locator("#enrollments-table tr[data-username]").evaluate_all(
        "rows => rows.filter(r => r.querySelector('.status').innerText.includes('已录取')).map(r => r.dataset.username)")]
    assert len(admitted) >= 2, admitted
    scanner, no_phone = admitted[0], admitted[1]
    session_id = _add_session_now(page, base, running, "旅程二：质量风险管理")
    page.click(f"#projector-{session_id}")
    page.wait_for_url(re.compile(r".*/projector$"))
    page.wait_for_function("document.getElementById('qr-image').complete && document.getElementById('qr-image').naturalWidth > 0")
    url = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator("#qr-image").screenshot())))[0].text
    phone = _new_page(browser, phone=True)
    try:
        e2e_login(phone, base, scanner)
        phone.goto(url)
        phone.click("#confirm-checkin")
        assert "已签到" in phone.locator("#checkin-done").inner_text()
    finally:
        phone.context.close()
    page.goto(f"{base}/courses/sessions/{session_id}/attendance")
    scanned = page.locator(f'#roster tr[data-username="{scanner}"] .att-status').inner_text()
    assert scanned.split()[0] in ("出勤", "迟到") and "扫码" in scanned
    row = page.locator(f'#roster tr[data-username="{no_phone}"]')
    row.locator("select[name=status]").select_option("present")
    row.locator("input[name=reason]").fill("手机没电，现场核实本人到课")
    row.locator("form.mark-form button[type=submit]").click()
    page.wait_for_load_state()
    fixed = page.locator(f'#roster tr[data-username="{no_phone}"]')
    assert fixed.locator(".att-status").inner_text().split()[0] == "出勤" and "手工" in fixed.inner_text()
    assert "%" in fixed.locator(".rate").inner_text()

    # 5. An exam for the running advanced class, built from a blueprint on the province's shared bank; 王芳 sits
    #    it on her phone; staff watch the result come in, with the statistics of every item.
    advanced = _class_link(page, base, RUNNING_ADVANCED)
    page.goto(f"{base}/exams/manage/new")
    page.fill("#title", "旅程二：阶段测验")
    page.select_option("#class_id", str(advanced))
    now = _now_local()
    page.fill("#opens_at", (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#closes_at", (now + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#duration_minutes", "30")
    page.fill("#attempts_allowed", "1")
    page.click("#exam-submit")
    page.wait_for_url(re.compile(r".*/exams/manage/\d+$"))
    exam_id = int(page.url.rsplit("/", 1)[1])
    bank = page.locator("#bank_id option", has_text="共享题库").first.get_attribute("value")
    for qtype, count, points in (("single", 4, 15), ("true_false", 4, 10)):
        page.select_option("#bank_id", bank)
        page.select_option("#question_type", qtype)
        page.fill("#count", str(count))
        page.fill("#points_each", str(points))
        page.click("#section-submit")
        page.wait_for_load_state()
    assert page.locator("#sections-table tr[id^='section-']").count() == 2
    page.click("#exam-publish")
    page.wait_for_load_state()
    assert "已发布" in page.inner_text("#exam-status")

    phone = _new_page(browser, phone=True)
    try:
        e2e_login(phone, base, "trainee")
        phone.goto(f"{base}/exams/my")
        phone.click(f"#start-{exam_id}")
        phone.wait_for_url(re.compile(r".*/exams/attempts/\d+$"))
        assert _answer_from_the_key(phone) == 8
        phone.once("dialog", lambda d: d.accept())
        phone.click("#submit-exam")
        phone.wait_for_url(re.compile(r".*/exams/attempts/\d+/result$"))
        assert float(phone.inner_text("#result-score").split()[0].rstrip("分")) == 100
        assert phone.inner_text("#result-verdict").strip() == "合格"
    finally:
        phone.context.close()
    page.goto(f"{base}/exams/manage/{exam_id}")
    page.click("#exam-results")
    assert "合格 1 人" in page.inner_text("#results-summary")
    assert page.locator("#results-table tbody tr", has_text="王芳").count() == 1
    assert page.locator("#items-table tr[id^='item-']").count() == 8

    # 6. One trainee of the county class sat the paper exam: staff download the class list as a sheet, type her
    #    score into it (as in Excel, leaving the other rows untouched) and import it; her result shows.
    page.goto(f"{base}/exams/manage/new")
    page.fill("#title", "旅程二：结业考试（纸笔）")
    page.select_option("#class_id", str(running))
    page.fill("#opens_at", (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#closes_at", (now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#duration_minutes", "90")
    page.fill("#attempts_allowed", "1")
    page.click("#exam-submit")
    page.wait_for_url(re.compile(r".*/exams/manage/\d+$"))
    paper_id = int(page.url.rsplit("/", 1)[1])
    page.click("#exam-offline")
    with page.expect_download() as dl:
        page.click("#offline-template")
    sheet = tmp_path / "线下成绩.xlsx"
    dl.value.save_as(sheet)
    wb = load_workbook(sheet)
    ws = wb.active
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    assert no_phone in rows and len(rows) >= 2
    ws.cell(rows[no_phone], 3, 82)
    ws.cell(rows[no_phone], 4, today)
    ws.cell(rows[no_phone], 5, "手机没电，参加纸笔考试")
    wb.save(sheet)
    page.set_input_files("#offline-file", str(sheet))
    page.click("#offline-import-submit")
    page.wait_for_load_state()
    page.goto(f"{base}/exams/manage/{paper_id}/results")
    assert "有成绩 1 人" in page.inner_text("#results-summary")
    assert "82" in page.locator("#results-table tbody tr", has_text=no_phone).inner_text()

    # 7-8. Issuing a class's certificates in one go (progress bar) and the results report are walked on the
    #    demo's ended classes by test_certificate_journey.py and test_reports_journey.py (the classes here end
    #    later: a class's certificates need its whole timetable attended).
    # 8. (second half) The annual work report: figures filled in by the system, the narrative by staff.
    page.goto(f"{base}/reports/annual?year={today.year - 1}")
    page.fill("#narrative", f"{today.year - 1}年本中心承办首席质量官基础、提升培训，学员满意度 95%。")
    page.click("#annual-submit")
    page.wait_for_load_state()
    assert page.locator("#annual-reports tbody tr", has_text=str(today.year - 1)).count() == 1


def test_journey_5_a_cqo_stays_in_the_pool(page, browser, live_server):
    """王芳, in the pool, sees the credits her city class earned her, claims an external seminar on her phone
    with its certificate as evidence, her county bureau approves it and the hours count; she files her annual
    performance report. (Steps 3-4, a colleague's warning and lapse at the year-end roll-ups, need closed years
    of pool membership: see the report of issue 17.)"""
    base = live_server
    today = today_local()
    title = "旅程五：长三角质量管理论坛（外部研讨会）"
    phone = _new_page(browser, phone=True)
    try:
        # 1. Her credits from the city class (system credits, by the programme's courses), then the claim.
        e2e_login(phone, base, "trainee")
        _phone_nav(phone, "nav-credits-me")
        system_rows = phone.locator("#records tbody tr", has_text="本系统课程")
        assert system_rows.filter(has_text="培训 · ").count() >= 1  # "<programme> · <course>": her class's hours
        phone.click("#new-claim")
        assert "启东市市场监督管理局" in phone.locator("#institution_id option").first.inner_text()
        phone.fill("#title", title)
        phone.fill("#organiser", "江苏省质量协会")
        phone.fill("#activity_date", today.isoformat())
        phone.fill("#hours", "8")
        phone.select_option("#subject_category", "professional")
        phone.set_input_files("#evidence", files=[{"name": "研讨会结业证书.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        phone.click("#claim-submit")
        phone.wait_for_url(f"{base}/credits/")
        assert "待审核" in phone.locator("#claims tr", has_text=title).inner_text()
        assert phone.locator("#records tbody tr", has_text=title).count() == 0  # not counted before approval
    finally:
        phone.context.close()

    e2e_login(page, base, "qidong_admin")
    page.goto(f"{base}/credits/review?status=pending")
    row = page.locator("#claims-table tr", has_text=title)
    claim_id = row.get_attribute("id").split("-")[1]
    with page.expect_download() as dl:  # the reviewer reads the evidence
        row.locator("a", has_text="研讨会结业证书.pdf").click()
    assert dl.value.suggested_filename.endswith(".pdf")
    page.select_option(f"#decision-{claim_id}", "approve")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{base}/credits/review?status=approved")
    assert page.locator(f"#claim-{claim_id}").count() == 1
    _logout(page)

    # 2. The claim's hours count; she files her annual performance report.
    e2e_login(page, base, "trainee")
    nav(page, "nav-credits-me")
    assert "已通过" in page.locator("#claims tr", has_text=title).inner_text()
    counted = page.locator("#records tbody tr", has_text=title)
    assert counted.count() == 1 and "外部活动" in counted.inner_text() and "8" in counted.inner_text()
    page.click("#file-report")
    page.fill("#summary", f"{today.year}年组织开展质量提升行动，完成质量管理体系内审与管理评审，推进 QC 小组活动 3 项，"
                          "参加长三角质量管理论坛。")
    page.click("#report-submit")
    page.wait_for_url(re.compile(rf".*/credits/\?year={today.year}$"))
    assert f"{today.year} 年度，提交于 {today.isoformat()}" in page.inner_text("#reports")
    assert page.inner_text("#ce-status").strip() == "已达标"
