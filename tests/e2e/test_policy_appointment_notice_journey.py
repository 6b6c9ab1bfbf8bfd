"""Issue 14's walk in Chromium: the county bureau opens an account for an enterprise, the enterprise registers its
CQO, the county accepts, the dashboard's appointment rate moves, the bureau publishes the notice of appointed CQOs,
a visitor sees the list on a phone and lodges an objection, and the bureau records its resolution."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.e2e.conftest import click_to, e2e_login, nav

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _candidate(app):
    """An above-size Qidong enterprise with no CQO in force, and a certified person appointed nowhere."""
    from lms.db import db
    from lms.orgs.models import Enterprise, Region
    from lms.people.models import TraineeProfile
    from talent.models import Appointment, PoolStatus, RegistrationStatus, TalentEntry

    with app.app_context():
        with db.job_session() as s:
            in_force = select(Appointment.enterprise_id).where(Appointment.status == RegistrationStatus.accepted,
                                                               Appointment.ended_on.is_(None))
            ent = s.scalars(select(Enterprise).join(Region).where(
                Region.code == "320681", Enterprise.above_designated_size.is_(True), Enterprise.id.not_in(in_force))
                .order_by(Enterprise.id)).first()
            busy = select(Appointment.user_id).where(Appointment.status != RegistrationStatus.returned,
                                                     Appointment.ended_on.is_(None))
            for entry in s.scalars(select(TalentEntry).where(TalentEntry.status != PoolStatus.exited,
                                                             TalentEntry.user_id.not_in(busy)).order_by(TalentEntry.id)):
                if any(c.in_force(dt.date.today()) for c in entry.certificates):
                    prof = s.scalar(select(TraineeProfile).where(TraineeProfile.user_id == entry.user_id))
                    first_cert = min(c.issued_on for c in entry.certificates if c.in_force(dt.date.today()))
                    return ent.id, ent.name, prof.real_name, prof.id_number, first_cert
    raise AssertionError("the demo has no certified person free to appoint")


def _appointed(page, base) -> int:
    page.goto(f"{base}/reports/dashboard")
    return int(page.locator("#appointment-320681-above_size [data-key=appointed]").inner_text())


def test_policy_enterprise_registers_county_accepts_notice_objection_resolved(e2e_app, live_server, page, phone_page, browser,
                                                                             tmp_path):
    base = live_server
    ent_id, ent_name, cqo_name, cqo_id, certified_on = _candidate(e2e_app)

    # the county bureau opens the enterprise's account
    e2e_login(page, base, "qidong_admin")
    before = _appointed(page, base)
    nav(page, "nav-talent-enterprise_accounts")
    page.select_option("#enterprise_id", str(ent_id))
    page.fill("#username", "e2e_enterprise")
    page.fill("#display_name", ent_name)
    page.fill("#password", "Qiye2026pass")
    click_to(page, "#enterprise-account-submit")
    assert "e2e_enterprise" in page.inner_text("#enterprise-accounts")

    # the enterprise registers its CQO on the annex form
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    ent_page = ctx.new_page()
    ent_page.set_default_timeout(15000)
    e2e_login(ent_page, base, "e2e_enterprise", "Qiye2026pass")
    nav(ent_page, "nav-talent-appointments")
    click_to(ent_page, "#new-appointment")
    letter = tmp_path / "任命书.pdf"
    letter.write_bytes(PDF)
    ent_page.fill("#id_number", "110101199001010000")  # first a person who is no trainee: refused, nothing stored
    ent_page.fill("#appointed_on", certified_on.isoformat())
    ent_page.fill("#enterprise_head", "张总")
    ent_page.fill("#enterprise_head_phone", "13800000000")
    ent_page.fill("#cv", "2010 年起从事质量管理工作。")
    ent_page.fill("#opinion", f"我单位任命{cqo_name}同志为企业首席质量官。")
    ent_page.fill("#opinion_date", certified_on.isoformat())
    ent_page.set_input_files("#letter", str(letter))
    click_to(ent_page, "#appointment-submit")  # refused: the form comes back, at the same address
    assert ent_page.locator(".invalid-feedback[data-field=id_number]").count() == 1
    ent_page.fill("#id_number", cqo_id)
    ent_page.set_input_files("#letter", str(letter))
    ent_page.click("#appointment-submit")
    ent_page.wait_for_url(f"{base}/talent/appointments*")
    link = ent_page.locator("#appointments-table a").first
    appt_url = link.get_attribute("href")
    ctx.close()

    # the county accepts; the dashboard counts the appointment
    page.goto(f"{base}{appt_url}")
    page.select_option("#decision", "accept")
    click_to(page, "#decision-submit")
    assert page.locator("#appt-status").inner_text() == "已受理"
    assert _appointed(page, base) == before + 1

    # the bureau publishes the notice of appointed CQOs
    nav(page, "nav-talent-notices")
    page.select_option("#kind", "appointed")
    page.fill("#title", "启东市受聘首席质量官公示（浏览器测试）")
    page.fill("#objection_days", "7")
    page.click("#notice-submit")
    page.wait_for_url(f"{base}/talent/public/notices/*")
    notice_url = page.url

    # a visitor on a phone sees the list and objects to the new CQO's line
    phone_page.goto(notice_url)
    row = phone_page.locator("tr.notice-line", has_text=cqo_name)
    assert row.count() == 1 and cqo_id not in phone_page.content()
    assert "*" in row.locator(".r-id").inner_text()
    box = phone_page.locator("#notice-pdf").bounding_box()
    assert box["height"] >= 44
    click_to(phone_page, row.locator("a.object-link"))  # the form's stylesheets too: its submit button is measured below
    phone_page.fill("#text", "该同志已于上月离职，请核实。")
    phone_page.fill("#contact_name", "张三")
    phone_page.fill("#contact", "13912345678")
    submit_box = phone_page.locator("#objection-submit").bounding_box()
    assert submit_box["height"] >= 44
    phone_page.click("#objection-submit")
    phone_page.wait_for_url(notice_url)
    assert phone_page.locator("#nav-login").count() == 1  # still anonymous

    # the bureau records how it was resolved
    page.goto(notice_url.replace("/public/notices/", "/notices/"))
    obj = page.locator("tr.objection").first
    assert obj.get_attribute("data-status") == "open" and cqo_name in obj.inner_text()
    oid = obj.get_attribute("id").split("-")[1]
    page.fill(f"#resolution-{oid}", "经核实仍在职，异议不成立。")
    click_to(page, f"#resolve-{oid}")
    assert page.locator(f"#objection-{oid}").get_attribute("data-status") == "dismissed"
