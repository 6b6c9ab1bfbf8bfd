"""Journeys 2 and 3 in Chromium: the Nantong centre files a class and the Qidong county bureau accepts it; after
a class the centre uploads offline results (a bad file first, then the corrected one) and submits the results
report, which the Nantong city bureau accepts; the city bureau's dashboard matches a count made in the database."""
from __future__ import annotations

import datetime as dt
import io
import re

from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.e2e.conftest import click_to, e2e_login, nav


def _db(app):
    from lms.db import db

    return db


def _query(app, fn):
    with app.app_context():
        with _db(app).job_session() as s:
            return fn(s)


def _class_id(app, name_part: str) -> int:
    from courses.models import TrainingClass

    return _query(app, lambda s: s.scalar(select(TrainingClass.id).where(TrainingClass.name.contains(name_part))))


def _new_page(browser):
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    return pg


def test_an_institution_files_a_class_and_the_county_bureau_accepts_it(e2e_app, live_server, page, browser):
    class_id = _class_id(e2e_app, "启东市首席质量官基础培训班（第二期）")
    e2e_login(page, live_server, "nt_staff")
    nav(page, "nav-reports-index")
    click_to(page, f"#filing-link-{class_id}")
    assert page.locator("#filing-timetable tbody tr").count() == 4
    page.fill("#teachers", "张建国，高级质量工程师，南通大学\n李晓梅，质量管理体系国家注册审核员")
    click_to(page, "#file-class")
    assert page.locator("#filing-status [data-status]").get_attribute("data-status") == "submitted"
    assert "启东市市场监督管理局" in page.inner_text("#filing-bureau")

    bureau = _new_page(browser)
    e2e_login(bureau, live_server, "qidong_admin")
    nav(bureau, "nav-reports-index")
    click_to(bureau, f"#filing-open-{class_id}")
    assert "李晓梅" in bureau.inner_text("#filing-teachers")
    click_to(bureau, "#filing-accept")
    assert bureau.locator("#filing-status [data-status]").get_attribute("data-status") == "accepted"
    bureau.context.close()

    from reports.models import ClassFiling

    status = _query(e2e_app, lambda s: s.scalar(select(ClassFiling.status).where(ClassFiling.class_id == class_id)))
    assert status.value == "accepted"


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["学员账号", "姓名", "课次", "考勤", "考试成绩", "考试日期"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_offline_results_bad_file_then_good_file_then_the_report_is_accepted(e2e_app, live_server, page, browser):
    from courses.models import TrainingClass
    from exams.models import ExamResult
    from reports.demo import ENDED_TRAINEES
    from reports.models import ResultImport, ResultsReport

    class_id = _class_id(e2e_app, "结业待报告")
    ended = _query(e2e_app, lambda s: s.get(TrainingClass, class_id).end_date)
    rows = []
    for i, username in enumerate(ENDED_TRAINEES):
        for no in (1, 2, 3, 4):
            rows.append([username, "", no, "出勤" if (i, no) != (5, 4) else "缺勤", 60 + 5 * i if no == 1 else None,
                         ended.isoformat() if no == 1 else None])
    bad = [list(r) for r in rows]
    bad[6][4] = "八十"  # Excel row 8: a score in words

    def counts(s):
        return (s.scalar(select(func.count(ExamResult.id))), s.scalar(select(func.count(ResultImport.id))))

    before = _query(e2e_app, counts)
    e2e_login(page, live_server, "nt_staff")
    page.goto(f"{live_server}/reports/classes/{class_id}/results")
    page.set_input_files("#file", {"name": "线下成绩.xlsx", "buffer": _xlsx(bad),
                                   "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    click_to(page, "#import-submit")
    message = page.inner_text("#form-errors")
    assert "第 8 行「考试成绩」列（E 列）" in message and "任何数据都未改变" in message
    assert _query(e2e_app, counts) == before

    page.set_input_files("#file", {"name": "线下成绩.xlsx", "buffer": _xlsx(rows),
                                   "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    click_to(page, "#import-submit")
    # The progress bar fills while the rows are written in the background, then the page reloads with them
    # (reports/static/import.js): the checks below wait, as that reload may come between any two of them.
    page.wait_for_selector("#import-progress-box[data-status='done']", state="attached")
    expect(page.locator("#import-progress")).to_be_visible()
    page.wait_for_selector(f"#roster-{ENDED_TRAINEES[-1]}[data-score='85.0']")
    page.wait_for_load_state()
    assert page.get_attribute(f"#roster-{ENDED_TRAINEES[0]}", "data-score") == "60.0"
    assert _query(e2e_app, counts)[0] == before[0] + len(ENDED_TRAINEES)
    page.fill("#note", "六名学员全部参加线下考试")
    click_to(page, "#submit-results")
    assert page.locator("#results-status [data-status]").get_attribute("data-status") == "submitted"

    bureau = _new_page(browser)
    e2e_login(bureau, live_server, "nantong_admin")
    nav(bureau, "nav-reports-index")
    click_to(bureau, "#tab-results")
    click_to(bureau, f"#results-open-{class_id}")
    click_to(bureau, "#results-accept")
    assert bureau.locator("#results-status [data-status]").get_attribute("data-status") == "accepted"
    bureau.context.close()
    status = _query(e2e_app, lambda s: s.scalar(select(ResultsReport.status).where(ResultsReport.class_id == class_id)))
    assert status.value == "accepted"


def test_the_dashboard_matches_a_count_in_the_database(e2e_app, live_server, page):
    from certificates.models import Certificate
    from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
    from lms.orgs.models import Enterprise, Region
    from lms.templating import today_local

    year = today_local().year

    def count(s):
        nantong = s.scalar(select(Region).where(Region.code == "320600"))
        sub = select(Region.id).where(Region.path.startswith(nantong.path)).scalar_subquery()
        per_tier = dict(s.execute(
            select(Programme.tier, func.count(Enrollment.id)).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
            .join(Programme, Programme.id == TrainingClass.programme_id)
            .where(Enrollment.status == EnrollmentStatus.approved, TrainingClass.region_id.in_(sub),
                   TrainingClass.start_date >= dt.date(year, 1, 1), TrainingClass.start_date <= dt.date(year, 12, 31))
            .group_by(Programme.tier)).all())
        certs = s.scalar(select(func.count(Certificate.id)).where(
            Certificate.region_id.in_(sub), Certificate.supersedes_id.is_(None),
            Certificate.issued_on >= dt.date(year, 1, 1), Certificate.issued_on <= dt.date(year, 12, 31)))
        above = s.scalar(select(func.count(Enterprise.id)).where(Enterprise.region_id.in_(sub),
                                                                 Enterprise.above_designated_size.is_(True)))
        return {t.value: n for t, n in per_tier.items()}, certs, above

    per_tier, certs, above = _query(e2e_app, count)
    assert sum(per_tier.values()) > 0 and certs > 0
    e2e_login(page, live_server, "nantong_admin")
    nav(page, "nav-reports-dashboard")
    total = page.locator("#training-total")
    for tier in ("basic", "advanced", "senior"):
        assert int(total.locator(f"[data-key='{tier}-trained']").inner_text()) == per_tier.get(tier, 0), tier
    assert int(total.locator("[data-key='total-trained']").inner_text()) == sum(per_tier.values())
    assert int(total.locator("[data-key='total-certificates']").inner_text()) == certs
    assert int(page.inner_text("#appointment-320600-above_size [data-key='enterprises']")) == above
    assert page.inner_text("#appointment-320600-above_size [data-key='target']") == "100.0%"  # this year's target
    # with continuing-education compliance per county (issue 17) and the city plan against what was done (issue 15)
    assert page.locator("svg.chart").count() == 7
    assert page.locator("#plans-heading").count() == 1 and page.locator("#no-plans").count() == 0
    rows = page.locator("#training-table tbody tr [data-key='total-trained']").all_inner_texts()
    assert sum(int(x) for x in rows) == sum(per_tier.values())  # 本级 + each county = the total
    # Drill down to a county.
    click_to(page, "#drill-320681")
    assert re.search("启东市", page.inner_text("h1"))
