"""Issue 15's browser journey: Fujian's admin copies the seed 001 rule set, edits one condition in the form,
previews it against a sample profile, saves and puts it on the province's basic programme; a trainee of a
Fujian enterprise then reads the new reason on the application page."""
import datetime as dt
import re

from sqlalchemy import select

from courses import gates, services
from courses.models import Programme
from lms.auth.models import User
from lms.db import db
from lms.domain import Role, SizeClass, Tier
from lms.orgs.models import Enterprise, Region
from lms.people.models import TraineeProfile
from lms.templating import today_local
from tests.e2e.conftest import e2e_login, new_page_after


def _fujian_class(s, region_code: str, name: str):
    """A Fujian basic class of the Fujian institution (the demo runs none in Fujian), enrolling now."""
    region = s.scalar(select(Region).where(Region.code == region_code))
    fujian_id = s.scalar(select(Region.id).where(Region.code == "350000"))
    prog = s.scalar(select(Programme).where(Programme.province_id == fujian_id, Programme.tier == Tier.basic)
                    .order_by(Programme.year.desc()))
    staff = s.scalar(select(User).where(User.username == "fj_staff"))
    today = today_local()
    return services.save_class(s, staff, services.ClassData(
        programme_id=prog.id, region_id=region.id, name=name, place="福州",
        start_date=today + dt.timedelta(days=20), end_date=today + dt.timedelta(days=22), capacity=30,
        enrol_opens_on=today - dt.timedelta(days=1), enrol_closes_on=today + dt.timedelta(days=10)), today)


def _fujian_class_and_trainee(app):
    """A filed Fujian basic class open for enrolment and a demo trainee of a large or medium Fujian
    enterprise with fewer than 30 years of quality work."""
    with app.app_context():
        with db.job_session() as s:
            fj = s.scalar(select(Region).where(Region.code == "350000"))
            klass = _fujian_class(s, "350000", "福建省首席质量官基础培训班（浏览器测试）")
            prog = klass.programme
            gates.record_filed(s, klass)
            trainee = s.scalar(select(User).join(TraineeProfile, TraineeProfile.user_id == User.id).join(Enterprise)
                               .join(Region, Enterprise.region_id == Region.id)
                               .where(User.role == Role.trainee, Region.path.startswith(fj.path),
                                      Enterprise.size_class.in_([SizeClass.large, SizeClass.medium]),
                                      TraineeProfile.quality_years < 30).order_by(User.username))
            assert trainee is not None, "the demo has no trainee of a large or medium Fujian enterprise"
            s.commit()
            return klass.id, prog.id, trainee.username


def test_fujian_admin_edits_a_copied_rule_and_a_trainee_reads_it(page, live_server, e2e_app):
    base = live_server
    class_id, programme_id, trainee = _fujian_class_and_trainee(e2e_app)

    e2e_login(page, base, "fujian_admin")
    page.goto(f"{base}/courses/rule-sets/new")
    with new_page_after(page):
        page.click("#copy-seed001")
    assert "闽质监质〔2014〕286号" in page.input_value("#basis_source")
    page.fill("#name", "福建省报名条件（浏览器测试）")
    # Edit one condition: large and medium enterprises now need 30 years of quality work (the live
    # preview re-renders the form when the value changes).
    with new_page_after(page):
        page.fill('[name="n-1.3-value"]', "30")
        page.press('[name="n-1.3-value"]', "Tab")
    assert page.input_value('[name="n-1.3-value"]') == "30"
    with new_page_after(page):
        page.fill("#s-years", "10")
        page.press("#s-years", "Tab")
    with new_page_after(page):
        page.select_option("#s-size", "large")
    assert page.get_attribute("#sample-result", "data-eligible") == "no"
    assert "要求不少于 30 年" in page.inner_text("#sample-unmet")
    with new_page_after(page):
        page.select_option("#basis_kind", "province")
    page.click("#rules-submit")
    page.wait_for_url(f"{base}/courses/programmes")

    page.goto(f"{base}/courses/programmes/{programme_id}/edit")
    page.select_option("#eligibility_rule_set_id", label="福建省报名条件（浏览器测试）（福建省）")
    page.click("#programme-submit")
    page.wait_for_url(f"{base}/courses/programmes/{programme_id}")
    assert "30 年以上质量工作经历" in page.inner_text("#rule-groups")
    assert "本省自定" in page.inner_text("#rule-groups")
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/auth/login"))

    e2e_login(page, base, trainee)
    page.goto(f"{base}/courses/classes/{class_id}/apply")
    unmet = page.locator('#eligibility li[data-met="no"][data-code="quality_years_min"]')
    assert "要求不少于 30 年" in unmet.inner_text()


def test_fujian_runs_every_tier_at_province_level(page, live_server, e2e_app):
    """Seed 001 第九条: the province runs the training through entrusted institutions. Its admin reads the
    set-up with its document; a basic class held in a county is filed with the province's bureau."""
    base = live_server
    with e2e_app.app_context():
        with db.job_session() as s:
            class_id = _fujian_class(s, "350121", "闽侯县首席质量官基础培训班（浏览器测试）").id
            s.commit()

    e2e_login(page, base, "fujian_admin")
    page.goto(f"{base}/manage/tiers")
    for tier in ("basic", "advanced", "senior"):
        assert page.input_value(f"#{tier}-level") == "province"
        assert "闽质监质〔2014〕286号 第九条" in page.inner_text(f'tr[data-tier="{tier}"]')
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/auth/login"))

    e2e_login(page, base, "fj_staff")
    page.goto(f"{base}/reports/classes/{class_id}/filing")
    assert page.inner_text("#filing-bureau") == "福建省市场监督管理局"  # not 闽侯县's bureau: Fujian runs it
