"""Reporting pages: filing and review, the results page with its import, annual reports, the dashboard and
the API, with the scoping rules (404 and an audit entry for someone else's class)."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from courses.models import Enrollment, EnrollmentStatus
from lms.audit import AuditEvent
from reports import queries
from reports.services import filing
from reports.models import ClassFiling, ResultImport, ReviewStatus
from tests.conftest import post_form
from tests.courses_support import switch_user
from tests.report_factories import finished_class, unfiled_class, xlsx


@pytest.fixture
def inline_imports(app):
    app.config["BACKGROUND_INLINE"] = True
    yield
    app.config["BACKGROUND_INLINE"] = False


def test_staff_file_a_class_and_the_county_bureau_accepts_it(client, db, world, login_as):
    klass = unfiled_class(db, world, teachers="")
    login_as("nt_staff")
    url = f"/reports/classes/{klass.id}/filing"
    page = client.get(url).get_data(as_text=True)
    assert 'id="filing-form"' in page and 'id="filing-timetable"' in page
    resp = post_form(client, url, {"teachers": ""})
    assert resp.status_code == 200 and 'data-field="teachers"' in resp.get_data(as_text=True)
    resp = post_form(client, url, {"teachers": "张建国，高级质量工程师\n李晓梅，注册审核员"})
    assert resp.status_code == 302
    f = db.scalar(select(ClassFiling).where(ClassFiling.class_id == klass.id))
    assert f.status == ReviewStatus.submitted and f.snapshot["teachers"] == ["张建国，高级质量工程师", "李晓梅，注册审核员"]

    switch_user(client, "nt_admin")  # the city bureau sees it but the basic tier is the county's
    assert 'id="filing-accept"' not in client.get(url).get_data(as_text=True)
    resp = post_form(client, f"/reports/filings/{f.id}/decide", {"decision": "accept"}, token_from=url)
    db.refresh(f)
    assert f.status == ReviewStatus.submitted
    switch_user(client, "qd_admin")
    page = client.get("/reports").get_data(as_text=True)
    assert f'id="filing-{f.id}"' in page
    assert 'id="filing-accept"' in client.get(url).get_data(as_text=True)
    resp = post_form(client, f"/reports/filings/{f.id}/decide", {"decision": "accept"}, token_from=url)
    assert resp.status_code == 302
    db.refresh(f)
    assert f.status == ReviewStatus.accepted


def test_another_institution_gets_404_and_is_audited(client, db, world, login_as):
    klass = unfiled_class(db, world)
    login_as("fj_staff")
    before = db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "access_denied"))
    assert client.get(f"/reports/classes/{klass.id}/filing").status_code == 404
    assert client.get(f"/reports/classes/{klass.id}/results").status_code == 404
    assert db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "access_denied")) > before
    resp = post_form(client, f"/reports/classes/{klass.id}/filing", {"teachers": "冒名"}, token_from="/reports")
    assert resp.status_code == 404
    assert db.scalar(select(ClassFiling).where(ClassFiling.class_id == klass.id)) is None


def test_a_county_bureau_sees_only_its_county(client, db, world, login_as):
    qd = unfiled_class(db, world, region=world.qidong)
    rg = unfiled_class(db, world, region=world.rugao)
    from lms.templating import today_local

    f_qd = filing.file_class(db, world.staff_nt, qd, today_local())
    f_rg = filing.file_class(db, world.staff_nt, rg, today_local())
    login_as("rg_admin")
    page = client.get("/reports").get_data(as_text=True)
    assert f'id="filing-{f_rg.id}"' in page and f'id="filing-{f_qd.id}"' not in page
    assert client.get(f"/reports/classes/{qd.id}/filing").status_code == 404
    switch_user(client, "nt_admin")
    page = client.get("/reports").get_data(as_text=True)
    assert f'id="filing-{f_rg.id}"' in page and f'id="filing-{f_qd.id}"' in page


def test_results_import_bad_then_good_then_report_accepted(client, db, world, login_as, inline_imports):
    klass, users, _css, exam = finished_class(db, world, trainees=2, sessions=1)
    login_as("nt_staff")
    url = f"/reports/classes/{klass.id}/results"
    page = client.get(url).get_data(as_text=True)
    assert 'id="import-form"' in page and "import.js" in page and "<script>" not in page
    template = client.get(f"{url}/template.xlsx")
    assert load_workbook(io.BytesIO(template.data)).active.max_row == 3

    bad = xlsx([[users[0].username, "", 1, "出勤", 90, ""], [users[1].username, "", 1, "出勤", "九十", ""]])
    resp = post_form(client, f"{url}/import", {"file": (io.BytesIO(bad), "results.xlsx")}, token_from=url,
                     content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "第 3 行「考试成绩」列（E 列）" in text
    assert db.scalar(select(func.count(ResultImport.id))) == 0

    good = xlsx([[users[0].username, "", 1, "出勤", 90, ""], [users[1].username, "", 1, "出勤", 55, ""]])
    resp = post_form(client, f"{url}/import", {"file": (io.BytesIO(good), "results.xlsx")}, token_from=url,
                     content_type="multipart/form-data")
    assert resp.status_code == 302
    imp = db.scalar(select(ResultImport))
    progress = client.get(f"/reports/imports/{imp.id}.json").get_json()
    assert progress["status"] == "done" and progress["percent"] == 100 and progress["total"] == 2
    page = client.get(url).get_data(as_text=True)
    assert re.search(rf'id="roster-{users[0].username}" data-score="90', page)

    resp = post_form(client, f"{url}/import", {"file": (io.BytesIO(good), "again.xlsx")}, token_from=url,
                     content_type="multipart/form-data")
    assert resp.status_code == 302 and "未重复导入" in client.get(url).get_data(as_text=True)
    assert db.scalar(select(func.count(ResultImport.id))) == 1

    resp = post_form(client, url, {"note": ""})
    assert resp.status_code == 302
    report = queries.results_of(db, klass)
    assert report.status == ReviewStatus.submitted and report.totals["passed"] == 1

    switch_user(client, "qd_admin")
    listing = client.get("/reports?kind=results&status=submitted").get_data(as_text=True)
    assert f'id="results-{report.id}"' in listing
    assert f'id="results-{report.id}"' not in client.get("/reports?kind=results&status=accepted").get_data(as_text=True)
    assert f'id="results-{report.id}"' not in client.get("/reports?kind=results&q=不存在的班").get_data(as_text=True)
    assert 'id="results-accept"' in client.get(url).get_data(as_text=True)
    resp = post_form(client, f"/reports/results/{report.id}/decide", {"decision": "accept"}, token_from=url)
    assert resp.status_code == 302
    db.refresh(report)
    assert report.status == ReviewStatus.accepted
    export = client.get(f"{url}.xlsx")
    assert export.status_code == 200 and load_workbook(io.BytesIO(export.data)).active["A3"].value == users[0].username


def test_annual_reports_pages(client, db, world, login_as):
    login_as("nt_staff")
    page = client.get("/reports/annual?year=2025").get_data(as_text=True)
    assert 'id="annual-figures"' in page
    resp = post_form(client, "/reports/annual?year=2025", {"year": 2025, "narrative": "本年度举办基础培训两期，提升培训一期，考核合格率 92%。"})
    assert resp.status_code == 302
    switch_user(client, "nt_admin")
    page = client.get("/reports/annual?year=2025").get_data(as_text=True)
    assert f'id="annual-{world.inst_nt.id}" data-state=' in page
    assert f'id="annual-{world.inst_fj.id}"' not in page  # another province


def test_dashboard_charts_tables_export_and_drill_down(client, db, world, login_as):
    finished_class(db, world, trainees=2)
    login_as("nt_admin")
    page = client.get("/reports/dashboard").get_data(as_text=True)
    assert page.count("<svg") >= 6 and "style=" not in page and "<style" not in page
    assert 'id="chart-ce"' in page and 'id="ce-320681"' in page and 'id="ce-320682"' in page  # CE per county
    assert 'id="training-320681"' in page and 'id="training-320682"' in page
    m = re.search(r'<tr id="training-total">.*?data-key="total-trained">(\d+)<', page, re.S)
    assert m and int(m.group(1)) == 2
    assert 'id="pool-statuses"' in page and 'id="credit-compliance"' in page
    drill = client.get(f"/reports/dashboard?region={world.qidong.id}").get_data(as_text=True)
    assert "启东市" in drill
    xl = client.get("/reports/dashboard.xlsx")
    assert xl.status_code == 200 and "人才库与继续教育" in load_workbook(io.BytesIO(xl.data)).sheetnames
    assert client.get(f"/reports/dashboard?region={world.fujian.id}").status_code == 404  # not its region
    switch_user(client, "qd_admin")
    assert client.get(f"/reports/dashboard?region={world.nantong.id}").status_code == 404  # above it
    assert client.get(f"/reports/dashboard?region={world.rugao.id}").status_code == 404  # a sibling county


def test_targets_and_settings_pages(client, db, world, login_as):
    login_as("nt_admin")
    resp = post_form(client, "/reports/targets", {"year": 2026, "category": "above_size", "rate": "80",
                                                  "basis": "示例"})
    assert resp.status_code == 302
    assert "80%" in client.get("/reports/targets").get_data(as_text=True)
    assert client.get("/reports/settings").status_code == 200
    resp = post_form(client, "/reports/settings", {"annual_report_due": "01-31", "key_industries": "食品"})
    assert "只有省级监管部门" in resp.get_data(as_text=True)
    switch_user(client, "js_admin")
    resp = post_form(client, "/reports/settings", {"annual_report_due": "02-28", "key_industries": "食品\n医疗器械",
                                                   "key_industries_basis": "本省自定",
                                                   "hold_certificates": "y"})
    assert resp.status_code == 302
    assert queries.settings_for(db, world.qidong).hold_certificates_until_report is True


def _bearer(db, user) -> dict:
    from lms.auth import services as auth_services

    _tok, clear = auth_services.create_token(db, user, "institution system")
    return {"Authorization": f"Bearer {clear}"}


def test_api_files_a_class_submits_results_and_reads_status(client, db, world):
    from lms.templating import today_local

    staff = _bearer(db, world.staff_nt)
    klass = unfiled_class(db, world, teachers="")
    resp = client.post(f"/api/v1/reports/classes/{klass.id}/filing", headers=staff, json={})
    assert resp.status_code == 422 and "teachers" in resp.get_json()["fields"]
    resp = client.post(f"/api/v1/reports/classes/{klass.id}/filing", headers=staff, json={"teachers": "王老师"})
    assert resp.status_code == 201 and resp.get_json()["filing"]["status"] == "submitted"
    assert resp.get_json()["can_enrol"] is False
    other = _bearer(db, world.staff_fj)
    assert client.get(f"/api/v1/reports/classes/{klass.id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/reports/classes/{klass.id}/filing", headers=other, json={}).status_code == 404
    filing.decide_filing(db, world.county_admin, queries.filing_of(db, klass), accept=True)
    assert client.get(f"/api/v1/reports/classes/{klass.id}", headers=staff).get_json()["can_enrol"] is True

    done, users, _css, exam = finished_class(db, world, trainees=2, sessions=1)
    bad = {"rows": [{"username": users[0].username, "score": 80}, {"username": "ghost", "score": 70}]}
    resp = client.post(f"/api/v1/reports/classes/{done.id}/results", headers=staff, json=bad)
    assert resp.status_code == 422 and "第 2 行" in resp.get_json()["fields"]["file"]
    assert resp.get_json()["problems"] == [{"row": 2, "column": "学员账号", "letter": "A", "value": "ghost",
                                            "message": "不是本培训班的已录取学员"}]
    assert queries.results_of(db, done) is None
    good = {"note": "按时结业", "rows": [{"username": users[0].username, "session_no": 1, "attendance": "present", "score": 80},
                                     {"username": users[1].username, "session_no": 1, "attendance": "absent", "score": 50}]}
    resp = client.post(f"/api/v1/reports/classes/{done.id}/results", headers=staff, json=good)
    body = resp.get_json()
    assert resp.status_code == 201 and body["results"]["status"] == "submitted"
    assert body["results"]["totals"]["passed"] == 1 and body["results"]["totals"]["attendance_met"] == 1
    listing = client.get("/api/v1/reports/classes", headers=staff).get_json()
    assert {i["class_id"] for i in listing["items"]} >= {klass.id, done.id}
    assert client.get("/api/v1/openapi.json").get_json()["paths"].get("/api/v1/reports/classes/{class_id}/results")

    from reports.services import annual

    annual.submit(db, world.staff_nt, 2025, "本年度举办基础培训两期，提升培训一期，考核合格率 92%。", today_local())
    items = client.get("/api/v1/reports/annual", headers=staff).get_json()["items"]
    assert [(i["year"], i["institution"]) for i in items] == [(2025, world.inst_nt.name)]
    assert client.get("/api/v1/reports/annual", headers=other).get_json()["items"] == []


def test_parity_results_report_page_and_api(client, db, world, login_as, inline_imports):
    """The same offline rows give the same results report whether they come as a file on the page (checked,
    applied as a background import, then the report submitted) or as JSON rows with the report through the API."""
    page_class, users, _css, _exam = finished_class(db, world, trainees=2, sessions=1)
    api_class, _none, _css2, _exam2 = finished_class(db, world, trainees=0, sessions=1)
    for u in users:
        db.add(Enrollment(class_id=api_class.id, user_id=u.id, status=EnrollmentStatus.approved, eligibility={}))
    db.flush()
    rows = [(users[0].username, 1, "出勤", "present", 90), (users[1].username, 1, "缺勤", "absent", 55)]

    login_as("nt_staff")
    url = f"/reports/classes/{page_class.id}/results"
    data = xlsx([[name, "", no, word, score, ""] for name, no, word, _a, score in rows])
    resp = post_form(client, f"{url}/import", {"file": (io.BytesIO(data), "results.xlsx")}, token_from=url,
                     content_type="multipart/form-data")
    assert resp.status_code == 302
    assert post_form(client, url, {"note": "按时结业"}).status_code == 302

    body = {"note": "按时结业", "rows": [{"username": name, "session_no": no, "attendance": a, "score": score}
                                     for name, no, _w, a, score in rows]}
    resp = client.post(f"/api/v1/reports/classes/{api_class.id}/results", headers=_bearer(db, world.staff_nt), json=body)
    assert resp.status_code == 201

    by_page, by_api = queries.results_of(db, page_class), queries.results_of(db, api_class)

    def shape(report):
        return [{k: v for k, v in r.items() if k != "enrollment_id"} for r in report.rows]

    assert by_page.status == by_api.status == ReviewStatus.submitted
    assert shape(by_page) == shape(by_api) and by_page.totals == by_api.totals and by_page.note == by_api.note
    assert by_page.totals["passed"] == 1 and by_page.totals["attendance_met"] == 1
    assert resp.get_json()["results"]["totals"] == by_page.totals


def test_the_class_page_says_why_it_cannot_enrol_yet(client, db, world, login_as):
    klass = unfiled_class(db, world)
    login_as("nt_staff")
    page = client.get(f"/courses/classes/{klass.id}").get_data(as_text=True)
    assert 'id="class-gate"' in page and "报备" in page and 'id="class-teachers"' in page
    from lms.templating import today_local

    f = filing.file_class(db, world.staff_nt, klass, today_local())
    filing.decide_filing(db, world.county_admin, f, accept=True)
    assert 'id="class-gate"' not in client.get(f"/courses/classes/{klass.id}").get_data(as_text=True)


def test_a_change_after_filing_is_pointed_out(client, db, world, login_as):
    from lms.templating import today_local

    klass = unfiled_class(db, world)
    f = filing.file_class(db, world.staff_nt, klass, today_local())
    login_as("qd_admin")
    assert 'id="filing-changed"' not in client.get(f"/reports/classes/{klass.id}/filing").get_data(as_text=True)
    klass.capacity = 99
    db.flush()
    page = client.get(f"/reports/classes/{klass.id}/filing").get_data(as_text=True)
    assert 'id="filing-changed"' in page and "招收人数" in page and f'id="filing-capacity">{f.snapshot["capacity"]}<' in page


def test_staff_home_shows_the_annual_report(client, db, world, login_as):
    login_as("nt_staff")
    page = client.get("/home").get_data(as_text=True)
    assert "年度工作报告" in page


def test_trainees_are_offered_only_accepted_classes(client, db, world, login_as):
    from lms.templating import today_local

    klass = unfiled_class(db, world)
    login_as("wangfang")
    assert f'data-class="{klass.id}"' not in client.get("/courses/classes").get_data(as_text=True)
    f = filing.file_class(db, world.staff_nt, klass, today_local())
    filing.decide_filing(db, world.county_admin, f, accept=True)
    assert f'data-class="{klass.id}"' in client.get("/courses/classes").get_data(as_text=True)


def test_out_of_range_years_fall_back_instead_of_failing(client, db, world, login_as):
    login_as("nt_admin")
    for url in ("/reports/annual?year=99999", "/reports/annual?year=abc", "/reports/dashboard?year=99999"):
        assert client.get(url).status_code == 200, url
