"""Issue 14, part A, on the demo: qidong_admin's pool lists 王芳 (she works in Qidong, trained in a Nantong class),
the 地区 column shows the county, and 王芳 (report filed, 80 of the example's 90 hours) is not on warning."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from credits import queries as credit_queries
from lms import demo
from lms.auth.models import User
from talent.models import PoolStatus, TalentEntry
from tests.conftest import login


@pytest.fixture
def demo_world(app, db):
    with app.app_context():
        demo.seed(db, dt.date.today())
    db.flush()
    return db


def _rows(html: str) -> list[str]:
    body = html.split('id="pool-table"', 1)[-1] if 'id="pool-table"' in html else html
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def test_policy_qidong_admin_sees_wang_fang_with_the_county(app, demo_world, client):
    login(client, "qidong_admin", demo.DEMO_PASSWORD)
    html = client.get("/talent/pool").get_data(as_text=True)
    rows = [r for r in _rows(html) if "王芳" in r]
    assert rows, html[:2000]
    assert "启东市" in rows[0] and "南通市" not in rows[0]


def test_policy_demo_wang_fang_not_warned(app, demo_world):
    trainee = demo_world.scalar(select(User).where(User.username == "trainee"))
    entry = demo_world.scalar(select(TalentEntry).where(TalentEntry.user_id == trainee.id))
    assert entry.status == PoolStatus.active
    p = credit_queries.progress(demo_world, trainee.id, dt.date.today().year, entry.province_id)
    assert p.report_filed and 80 <= p.total < p.required and p.compliant
    assert entry.current_appointment is not None and entry.current_appointment.appointed_on >= entry.entered_on
