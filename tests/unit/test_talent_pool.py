"""Pool scoping, manual decisions, notices and public search, export, indicators and evaluations."""
import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from lms import sheets
from lms.errors import Forbidden, ValidationFailed
from lms.scoping import visible
from lms.uploads import sniff_bytes
from talent import queries as talent_queries
from talent.models import Cause, NoticeEntry, PoolStatus, TalentEntry
from talent.services import entries, evaluation, notices, status
from tests.unit.test_talent_lifecycle import certify

TODAY = dt.date(2026, 11, 22)


def fz_entry(db, world):
    return entries.on_certificate_issued(
        db, user_id=world.trainee_fz.id, certificate_id=800100, number="FJ-B-2026-0100", tier="senior",
        issued_on=dt.date(2026, 5, 1), valid_until=dt.date(2029, 5, 1), region_id=world.fuzhou.id,
        enterprise_id=world.ent_fz.id)


def test_scoping(db, world):
    e1, e2 = certify(db, world), fz_entry(db, world)
    ids = lambda u: {e.id for e in db.scalars(visible(TalentEntry, u))}  # noqa: E731
    assert ids(world.city_admin) == {e1.id} and ids(world.county_admin) == {e1.id}
    assert ids(world.rugao_admin) == set() and ids(world.fujian_admin) == {e2.id}
    assert ids(world.trainee) == {e1.id} and ids(world.trainee_fz) == {e2.id}
    assert ids(world.staff_nt) == set() and ids(world.sysadmin) == {e1.id, e2.id}


def test_manual_decision_needs_a_reason(db, world):
    e = certify(db, world)
    with pytest.raises(ValidationFailed):
        status.manual_status(db, world.city_admin, e, "warning", " ", TODAY)
    with pytest.raises(Forbidden):
        status.manual_status(db, world.trainee, e, "active", "x", TODAY)
    status.manual_status(db, world.city_admin, e, "warning", "群众举报，待核查", TODAY)
    assert e.status == PoolStatus.warning and e.status_cause == Cause.manual
    status.manual_status(db, world.city_admin, e, "active", "核查无误", TODAY)
    assert e.status == PoolStatus.active and e.status_cause == Cause.manual
    assert e.events[-1].reason == "核查无误" and e.events[-1].actor_id == world.city_admin.id


def test_notice_snapshot_masks_and_search_needs_an_exact_criterion(db, world):
    certify(db, world)
    fz_entry(db, world)
    with pytest.raises(Forbidden):
        notices.publish_notice(db, world.trainee, title="x", objection_days=7, contact="", today=TODAY)
    n = notices.publish_notice(db, world.city_admin, title="南通市人才库公示", objection_days=7, contact="0513-1", today=TODAY,
                                kind="certified")
    lines = db.scalars(select(NoticeEntry).where(NoticeEntry.notice_id == n.id)).all()
    assert [line.name for line in lines] == ["王芳"]  # Fujian's member is outside Nantong
    full = world.trainee.trainee_profile[0].id_number
    assert lines[0].id_masked != full and "*" in lines[0].id_masked and lines[0].id_masked.endswith(full[-4:])
    with pytest.raises(ValidationFailed):
        talent_queries.public_search_stmt(n.id)
    assert db.scalars(talent_queries.public_search_stmt(n.id, name="王")).all() == []  # exact, not partial
    assert len(db.scalars(talent_queries.public_search_stmt(n.id, name="王芳")).all()) == 1
    assert len(db.scalars(talent_queries.public_search_stmt(n.id, certificate="JS-B-2026-800001")).all()) == 1
    assert n.objection_until == TODAY + dt.timedelta(days=7)


def test_export_neutralises_formulas(db, world):
    e = certify(db, world)
    world.ent_qd.name = "=HYPERLINK(\"http://evil\")"
    db.flush()
    data = b"".join(sheets.stream("人才库", talent_queries.export_pool(db, select(TalentEntry).where(TalentEntry.id == e.id),
                                                                        TODAY)))
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][0] == "王芳" and rows[1][2] == world.ent_qd.name
    assert ws["C2"].data_type == "s" and ws["C2"].quotePrefix and ws["K2"].is_date
    assert world.trainee.trainee_profile[0].id_number not in [str(v) for v in rows[1]]


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["编码", "上级编码", "名称", "权重", "满分", "证据类型"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_indicator_import_and_evaluation(db, world):
    rows = evaluation.parse_indicator_xlsx(_xlsx([
        ["A", "", "", 20, None, ""], ["F", "", "", 20, None, ""],
        ["A1", "A", "质量意识", None, 10, "自评"], ["A11", "A1", "质量第一理念", None, 5, "访谈记录"],
        ["A12", "A1", "风险意识", None, 5, "制度文件"], ["F1", "F", "质量业绩", None, 20, "获奖证书"],
    ]))
    with pytest.raises(Forbidden):
        evaluation.save_indicators(db, world.city_admin, world.jiangsu.id, rows)
    assert evaluation.save_indicators(db, world.province_admin, world.jiangsu.id, rows) == 6
    tree = evaluation.indicator_tree(db, world.jiangsu.id)
    assert [n.code for n, _k in tree] == ["A", "B", "C", "D", "E", "F"]
    leaves = evaluation.leaves(tree)
    assert {n.code for n in leaves} == {"A11", "A12", "B", "C", "D", "E", "F1"}
    assert next(n for n, _k in tree if n.code == "A").weight == 20
    # bad rows: unknown parent, a fourth level, a new first-level code
    with pytest.raises(ValidationFailed) as exc:
        evaluation.save_indicators(db, world.province_admin, world.jiangsu.id, [
            evaluation.IndicatorRow("X1", "ZZ", "孤儿", None, 5, ""), evaluation.IndicatorRow("A111", "A11", "四级", None, 5, ""),
            evaluation.IndicatorRow("G", "", "新一级", 10, None, "")])
    assert len(exc.value.errors) == 3


def test_sniff():
    import io
    import zipfile

    assert sniff_bytes(b"%PDF-1.4").code == "pdf" and sniff_bytes(b"\xff\xd8\xff\xe0").code == "jpeg"
    assert sniff_bytes(b"GIF89a") is None and sniff_bytes(b"#!/bin/sh") is None
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    assert sniff_bytes(docx.getvalue()).code == "docx"
    assert sniff_bytes(b"PK\x03\x04 not really a zip") is None
