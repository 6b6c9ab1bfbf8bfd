"""Issue 20: a bureau's exports stream: the first bytes of the workbook leave before its last row is read, and
the streamed file keeps the export's rules (formula-like text quoted, dates as date cells, ID numbers as text)."""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from lms import sheets
from talent import queries as talent_queries
from talent.services import entries, notices
from tests import factories
from tests.conftest import TODAY
from tests.unit.test_policy_notices import _appointed


def _pool_of(db, world, n: int) -> None:
    world.ent_qd.name = '=HYPERLINK("http://evil")'
    for i in range(n):
        user = factories.make_trainee(db, f"stream_{i:02d}", world.ent_qd, real_name="王芳")
        entries.on_certificate_issued(db, user_id=user.id, certificate_id=800_000 + i, number=f"JS-B-2026-{i:06d}",
                                      tier="basic", issued_on=TODAY, valid_until=None, region_id=world.qidong.id,
                                      enterprise_id=world.ent_qd.id)
    db.commit()


def test_perf_20_pool_export_streams_with_the_export_rules(client, db, world, login_as, monkeypatch):
    _pool_of(db, world, 9)
    produced = []
    real = talent_queries.export_pool

    def counting(*a, **kw):
        for row in real(*a, **kw):
            produced.append(row)
            yield row

    monkeypatch.setattr(talent_queries, "export_pool", counting)
    monkeypatch.setattr(talent_queries, "EXPORT_CHUNK", 2)
    monkeypatch.setattr(sheets, "STREAM_CHUNK", 1)  # hand on every piece at once
    login_as("nt_admin")
    resp = client.get("/talent/pool/export", buffered=False)
    assert resp.status_code == 200 and resp.is_streamed
    pieces = iter(resp.response)
    first = next(pieces)
    assert first.startswith(b"PK") and len(produced) < 10  # the file began before the rows were all read
    data = first + b"".join(pieces)
    resp.close()
    assert len(produced) == 10  # the header and nine people
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 10 and rows[1][0] == "王芳" and rows[1][2] == world.ent_qd.name
    assert ws["C2"].data_type == "s" and ws["C2"].quotePrefix  # not a live formula
    assert ws["B2"].number_format == "@" and "*" in ws["B2"].value  # the masked ID number as text
    assert ws["K2"].is_date and ws["K2"].value.date() == TODAY


def test_perf_20_notice_export_streams(db, world, app, client, monkeypatch):
    _appointed(db, world, app)
    n = notices.publish_notice(db, world.city_admin, title="=南通市受聘首席质量官公示", objection_days=60, contact="",
                               today=dt.date.today() - dt.timedelta(days=1))
    db.commit()
    monkeypatch.setattr(sheets, "STREAM_CHUNK", 1)
    resp = client.get(f"/talent/public/notices/{n.id}.xlsx", buffered=False)
    assert resp.status_code == 200 and resp.is_streamed
    data = b"".join(resp.response)
    resp.close()
    ws = load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][0] == n.title and ws["A1"].quotePrefix and rows[3][1] == "王芳" and "*" in rows[3][2]
    assert ws["C4"].number_format == "@"
