"""Issue 7's browser journey: a bureau publishes a notice of its talent pool and an anonymous visitor finds a
person in it with the ID number masked."""
from tests.e2e.conftest import click_to, e2e_login, nav


def test_bureau_publishes_notice_and_public_finds_masked_person(page, live_server, browser):
    base = live_server
    e2e_login(page, base, "nantong_admin")
    nav(page, "nav-talent-notices")
    page.wait_for_url(f"{base}/talent/notices")
    page.fill("#title", "南通市首席质量官人才库公示（浏览器测试）")
    page.fill("#objection_days", "10")
    page.click("#notice-submit")
    page.wait_for_url(f"{base}/talent/public/notices/*")
    notice_url = page.url
    assert "浏览器测试" in page.locator("#notice-title").inner_text()

    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")  # a visitor without a session
    anon = ctx.new_page()
    anon.set_default_timeout(15000)
    try:
        anon.goto(f"{base}/talent/public/notices")
        anon.locator("a.notice-link", has_text="南通市首席质量官人才库公示（浏览器测试）").click()
        anon.wait_for_url(notice_url)
        assert anon.locator("#notice-results").count() == 0  # nothing is listed before a search
        anon.fill("#search-name", "王芳")
        click_to(anon, "#search-submit")
        row = anon.locator("tr.notice-row").first
        assert row.locator(".r-name").inner_text() == "王芳"
        masked = row.locator(".r-id").inner_text()
        assert "*" in masked and len(masked) == 18
        assert "启东海工装备制造有限公司" in row.inner_text()
        assert anon.locator("#nav-login").count() == 1  # still anonymous
    finally:
        ctx.close()
