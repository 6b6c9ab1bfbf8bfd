"""Every page of the pool, CE and notifications renders for the roles that may open it, CSP-clean."""
import datetime as dt
import io
import re

from credits import queries as credit_queries
from credits import services as credits
from talent.services import appointments, evaluation, notices
from tests.conftest import login, post_form
from tests.unit.test_talent_lifecycle import certify

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF"


def _clean(html, url):
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
    assert " style=" not in html, url


def _setup(db, world, app):
    e = certify(db, world)
    evaluation.ensure_first_level(db, world.jiangsu.id)
    evaluation.save_indicators(db, world.province_admin, world.jiangsu.id, [
        evaluation.IndicatorRow("A1", "A", "质量意识", None, 10, "自评")])
    appt = appointments.submit_appointment(db, world.trainee, appointments.AppointmentData(
        kind="initial", appointed_on=dt.date(2026, 3, 1), enterprise_head="张总", enterprise_head_phone="0513",
        quality_head="", quality_head_phone="", cv="简历内容", awards="", opinion="我单位任命王芳同志为企业首席质量官。",
        opinion_date=dt.date(2026, 3, 1)), PDF, "letter.pdf", app.config["UPLOAD_DIR"], dt.date(2026, 3, 5))
    c = credits.submit_claim(db, world.trainee, credits.ClaimData(
        user_id=world.trainee.id, title="论坛", organiser="", activity_date=dt.date(2026, 10, 1), hours=4,
        subject_category="public"), PDF, "e.pdf", app.config["UPLOAD_DIR"], dt.date(2026, 11, 22))
    n = notices.publish_notice(db, world.city_admin, title="公示", objection_days=7, contact="", today=dt.date(2026, 1, 1), kind="certified")
    db.flush()
    return e, appt, c, n


def test_admin_pages(client, db, world, app):
    e, appt, c, n = _setup(db, world, app)
    for user in ("nt_admin", "js_admin", "sys"):
        login(client, user)
        for url in ["/home", "/talent/pool", "/talent/pool?q=王&status=active&tier=basic&stars=3&region=1&enterprise=启东",
                    f"/talent/entries/{e.id}", "/talent/appointments", "/talent/appointments?status=accepted",
                    f"/talent/appointments/{appt.id}", "/talent/notices", "/talent/indicators",
                    "/talent/assessments", "/credits/review", "/credits/review?status=approved",
                    "/credits/rules", "/notifications/", "/admin/jobs/" if user == "sys" else "/home"]:
            resp = client.get(url)
            assert resp.status_code == 200, (user, url, resp.status_code)
            _clean(resp.get_data(as_text=True), url)
            if url == "/admin/jobs/":
                assert "talent-rollup" in resp.get_data(as_text=True)
        for download in (f"/talent/appointments/{appt.id}/letter", f"/credits/claims/{c.id}/evidence"):
            with client.get(download) as resp:  # a file response: closing it closes the file
                assert resp.data == PDF
        client.delete_cookie("session")


def test_trainee_pages(client, db, world, app):
    e, appt, c, n = _setup(db, world, app)
    login(client, "wangfang")
    for url in ["/home", "/talent/me", f"/talent/entries/{e.id}", "/talent/appointments/new", f"/talent/appointments/{appt.id}",
                "/credits/", "/credits/?year=2025", "/credits/claims/new", "/credits/report", "/notifications/"]:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        _clean(resp.get_data(as_text=True), url)
    for url in ["/talent/pool", "/talent/notices", "/credits/review", "/credits/rules", "/talent/indicators"]:
        assert client.get(url).status_code == 403, url
    with client.get(f"/credits/claims/{c.id}/evidence") as resp:
        assert resp.status_code == 200


def test_trainee_without_entry(client, db, world):
    login(client, "linfz")
    html = client.get("/talent/me").get_data(as_text=True)
    assert 'id="not-in-pool"' in html


def test_bureau_reviews_over_http(client, db, world, app):
    e, appt, c, n = _setup(db, world, app)
    login(client, "nt_admin")
    r = post_form(client, f"/talent/appointments/{appt.id}", {"decision": "return", "reason": ""})
    assert r.status_code == 200 and 'data-field="reason"' in r.get_data(as_text=True)
    r = post_form(client, f"/talent/appointments/{appt.id}", {"decision": "return", "reason": "任命书未盖章"})
    assert r.status_code == 302
    r = post_form(client, f"/credits/claims/{c.id}/review", {"decision": "approve", "reason": ""}, token_from="/credits/review")
    assert r.status_code == 302
    assert credit_queries.progress(db, world.trainee.id, 2026, world.jiangsu.id).public == 4


def test_province_bureau_edits_rules_and_imports_indicators(client, db, world):
    from openpyxl import Workbook

    login(client, "js_admin")
    r = post_form(client, "/credits/rules", {"required_hours": "80", "professional_min_hours": "50", "report_required": "y",
                                             "report_due_month": "12", "change_registration_days": "20"})
    assert r.status_code == 302
    assert credit_queries.rule_for(db, world.jiangsu.id).change_registration_days == 20
    wb = Workbook()
    wb.active.append(["编码", "上级编码", "名称", "权重", "满分", "证据类型"])
    wb.active.append(["D1", "D", "质量改进能力", None, 10, "项目报告"])
    buf = io.BytesIO()
    wb.save(buf)
    r = post_form(client, "/talent/indicators", {"action": "import", "imp-file": (io.BytesIO(buf.getvalue()), "t.xlsx")},
                  content_type="multipart/form-data")
    assert r.status_code == 302
    assert "质量改进能力" in client.get("/talent/indicators").get_data(as_text=True)
    r = post_form(client, "/talent/indicators", {"action": "node", "node-code": "D11", "node-parent": "D1",
                                                 "node-name": "持续改进", "node-max_points": "5", "node-evidence_type": "记录"})
    assert r.status_code == 302
    from sqlalchemy import select

    from talent.models import Indicator

    node = db.scalar(select(Indicator).where(Indicator.code == "D11"))
    assert node.level == 3
    r = post_form(client, f"/talent/indicators/{node.id}/delete", {}, token_from="/talent/indicators")
    assert r.status_code == 302 and db.scalar(select(Indicator).where(Indicator.code == "D11")) is None
    client.delete_cookie("session")
    login(client, "nt_admin")
    assert post_form(client, "/credits/rules", {"required_hours": "1", "professional_min_hours": "0",
                                                "report_due_month": "12", "change_registration_days": "20"},
                     token_from="/credits/rules").status_code == 403
