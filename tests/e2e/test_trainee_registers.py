"""Issue 3's browser journey: a trainee registers, logs in and sees the profile with the ID number masked."""
import datetime as dt

from lms.demo import credit_code, id_number
from tests.e2e.conftest import click_to, e2e_login


def test_trainee_registers_logs_in_and_sees_masked_id(page, live_server):
    base = live_server
    number = id_number("320600", dt.date(1988, 3, 8), 122)
    page.goto(f"{base}/register")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.fill("#username", "zhangmin")
    page.fill("#password", "Zhang2026ok")
    page.fill("#confirm", "Zhang2026ok")
    page.fill("#real_name", "张敏")
    page.fill("#id_number", number[:-1] + ("0" if number[-1] != "0" else "1"))  # a typo in the check digit
    page.fill("#phone", "13962800001")
    page.select_option("#education", "bachelor")
    page.select_option("#title_level", "intermediate")
    page.fill("#quality_years", "6")
    page.fill("#enterprise_credit_code", credit_code("320681MA1QD0101"))  # a demo enterprise
    page.check("#accept_pledge")
    click_to(page, "#register-submit")  # refused: the form comes back, at the same address
    error = page.locator('.invalid-feedback[data-field="id_number"]')
    assert "校验位" in error.inner_text()

    page.fill("#id_number", number)
    page.fill("#password", "Zhang2026ok")
    page.fill("#confirm", "Zhang2026ok")
    page.check("#accept_pledge")
    page.click("#register-submit")
    page.wait_for_url(f"{base}/auth/login")  # registering signs nobody in (issue 18): the trainee signs in
    e2e_login(page, base, "zhangmin", "Zhang2026ok")
    page.goto(f"{base}/me")
    shown = page.locator("#p-id-number").inner_text()
    assert shown != number and shown.startswith(number[:4]) and shown.endswith(number[-4:]) and "*" in shown

    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(f"{base}/auth/login")
    e2e_login(page, base, "zhangmin", "Zhang2026ok")
    page.goto(f"{base}/me")
    assert page.locator("#p-name").inner_text() == "张敏"
    assert "*" in page.locator("#p-id-number").inner_text()
    assert number not in page.content()
