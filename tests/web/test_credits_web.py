"""Continuing education over HTTP: the progress page and ``/api/v1/credits/progress`` give the same figures."""
import re

from credits import services
from lms.templating import today_local
from tests.conftest import login, post_form
from tests.unit.test_talent_lifecycle import certify
from tests.web.test_talent_web import _bearer

REPORT = "本年度组织质量改进项目三项，完成质量管理体系内审与管理评审。"


def _page_figures(html: str) -> dict:
    """The figures the progress page shows: the year, the requirement, the hours of each bar, the status."""
    year = int(re.search(r'<option value="(\d+)" selected', html).group(1))
    required, professional_min = map(int, re.search(r'id="ce-summary">\D*(\d+)\D+(\d+)', html).groups())
    bars = [float(v) for v in re.findall(r'data-value="([\d.]+)"', html)]
    return {"year": year, "required": required, "professional_min": professional_min, "professional": bars[0],
            "public": bars[1], "total": bars[2], "compliant": 'id="ce-status">已达标' in html,
            "report_filed": "履职报告：已提交" in html}


def test_parity_credits_progress_page_and_api(client, db, world):
    """Same user, same year asked for: the page and the API answer with the same progress (same year fallback,
    same province rule, same hours)."""
    certify(db, world)
    services.save_rule(db, world.province_admin, world.jiangsu.id, required_hours=40, professional_min_hours=20,
                       report_required=True, report_due_month=12, change_registration_days=30)
    this = today_local().year
    for year, prof, pub in ((this, 24, 20), (this - 1, 8, 0)):
        services.award_system_credit(db, user_id=world.trainee.id, year=year, hours=prof, subject_category="professional",
                                     source_ref=f"parity:{year}:p", title="质量管理")
        if pub:
            services.award_system_credit(db, user_id=world.trainee.id, year=year, hours=pub, subject_category="public",
                                         source_ref=f"parity:{year}:g", title="公需科目")
    db.flush()
    headers = _bearer(db, world.trainee)
    login(client, "wangfang")
    assert post_form(client, "/credits/report", {"year": this, "summary": REPORT}).status_code == 302
    for year in (str(this), str(this - 1), "1999", "3000"):
        page = _page_figures(client.get(f"/credits/?year={year}").get_data(as_text=True))
        api = client.get(f"/api/v1/credits/progress?year={year}", headers=headers).get_json()
        assert page == {k: api[k] for k in page}, year
    # Not a year: the page shows this year; the API refuses it as its document says (an integer 1-9999, issue 18).
    assert client.get("/api/v1/credits/progress?year=x", headers=headers).status_code == 422
    assert api["year"] == this and api["required"] == 40 and api["total"] == 44 and api["compliant"] is True
