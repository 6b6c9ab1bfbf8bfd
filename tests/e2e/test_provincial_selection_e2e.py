"""A city bureau runs its 评选 in Chromium: it opens the year's selection, picks a starred CQO from the list of
whom it may nominate (no entry number to look up elsewhere), gives the reason, and sees the nomination listed and the
person gone from the choices."""
from sqlalchemy import select

from lms.auth.models import User
from lms.db import db
from lms.orgs.models import Region
from talent.models import PoolStatus, TalentEntry
from tests.e2e.conftest import click_to, e2e_login
from tests.e2e.test_journey_a11y import axe_violations

YEAR = 2031  # a year no other browser test opens a selection for (one a region and year)


def _starred_member(app) -> tuple[int, str]:
    """An active pool member of Nantong and below (not 王芳, whom other journeys follow), rated five stars here."""
    with app.app_context(), db.job_session() as s:
        nantong = s.scalar(select(Region).where(Region.name == "南通市"))
        entry = s.scalar(select(TalentEntry).join(Region, Region.id == TalentEntry.region_id)
                         .join(User, User.id == TalentEntry.user_id)
                         .where(Region.path.startswith(nantong.path), TalentEntry.status == PoolStatus.active,
                                User.username != "trainee").order_by(TalentEntry.id))
        assert entry is not None, "the demo has an active pool member in Nantong besides 王芳"
        entry.stars = 5
        name = entry.name
        s.commit()
        return entry.id, name


def test_provincial_selection_nominates_from_the_list(page, live_server, e2e_app):
    base = live_server
    entry_id, name = _starred_member(e2e_app)
    e2e_login(page, base, "nantong_admin")
    page.goto(f"{base}/talent/selections")
    page.fill("#sel-year", str(YEAR))
    page.fill("#sel-title", f"{YEAR}年度南通市优秀首席质量官评选（浏览器测试）")
    click_to(page, "#selection-submit", f"{base}/talent/selections/*")
    assert not axe_violations(page), "the selection page with its list of candidates has no serious axe violation"
    choice = page.locator(f"#cand-{entry_id}")
    assert choice.is_visible() and page.locator(f"label[for='cand-{entry_id}']").inner_text() == name
    page.locator(f"label[for='cand-{entry_id}']").click()  # the name is the radio's label
    assert choice.is_checked()
    page.fill("#nom-reason", "带领企业通过质量管理体系认证，成效显著")
    click_to(page, "#nominate-submit")
    assert name in page.locator("#nominations-table").inner_text()
    assert page.locator(f"#cand-{entry_id}").count() == 0
