"""Results: counting rule, offline results (by hand and Excel), exam_outcome and the completion rule,
statistics, scoping of results."""
import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from exams import attempts, imports, queries, results, stats
from exams.models import CountingRule, ExamResult
from lms.auth.models import AuditEvent
from lms.completion import check
from lms.errors import NotFound, ValidationFailed
from lms.scoping import get_visible, visible
from tests import exam_factories as f
from tests.exam_factories import NOW
from tests.factories import make_trainee


@pytest.fixture
def setup(db, world):
    prog = f.make_programme(db, world.jiangsu)
    cls = f.make_class(db, world.inst_nt, prog)
    enr = f.enrol(db, cls, world.trainee)
    bank = f.make_bank(db, world.staff_nt)
    exam = f.make_exam(db, world.staff_nt, cls, bank)
    return cls, enr, bank, exam


def _sit(db, user, exam, right: int, now=NOW):
    att = attempts.start_attempt(db, user, exam, now)
    for aq in att.questions[:right]:
        attempts.save_answer(db, user, att, aq.id, selected=aq.answer, seq=1, now=now)
    attempts.submit(db, user, att, now + dt.timedelta(minutes=5))
    return att


def test_counting_rule_highest_or_last_and_outcome(db, world, setup):
    cls, enr, bank, exam = setup
    assert results.exam_outcome(db, enr) is None
    rule = [r for r in check(db, enr) if r.code == "exam"][0]
    assert not rule.met and rule.detail == "尚无考试成绩"
    first = _sit(db, world.trainee, exam, 6)
    second = _sit(db, world.trainee, exam, 1, NOW + dt.timedelta(minutes=30))
    assert first.score == 100 and second.score < 60
    out = results.exam_outcome(db, enr)
    assert out.score == 100 and out.passed and out.source == "online"
    exam.counting = CountingRule.last
    db.flush()
    out = results.exam_outcome(db, enr)
    assert out.score == second.score and not out.passed
    rule = [r for r in check(db, enr) if r.code == "exam"][0]
    assert not rule.met and "及格线 60" in rule.detail and rule.label == "考试合格"


def test_offline_result_counts_like_an_online_one(db, world, setup):
    cls, enr, bank, exam = setup
    with pytest.raises(ValidationFailed) as exc:
        results.record_offline_result(db, world.staff_nt, exam, world.trainee_fz.username, 80)
    assert "学员账号" in exc.value.errors["username"]
    with pytest.raises(ValidationFailed):
        results.record_offline_result(db, world.staff_nt, exam, world.trainee.username, 101)
    with pytest.raises(Exception):
        results.record_offline_result(db, world.staff_fj, exam, world.trainee.username, 80)
    r = results.record_offline_result(db, world.staff_nt, exam, world.trainee.username, 75, "纸笔考试",
                                      dt.date(2026, 11, 20))
    assert r.passed and r.source.value == "offline"
    out = results.exam_outcome(db, enr)
    assert out.source == "offline" and out.score == 75
    assert [x for x in check(db, enr) if x.code == "exam"][0].met


def _results_sheet(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(imports.RESULT_HEADERS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_offline_results_from_excel_all_or_nothing(db, world, setup):
    cls, enr, bank, exam = setup
    other = make_trainee(db, "zhangsan", world.ent_qd, real_name="张三")
    f.enrol(db, cls, other)
    template = imports.results_template(db, exam)
    assert b"PK" == template[:2]
    bad = _results_sheet([["wangfang", "王芳", 88, "2026-11-20", ""], ["zhangsan", "张三", "八十", None, ""]])
    sp = db.begin_nested()
    with pytest.raises(ValidationFailed) as exc:
        imports.import_results(db, world.staff_nt, exam, bad)
    sp.rollback()
    assert "第 3 行「成绩」列（C 列）" in exc.value.errors["file"]
    assert db.scalar(select(func.count(ExamResult.id)).where(ExamResult.exam_id == exam.id)) == 0
    wrong_name = _results_sheet([["zhangsan", "李四", 70, None, ""]])
    sp = db.begin_nested()
    with pytest.raises(ValidationFailed) as exc:
        imports.import_results(db, world.staff_nt, exam, wrong_name)
    sp.rollback()
    assert "第 2 行「姓名」列（B 列）" in exc.value.errors["file"]
    n = imports.import_results(db, world.staff_nt, exam, _results_sheet(
        [["wangfang", "王芳", 88, "2026-11-20", ""], ["zhangsan", "张三", 59.5, None, "补考"]]))
    assert n == 2
    rows = {r["user"].username: r["result"] for r in queries.results_by_trainee(db, exam)}
    assert rows["wangfang"].score == 88 and rows["zhangsan"].passed is False


def test_results_are_scoped_to_the_institution(db, world, setup):
    cls, enr, bank, exam = setup
    att = _sit(db, world.trainee, exam, 6)
    res = db.scalar(select(ExamResult).where(ExamResult.attempt_id == att.id))
    assert get_visible(db, ExamResult, res.id, world.staff_nt) is res
    assert get_visible(db, ExamResult, res.id, world.city_admin) is res
    for outsider in (world.staff_fj, world.fujian_admin, world.trainee_fz):
        with pytest.raises(NotFound):
            get_visible(db, ExamResult, res.id, outsider)
    assert get_visible(db, ExamResult, res.id, world.trainee) is res
    assert not list(db.scalars(visible(type(exam), world.staff_fj)))
    with pytest.raises(NotFound):
        get_visible(db, type(exam), exam.id, world.staff_fj)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied").order_by(AuditEvent.id.desc()))
    assert event.actor_id == world.staff_fj.id and event.object_type == "Exam"


def test_distribution_and_item_statistics(db, world, setup):
    cls, enr, bank, exam = setup
    users = [world.trainee] + [make_trainee(db, f"stu{i}", world.ent_qd) for i in range(7)]
    for u in users[1:]:
        f.enrol(db, cls, u)
    for i, u in enumerate(users):
        _sit(db, u, exam, 6 - (i % 7))
    counts = stats.distribution([0, 9.9, 10, 59, 60, 100, 100])
    assert counts[0] == 2 and counts[1] == 1 and counts[5] == 1 and counts[6] == 1 and counts[9] == 2
    svg = str(stats.distribution_svg(counts, 60))
    assert svg.startswith("<svg") and "style=" not in svg and "<script" not in svg and "及格线" in svg
    items = stats.item_statistics(db, exam)
    assert items and all(0 <= i.share_correct <= 1 for i in items)
    assert any(i.discrimination is not None and i.discrimination > 0 for i in items)
