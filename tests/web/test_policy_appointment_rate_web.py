"""Issue 14, point 1 on the pages: the dashboard says how the appointment rate counts and where each target comes
from; the targets form refuses a target with no basis and stores nothing."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from reports.models import AppointmentTarget
from reports.services import rules
from tests.conftest import post_form


def test_policy_dashboard_says_how_it_counts_and_shows_the_basis(client, db, world, login_as):
    rules.set_target(db, world.city_admin, 2026, "above_size", 50, basis="示例（测试）")
    db.commit()
    login_as("qd_admin")
    page = client.get("/reports/dashboard?year=2026").get_data(as_text=True)
    how = re.search(r'id="appointment-how">(.*?)</p>', page, re.S).group(1)
    assert "仅持有证书不计为已聘任" in how and "中型、小型、微型" in how
    row = re.search(r'<tr id="appointment-320681-above_size".*?</tr>', page, re.S).group(0)
    assert 'data-key="target">50.0%<' in row and "南通市设定；依据：示例（测试）" in row
    assert re.search(r'data-key="appointed">0<', row)  # 王芳 holds no registered appointment
    xl = load_workbook(io.BytesIO(client.get("/reports/dashboard.xlsx?year=2026").data))
    assert any(r and "示例（测试）" in r for r in xl["聘任率"].iter_rows(values_only=True))


def test_policy_target_form_refuses_a_target_without_basis(client, db, world, login_as):
    login_as("nt_admin")
    resp = post_form(client, "/reports/targets", {"year": 2027, "category": "small_micro_key", "rate": "30"})
    assert resp.status_code == 200 and "依据" in resp.get_data(as_text=True)
    assert db.scalar(select(AppointmentTarget.id)) is None
    resp = post_form(client, "/reports/targets", {"year": 2027, "category": "small_micro_key", "rate": "30",
                                                  "basis": "崇质强办文〔2022〕3号"})
    assert resp.status_code == 302
    assert "崇质强办文〔2022〕3号" in client.get("/reports/targets").get_data(as_text=True)
