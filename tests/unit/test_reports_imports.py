"""Offline results from .xlsx and CSV: encodings, whole-file validation, the same file twice, bad files."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from courses.models import AttendanceRecord, AttendanceStatus, ClassSession, Enrollment, EnrollmentStatus
from exams.models import ExamResult, ResultSource
from lms.domain import Role
from lms.errors import ValidationFailed
from reports import export, jobs
from reports.services import imports
from reports.models import ResultImport
from tests import factories
from tests.report_factories import csv_bytes, finished_class, xlsx


def _counts(db):
    return (db.scalar(select(func.count(AttendanceRecord.id))), db.scalar(select(func.count(ExamResult.id))),
            db.scalar(select(func.count(ResultImport.id))))


def _now():
    return dt.datetime.now(dt.timezone.utc)


def _run(app, db, klass, world, name, data):
    imp, created = imports.start_import(db, world.staff_nt, klass, name, data, _now())
    db.flush()
    if created:
        jobs.apply_import(app.extensions["lms_db"].sessionmaker, imp.id)
        db.expire_all()
    return imp, created


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_every_encoding_excel_writes(app, db, world, encoding):
    klass, users, css, exam = finished_class(db, world, trainees=2, sessions=2)
    rows = [[users[0].username, "", 1, "出勤", 86, klass.end_date.isoformat()],
            [users[0].username, "", 2, "迟到", "", ""],
            [users[1].username, "", 1, "缺勤", 59.5, ""]]
    data = csv_bytes(rows, encoding)
    imp, created = _run(app, db, klass, world, "成绩.csv", data)
    assert created and imp.status == "done" and imp.done == imp.total == 3
    recs = {(r.enrollment.user_id, r.session_id): r for r in db.scalars(select(AttendanceRecord))}
    assert recs[(users[0].id, css[0].id)].status == AttendanceStatus.present and recs[(users[0].id, css[0].id)].method == "import"
    assert recs[(users[0].id, css[1].id)].status == AttendanceStatus.late
    assert recs[(users[1].id, css[0].id)].status == AttendanceStatus.absent
    results = {r.user_id: r for r in db.scalars(select(ExamResult).where(ExamResult.exam_id == exam.id))}
    assert results[users[0].id].score == 86 and results[users[0].id].passed and results[users[0].id].source == ResultSource.offline
    assert results[users[1].id].score == 59.5 and not results[users[1].id].passed


def test_chinese_names_are_checked_in_gbk_files(db, world):
    klass, users, _css, _exam = finished_class(db, world, trainees=1)
    trainee = factories.make_trainee(db, "gbk_trainee", world.ent_qd, real_name="欧阳建华")
    db.add(Enrollment(class_id=klass.id, user_id=trainee.id, status=EnrollmentStatus.approved, eligibility={}))
    db.flush()
    good = csv_bytes([["gbk_trainee", "欧阳建华", "", "", 70, ""]], "gbk")
    cols, rows = imports.read_table("a.csv", good)
    assert imports.validate(db, klass, cols, rows, _now())[0]["score"] == 70
    bad = csv_bytes([["gbk_trainee", "欧阳建国", "", "", 70, ""]], "gbk")
    cols, rows = imports.read_table("a.csv", bad)
    with pytest.raises(ValidationFailed) as exc:
        imports.validate(db, klass, cols, rows, _now())
    assert "第 2 行「姓名」列（B 列）" in exc.value.errors["file"]


def test_one_bad_row_of_ten_thousand_changes_nothing_and_is_named(db, world):
    klass, _users, _css, _exam = finished_class(db, world, trainees=0, sessions=0)
    start = dt.datetime.combine(klass.start_date, dt.time(0), tzinfo=dt.timezone.utc)
    for i in range(100):
        db.add(ClassSession(class_id=klass.id, starts_at=start + dt.timedelta(minutes=5 * i),
                            ends_at=start + dt.timedelta(minutes=5 * i + 4), hours=0.1))
    names = []
    for i in range(100):
        u = factories.make_staff(db, f"big{i:03d}", Role.trainee)
        db.add(Enrollment(class_id=klass.id, user_id=u.id, status=EnrollmentStatus.approved, eligibility={}))
        names.append(u.username)
    db.flush()
    rows = [[names[i // 100], "", i % 100 + 1, "出勤", "", ""] for i in range(10000)]
    rows[7777 - 2][3] = "早退"  # Excel row 7,777 (row 1 is the header)
    data = xlsx(rows)
    before = _counts(db)
    with pytest.raises(ValidationFailed) as exc:
        imports.start_import(db, world.staff_nt, klass, "big.xlsx", data, _now())
    message = exc.value.errors["file"]
    assert "第 7777 行「考勤」列（D 列）" in message and "早退" in message
    assert message.count("第 ") == 1  # only that row is wrong
    assert _counts(db) == before

    rows[7777 - 2][3] = "出勤"
    cols, table = imports.read_table("big.xlsx", xlsx(rows))
    assert len(imports.validate(db, klass, cols, table, _now())) == 10000


def test_the_same_file_twice_changes_nothing_the_second_time(app, db, world):
    klass, users, _css, exam = finished_class(db, world, trainees=1)
    data = xlsx([[users[0].username, "", 1, "出勤", 77, ""]])
    first, created = _run(app, db, klass, world, "a.xlsx", data)
    assert created
    after_first = _counts(db)
    again, created = _run(app, db, klass, world, "renamed.xlsx", data)
    assert not created and again.id == first.id
    assert _counts(db) == after_first
    assert db.scalar(select(func.count(ExamResult.id)).where(ExamResult.exam_id == exam.id)) == 1


def test_every_problem_is_reported_by_row_and_column(db, world):
    klass, users, css, _exam = finished_class(db, world, trainees=1, sessions=2)
    u = users[0].username
    data = xlsx([[u, "", 1, "出勤", "", ""],
                 ["nobody", "", 1, "出勤", "", ""],
                 [u, "", 9, "出勤", "", ""],
                 [u, "", 1, "出勤", "", ""],  # duplicate of row 2
                 [u, "", "", "", 120, ""],
                 [u, "", "", "", 80, "2026-13-45"],
                 [u, "", "", "", "", ""]])
    cols, rows = imports.read_table("x.xlsx", data)
    with pytest.raises(ValidationFailed) as exc:
        imports.validate(db, klass, cols, rows, _now())
    m = exc.value.errors["file"]
    for where in ("第 3 行「学员账号」列（A 列）", "第 4 行「课次」列（C 列）", "第 5 行「课次」列（C 列）",
                  "第 6 行「考试成绩」列（E 列）", "第 7 行「考试日期」列（F 列）"):
        assert where in m, where
    assert "第 2 行" not in m and "第 8 行" not in m  # row 8 has only its account: an untouched template row


def test_scores_need_an_exam_and_future_sessions_take_no_attendance(db, world):
    klass, users, _css, _exam = finished_class(db, world, trainees=1, exam=False)
    cols, rows = imports.read_table("x.csv", csv_bytes([[users[0].username, "", "", "", 80, ""]], "utf-8"))
    with pytest.raises(ValidationFailed) as exc:
        imports.validate(db, klass, cols, rows, _now())
    assert "没有已发布的结业考试" in exc.value.errors["file"]
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    db.add(ClassSession(class_id=klass.id, starts_at=future, ends_at=future + dt.timedelta(hours=1), hours=1))
    db.flush()
    cols, rows = imports.read_table("x.csv", csv_bytes([[users[0].username, "", 3, "出勤", "", ""]], "utf-8"))
    with pytest.raises(ValidationFailed) as exc:
        imports.validate(db, klass, cols, rows, _now())
    assert "尚未开始" in exc.value.errors["file"]


def _wb_bytes(build) -> bytes:
    wb = Workbook()
    ws = wb.active
    build(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name,data,words", [
    ("photo.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, "不是电子表格"),
    ("report.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "不是电子表格"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ("broken.xlsx", b"PK\x03\x04garbage", "不是有效的 Excel"),
    ("empty.csv", b"", "空"),
    ("noheader.csv", "姓名,成绩\n王芳,80\n".encode(), "学员账号"),
])
def test_files_that_are_not_usable_spreadsheets_are_refused(db, world, name, data, words):
    klass, _users, _css, _exam = finished_class(db, world, trainees=1)
    before = _counts(db)
    with pytest.raises(ValidationFailed) as exc:
        imports.start_import(db, world.staff_nt, klass, name, data, _now())
    assert words in exc.value.errors["file"]
    assert _counts(db) == before


def test_formulas_merged_headers_and_50_mb_are_refused(db, world):
    klass, users, _css, _exam = finished_class(db, world, trainees=1)

    def with_formula(ws):
        ws.append(["学员账号", "考试成绩"])
        ws.append([users[0].username, "=40+40"])

    def merged_header(ws):
        ws.append(["学员账号", "考试成绩", ""])
        ws.append([users[0].username, 80, ""])
        ws.merge_cells("B1:C1")

    with pytest.raises(ValidationFailed) as exc:
        imports.start_import(db, world.staff_nt, klass, "f.xlsx", _wb_bytes(with_formula), _now())
    assert "公式" in exc.value.errors["file"] and "第 2 行 B 列" in exc.value.errors["file"]
    with pytest.raises(ValidationFailed) as exc:
        imports.start_import(db, world.staff_nt, klass, "m.xlsx", _wb_bytes(merged_header), _now())
    assert "合并单元格 B1:C1" in exc.value.errors["file"]
    with pytest.raises(ValidationFailed) as exc:
        imports.start_import(db, world.staff_nt, klass, "big.csv", b"a" * (50 * 1024 * 1024), _now())
    assert "50 MB" in exc.value.errors["file"]
    assert db.scalar(select(func.count(ResultImport.id))) == 0


def test_only_the_institution_of_the_class_imports(db, world):
    from lms.errors import Forbidden

    klass, users, _css, _exam = finished_class(db, world, trainees=1)
    with pytest.raises(Forbidden):
        imports.start_import(db, world.staff_fj, klass, "a.csv", csv_bytes([[users[0].username, "", "", "", 80, ""]], "utf-8"),
                             _now())


def test_exports_cannot_run_formulas(db, world):
    data = export.roster_workbook("=班级", [{"username": "=cmd|' /C calc'!A0", "name": "@王芳", "attendance_rate": 1.0,
                                             "score": 80, "passed": True, "exam_source": "offline", "certificate": None}],
                                  {"trainees": 1})
    ws = load_workbook(io.BytesIO(data)).active
    # the value is kept exactly, as a quoted text cell (Excel shows '=...): nothing runs when it is opened
    assert ws["A1"].value == "=班级" and ws["A3"].value == "=cmd|' /C calc'!A0" and ws["B3"].value == "@王芳"
    assert {ws[c].data_type for c in ("A1", "A3", "B3")} == {"s"} and ws["A3"].quotePrefix and ws["B3"].quotePrefix
    assert ws["D3"].value == 80 and ws["D3"].data_type == "n"


def test_the_template_lists_each_trainee_per_session(db, world):
    klass, users, css, _exam = finished_class(db, world, trainees=2, sessions=3)
    ws = load_workbook(io.BytesIO(export.template(db, klass))).active
    assert [c.value for c in ws[1]] == ["学员账号", "姓名", "课次", "课次时间", "考勤", "考试成绩", "考试日期"]
    assert ws.max_row == 1 + 2 * 3


def test_an_xlsx_that_unpacks_to_too_much_is_refused(db, world, monkeypatch):
    klass, users, _css, _exam = finished_class(db, world, trainees=1)
    monkeypatch.setattr(imports, "MAX_UNPACKED", 1000)
    with pytest.raises(ValidationFailed) as exc:
        imports.start_import(db, world.staff_nt, klass, "a.xlsx", xlsx([[users[0].username, "", "", "", 80, ""]]), _now())
    assert "解压后过大" in exc.value.errors["file"]
