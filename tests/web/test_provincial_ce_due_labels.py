"""Issue 15, point 5: CE hours and due-date values carry their basis wherever people read them — the rules
page's report month and change-registration period, the trainee's home panel, the pool entry's hours, the
bureau's annual-report due dates, and the progress API (which gives the basis next to the hours)."""
import re

from credits import services
from tests.conftest import login
from tests.unit.test_talent_lifecycle import certify
from tests.web.test_talent_web import _bearer

SOURCE = "苏质强办〔2099〕1号 第三条"  # a made-up document name: the test only checks it is carried to every place


def _labels(html: str, key: str) -> list[str]:
    """The basis labels printed for the setting ``key`` (the macro's span)."""
    return re.findall(rf'data-setting="{re.escape(key)}">[^<]*<small[^>]*>(.*?)</small>', html)


def _save(db, world, kind="source", source=SOURCE):
    services.save_rule(db, world.province_admin, world.jiangsu.id, required_hours=72, professional_min_hours=36,
                       report_required=True, report_due_month=11, change_registration_days=20,
                       basis_kind=kind, basis_source=source)
    db.flush()


def test_provincial_rules_page_labels_report_month_and_registration_period(client, db, login_as, world):
    login_as(world.province_admin.username)
    html = client.get("/credits/rules").get_data(as_text=True)
    assert "〔示例〕" in _labels(html, "province_rules.report_due_month")  # nothing saved: the defaults are examples
    _save(db, world)
    html = client.get("/credits/rules").get_data(as_text=True)
    assert f"〔依据：{SOURCE}〕" in _labels(html, "province_rules.report_due_month")
    assert f"〔依据：{SOURCE}〕" in _labels(html, "province_rules.change_registration_days")
    assert "11 月底前" in html and "20 天" in html


def test_provincial_trainee_sees_required_hours_with_basis(client, db, world):
    _save(db, world, kind="province", source="")
    login(client, "wangfang")
    home = client.get("/home").get_data(as_text=True)
    assert "/ 72 学时〔本省自定〕" in home
    api = client.get("/api/v1/credits/progress", headers=_bearer(db, world.trainee)).get_json()
    assert api["required"] == 72 and api["required_basis"] == {"kind": "province", "source": ""}
    assert api["professional_min_basis"] == {"kind": "province", "source": ""}


def test_provincial_pool_entry_hours_carry_basis(client, db, login_as, world):
    entry = certify(db, world)
    _save(db, world)
    login_as(world.province_admin.username)
    html = client.get(f"/talent/entries/{entry.id}").get_data(as_text=True)
    assert _labels(html, "province_rules.required_hours") == [f"〔依据：{SOURCE}〕"]


def test_provincial_annual_report_due_dates_carry_basis(client, db, login_as, world):
    login_as(world.city_admin.username)
    html = client.get("/reports/annual?year=2025").get_data(as_text=True)
    rows = re.findall(r'<tr id="annual-\d+"', html)
    labels = _labels(html, "reporting_settings.annual_report_due")
    assert rows and len(labels) == len(rows) and set(labels) == {"〔示例〕"}
