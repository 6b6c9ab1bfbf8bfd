"""Issue 14, 公示 as seed 003 says (「公示受聘首席质量官的信息」): a bureau publishes the appointed CQOs of its region
(not the certificate holders) over a period; the public page lists them masked, prints, exports to PDF and Excel;
anyone may object with contact details during the period (rate-limited per address); the bureau records each
resolution and closes the notice."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.errors import Conflict, Forbidden, ValidationFailed
from talent.models import NoticeEntry, NoticeObjection, ObjectionStatus
from talent.services import appointments, notices
from tests.conftest import post_form
from tests.factories import id_number, make_trainee
from tests.unit.test_policy_appointments import enterprise_account, file, form, idn
from tests.unit.test_talent_lifecycle import certify

TODAY = dt.date(2026, 11, 22)


def _appointed(db, world, app):
    """王芳 appointed at 启东机械 (accepted); 李强 certified too but never appointed."""
    certify(db, world, issued=dt.date(2026, 1, 10))
    li = make_trainee(db, "liqiang", world.ent_qd, real_name="李强", id_number=id_number("320600", dt.date(1985, 5, 5), 21))
    certify(db, world, user=li, cert_id=800002, issued=dt.date(2026, 6, 1))
    appt = file(db, app, enterprise_account(db, world), form(dt.date(2026, 2, 1), idn(world.trainee)), dt.date(2026, 2, 5))
    appointments.review_appointment(db, world.county_admin, appt, accept=True, reason="")
    return appt


def _lines(db, notice):
    return db.scalars(select(NoticeEntry).where(NoticeEntry.notice_id == notice.id)).all()


def test_policy_notice_lists_the_appointed_not_the_certified(db, world, app):
    appt = _appointed(db, world, app)
    with pytest.raises(ValidationFailed):
        notices.publish_notice(db, world.city_admin, title="x", objection_days=3, contact="", today=TODAY)
    n = notices.publish_notice(db, world.city_admin, title="南通市受聘首席质量官公示", objection_days=7, contact="0513-1",
                               today=TODAY)
    lines = _lines(db, n)
    assert [(line.name, line.enterprise_name) for line in lines] == [("王芳", "启东机械有限公司")]
    assert "*" in lines[0].id_masked and lines[0].id_masked != idn(world.trainee)
    assert n.kind == "appointed" and n.objection_until == TODAY + dt.timedelta(days=7)
    rugao = notices.publish_notice(db, world.rugao_admin, title="如皋", objection_days=7, contact="", today=TODAY)
    assert _lines(db, rugao) == []  # Qidong's CQO is not Rugao's
    certified = notices.publish_notice(db, world.city_admin, title="新取得证书", objection_days=7, contact="", today=TODAY,
                                       kind="certified")
    assert sorted(line.name for line in _lines(db, certified)) == ["李强", "王芳"]
    appt.ended_on = dt.date(2026, 10, 1)  # an appointment that ended is no longer published
    db.flush()
    later = notices.publish_notice(db, world.city_admin, title="再次公示", objection_days=7, contact="", today=TODAY)
    assert _lines(db, later) == []


def test_policy_objections_in_the_period_resolved_then_closed(db, world, app):
    _appointed(db, world, app)
    n = notices.publish_notice(db, world.city_admin, title="公示", objection_days=7, contact="", today=TODAY)
    line = _lines(db, n)[0]
    with pytest.raises(ValidationFailed) as exc:
        notices.lodge_objection(db, n, line_id=line.id, text="", contact_name="", contact="", today=TODAY)
    assert set(exc.value.errors) == {"text", "contact_name", "contact"}
    with pytest.raises(ValidationFailed):
        notices.lodge_objection(db, n, line_id=line.id, text="该同志已于九月离职。", contact_name="张三", contact="abc",
                                today=TODAY)
    assert db.scalar(select(NoticeObjection.id)) is None
    obj = notices.lodge_objection(db, n, line_id=line.id, text="该同志已于九月离职。", contact_name="张三",
                                  contact="13912345678", today=TODAY + dt.timedelta(days=7))
    assert obj.contact_masked == "139****5678"
    with pytest.raises(Conflict):  # the period is over
        notices.lodge_objection(db, n, line_id=None, text="逾期提出的异议。", contact_name="李四", contact="a@b.cn",
                                today=TODAY + dt.timedelta(days=8))
    with pytest.raises(Conflict):  # the period runs
        notices.close_notice(db, world.city_admin, n, TODAY + dt.timedelta(days=3))
    with pytest.raises(Conflict):  # an objection is still open
        notices.close_notice(db, world.city_admin, n, TODAY + dt.timedelta(days=8))
    with pytest.raises(Forbidden):
        notices.resolve_objection(db, world.trainee, obj, upheld=False, resolution="x", today=TODAY)
    with pytest.raises(ValidationFailed):
        notices.resolve_objection(db, world.city_admin, obj, upheld=False, resolution=" ", today=TODAY)
    notices.resolve_objection(db, world.city_admin, obj, upheld=False, resolution="经核实仍在职，异议不成立。",
                              today=TODAY + dt.timedelta(days=8))
    assert obj.status == ObjectionStatus.dismissed and obj.resolved_by_id == world.city_admin.id
    with pytest.raises(Conflict):
        notices.resolve_objection(db, world.city_admin, obj, upheld=True, resolution="再处理", today=TODAY)
    notices.close_notice(db, world.city_admin, n, TODAY + dt.timedelta(days=8))
    assert n.closed_on == TODAY + dt.timedelta(days=8) and not notices.is_open(n, TODAY + dt.timedelta(days=8))


def test_policy_public_page_lists_prints_and_exports(db, world, app, client):
    _appointed(db, world, app)
    n = notices.publish_notice(db, world.city_admin, title="南通市受聘首席质量官公示", objection_days=60, contact="",
                               today=dt.date.today() - dt.timedelta(days=1))
    db.commit()
    html = client.get(f"/talent/public/notices/{n.id}").get_data(as_text=True)
    assert 'id="notice-list"' in html and "王芳" in html and idn(world.trainee) not in html
    assert 'data-print' in html and f"/talent/public/notices/{n.id}.pdf" in html and 'id="objection-form"' in html
    x = client.get(f"/talent/public/notices/{n.id}.xlsx")
    ws = load_workbook(io.BytesIO(x.data)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][0] == n.title and rows[3][1] == "王芳" and "*" in rows[3][2]
    pdf = client.get(f"/talent/public/notices/{n.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    line = _lines(db, n)[0]
    bad = post_form(client, f"/talent/public/notices/{n.id}/objections",
                    {"line": str(line.id), "text": "", "contact_name": "张三", "contact": ""}, token_from=f"/talent/public/notices/{n.id}")
    assert bad.status_code == 422 and db.scalar(select(NoticeObjection.id)) is None
    ok = post_form(client, f"/talent/public/notices/{n.id}/objections",
                   {"line": str(line.id), "text": "该同志已离职。", "contact_name": "张三", "contact": "13912345678"},
                   token_from=f"/talent/public/notices/{n.id}")
    assert ok.status_code == 302
    db.expire_all()
    assert db.scalar(select(NoticeObjection.notice_entry_id)) == line.id
    codes = [post_form(client, f"/talent/public/notices/{n.id}/objections",
                       {"text": f"异议内容第{i}条。", "contact_name": "张三", "contact": "13912345678"},
                       token_from=f"/talent/public/notices/{n.id}").status_code for i in range(6)]
    assert 429 in codes
