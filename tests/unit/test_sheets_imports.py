"""Issue 17: every import reads spreadsheets as people make them (through lms.sheets) — files written by
LibreOffice (soffice --headless --convert-to) and by openpyxl as Excel saves them: 18-digit accounts in
numeric cells, scientific notation in a CSV Excel re-saved, the app's own templates partly filled, GBK, BOM,
CRLF; every message names the row, the column and the value."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from courses import checkin
from courses.models import AttendanceRecord, Enrollment, EnrollmentStatus
from exams import banks
from exams import imports as exam_imports
from exams.models import ExamResult, Question
from lms.domain import Role
from lms.errors import ValidationFailed
from reports import export
from reports.services import imports as report_imports
from talent.services import evaluation
from tests import factories
from tests.report_factories import finished_class

LOST = "这是一个已丢失精度的数字（电子表格只保留 15 位有效数字，无法还原原来的号码）；请将该列设置为文本格式后重新输入"
LEAD = "文件未导入，请改正后重新上传（任何数据都未改变）："
ID18 = "320623197801011234"


def _now():
    return dt.datetime.now(dt.timezone.utc)


def _csv(rows: list[list], encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    return buf.getvalue().encode(encoding)


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fill(data: bytes, cells: dict[str, object]) -> bytes:
    """A downloaded template with some cells typed in, saved again (as a person does in Excel)."""
    wb = load_workbook(io.BytesIO(data))
    for ref, v in cells.items():
        wb.active[ref] = v
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def libreoffice(tmp_path):
    """Convert a UTF-8 CSV with LibreOffice Calc to ``fmt`` (xlsx, xls, or csv re-saved) and return the bytes."""
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (libreoffice-calc-nogui) is required in CI")
        pytest.skip("soffice not installed (scripts/system-deps.sh installs libreoffice-calc-nogui)")

    def convert(rows: list[list], fmt: str) -> bytes:
        src = tmp_path / "in.csv"
        src.write_bytes(_csv(rows))
        out = tmp_path / fmt
        out.mkdir(exist_ok=True)
        subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                        "--infilter=CSV:44,34,76,1", "--convert-to", fmt, "--outdir", str(out), str(src)],
                       check=True, capture_output=True, timeout=120)
        return (out / f"in.{fmt}").read_bytes()
    return convert


def _trainee(db, klass, username: str):
    u = factories.make_staff(db, username, Role.trainee)
    db.add(Enrollment(class_id=klass.id, user_id=u.id, status=EnrollmentStatus.approved, eligibility={}))
    db.flush()
    return u


def _refused(call) -> str:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.errors["file"]


# ------------------------------------------------------------------ offline results (reports)
R_HEAD = ["学员账号", "姓名", "课次", "考勤", "考试成绩", "考试日期"]


def test_import_results_numeric_accounts_exact_or_named(db, world, libreoffice):
    klass, users, _css, _exam = finished_class(db, world, trainees=1, sessions=1)
    _trainee(db, klass, "13800138000")
    # an 11-digit account typed into a numeric cell is exact: read as typed (LibreOffice xlsx and xls, openpyxl)
    for data, name in ((libreoffice([R_HEAD, ["13800138000", "", 1, "出勤", 88, ""]], "xlsx"), "a.xlsx"),
                       (libreoffice([R_HEAD, ["13800138000", "", 1, "出勤", 88, ""]], "xls"), "a.xls"),
                       (_xlsx([R_HEAD, [13800138000, "", 1, "出勤", 88, ""]]), "b.xlsx")):
        cols, rows = report_imports.read_table(name, data)
        assert rows == [(2, ["13800138000", "", "1", "出勤", "88", ""])]
    # an 18-digit one lost its last digits in the spreadsheet: said so, with the value as shown and what to do
    expected = f"第 2 行「学员账号」列（A 列）“3.20623197801011E+17”：{LOST}"
    for data, name in ((libreoffice([R_HEAD, [ID18, "", 1, "出勤", 88, ""]], "xlsx"), "c.xlsx"),
                       (libreoffice([R_HEAD, [ID18, "", 1, "出勤", 88, ""]], "xls"), "c.xls"),
                       (_xlsx([R_HEAD, [float(ID18), "", 1, "出勤", 88, ""]]), "d.xlsx")):
        assert _refused(lambda: report_imports.start_import(db, world.staff_nt, klass, name, data, _now())) == expected
    # Excel re-saving the CSV writes 3.20623E+17
    data = _csv([R_HEAD, ["3.20623E+17", "", 1, "出勤", 88, ""]], "gbk")
    assert _refused(lambda: report_imports.start_import(db, world.staff_nt, klass, "e.csv", data, _now())) == \
        f"第 2 行「学员账号」列（A 列）“3.20623E+17”：{LOST}"


def test_import_results_partly_filled_template(db, world):
    klass, users, css, exam = finished_class(db, world, trainees=3, sessions=2)
    template = export.template(db, klass)  # 3 trainees × 2 sessions, account, name, session and time pre-filled
    data = _fill(template, {"E2": "出勤", "F4": 75})  # one attendance, one score; 4 rows untouched, scores blank
    cols, rows = report_imports.read_table("t.xlsx", data)
    assert [n for n, _t in rows] == [2, 4]
    plan = report_imports.validate(db, klass, cols, rows, _now())
    assert [("status" in p, p.get("score")) for p in plan] == [(True, None), (False, 75.0)]
    # a bad value names row, column and the value typed
    bad = _fill(template, {"E2": "早退", "F3": 120})
    msg = _refused(lambda: report_imports.start_import(db, world.staff_nt, klass, "t.xlsx", bad, _now()))
    assert msg == LEAD + ("第 2 行「考勤」列（E 列）“早退”：无效，应为 出勤、迟到、缺勤 或 请假；"
                          "第 3 行「考试成绩」列（F 列）“120”：须为 0 到 100 之间的数字")


@pytest.mark.parametrize("encoding,newline", [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("gbk", "\r\n"), ("gb18030", "\r")])
def test_import_results_csv_encodings_and_line_endings(db, world, encoding, newline):
    klass, users, _css, _exam = finished_class(db, world, trainees=1, sessions=1)
    data = _csv([R_HEAD, [users[0].username, "", 1, "缺勤", "", ""], ["", "", "", "", "", ""]], encoding, newline)
    cols, rows = report_imports.read_table("r.csv", data)
    assert rows == [(2, [users[0].username, "", "1", "缺勤", "", ""])]


def test_import_results_libreoffice_csv_resave(db, world, libreoffice):
    klass, users, _css, _exam = finished_class(db, world, trainees=1, sessions=1)
    data = libreoffice([R_HEAD, [users[0].username, "", 1, "迟到", 90.5, "2026-11-20"]], "csv")
    cols, rows = report_imports.read_table("r.csv", data)
    assert rows[0][1][:5] == [users[0].username, "", "1", "迟到", "90.5"]


# ------------------------------------------------------------------ exam offline results
E_HEAD = ["学员账号", "姓名", "成绩", "考试日期", "备注"]


def _exam_results(db):
    return db.scalar(select(func.count(ExamResult.id)))


def test_import_exam_results_template_partly_filled_and_values_named(db, world, libreoffice):
    klass, users, _css, exam = finished_class(db, world, trainees=3, sessions=1)
    num = _trainee(db, klass, "13800138000")
    template = exam_imports.results_template(db, exam)
    wb = load_workbook(io.BytesIO(template))
    accounts = [c.value for c in wb.active["A"][1:]]
    assert num.username in accounts and wb.active["A2"].data_type == "s"  # accounts written as text
    row_of = {a: i + 2 for i, a in enumerate(accounts)}
    data = _fill(template, {f"C{row_of[users[1].username]}": 82})  # one score typed; the rest left blank
    assert exam_imports.import_results(db, world.staff_nt, exam, data, "t.xlsx") == 1
    assert _exam_results(db) == 1
    # LibreOffice xls with a numeric account (exact) imports; an 18-digit one is named
    data = libreoffice([E_HEAD, ["13800138000", "", 70, "2026-11-20", ""]], "xls")
    assert exam_imports.import_results(db, world.staff_nt, exam, data, "l.xls") == 1
    data = libreoffice([E_HEAD, [ID18, "", 70, "", ""]], "xlsx")
    assert _refused(lambda: exam_imports.import_results(db, world.staff_nt, exam, data, "l.xlsx")) == \
        f"第 2 行「学员账号」列（A 列）“3.20623197801011E+17”：{LOST}"
    data = _csv([E_HEAD, [users[0].username, "", "八十", "", ""], [users[2].username, "", "", "", "缺考"]], "gbk")
    assert _refused(lambda: exam_imports.import_results(db, world.staff_nt, exam, data, "g.csv")) == (
        "第 2 行「成绩」列（C 列）“八十”：须为 0 到 100 之间的数字；第 3 行「成绩」列（C 列）“空”：填写了考试日期或备注时须填写成绩")
    data = _csv([E_HEAD, ["3.20623E+17", "", 60, "", ""]], "utf-8-sig")
    assert _refused(lambda: exam_imports.import_results(db, world.staff_nt, exam, data, "e.csv")) == \
        f"第 2 行「学员账号」列（A 列）“3.20623E+17”：{LOST}"
    assert _exam_results(db) == 2


# ------------------------------------------------------------------ question banks
Q_HEAD = exam_imports.QUESTION_HEADERS


def test_import_questions_from_libreoffice_gbk_and_blank_rows(db, world, libreoffice):
    bank = banks.create_bank(db, world.staff_nt, "题库")
    good = ["单选题", "中国品牌日是哪天？", "3月15日", "5月10日", "", "", "", "", "B", "品牌管理", "易", ""]
    tf = ["判断题", "质量成本包括预防成本", "", "", "", "", "", "", "正确", "质量经济性", "中", ""]
    for data, name in ((libreoffice([Q_HEAD, good, [""] * 12, tf], "xlsx"), "q.xlsx"),
                       (libreoffice([Q_HEAD, good, tf], "xls"), "q.xls"),
                       (_csv([Q_HEAD, good, tf, [""] * 12], "gbk"), "q.csv")):
        assert exam_imports.import_questions(db, world.staff_nt, bank, data, name) == 2
    # the export is the template: an export of the bank, with a row appended, imports again
    export_data = exam_imports.export_questions(db, bank)
    wb = load_workbook(io.BytesIO(export_data))
    wb.active.append(["多选题", "质量成本包括？", "预防", "鉴定", "", "", "", "", "AZ", "质量经济性分析", "中", ""])
    buf = io.BytesIO()
    wb.save(buf)
    msg = _refused(lambda: exam_imports.import_questions(db, world.staff_nt, bank, buf.getvalue(), "q.xlsx"))
    assert msg.startswith("第 8 行「正确答案」列（I 列）“AZ”：")
    assert db.scalar(select(func.count(Question.id)).where(Question.bank_id == bank.id)) == 6


# ------------------------------------------------------------------ attendance
A_HEAD = ["用户名", "姓名", "状态", "原因"]


def test_import_attendance_template_partly_filled_numeric_and_gbk(db, world, libreoffice):
    klass, users, css, _exam = finished_class(db, world, trainees=2, sessions=1)
    num = _trainee(db, klass, "13800138000")
    cs = css[0]
    template = checkin.template_workbook(db, cs)
    rows = {c.value: c.row for c in load_workbook(io.BytesIO(template)).active["A"][1:]}
    data = _fill(template, {f"C{rows[users[0].username]}": "迟到"})  # the other two rows untouched
    assert checkin.import_sheet(db, world.staff_nt, cs, data, _now(), "t.xlsx") == 1
    data = libreoffice([A_HEAD, ["13800138000", "", "出勤", ""]], "xls")
    assert checkin.import_sheet(db, world.staff_nt, cs, data, _now(), "a.xls") == 1
    assert db.scalar(select(func.count(AttendanceRecord.id))) == 2
    data = libreoffice([A_HEAD, [ID18, "", "出勤", ""]], "xlsx")
    assert _refused(lambda: checkin.import_sheet(db, world.staff_nt, cs, data, _now(), "a.xlsx")) == \
        f"第 2 行「用户名」列（A 列）“3.20623197801011E+17”：{LOST}"
    data = _csv([A_HEAD, [num.username, "", "早退", ""], ["nobody", "王芳", "出勤", ""]], "gbk")
    assert _refused(lambda: checkin.import_sheet(db, world.staff_nt, cs, data, _now(), "a.csv")) == (
        "第 2 行「状态」列（C 列）“早退”：无效，应为 出勤、迟到、缺勤 或 请假；"
        "第 3 行「用户名」列（A 列）“nobody”：不是本培训班的已录取学员")


# ------------------------------------------------------------------ talent indicators
def test_import_indicators_from_every_format(db, world, libreoffice):
    head = evaluation.INDICATOR_HEADERS
    rows = [head, ["A1", "A", "质量意识", "", 10, "自评"], ["", "", "", "", "", ""], ["A11", "A1", "质量第一理念", "", 5, ""]]
    for data, name in ((libreoffice(rows, "xlsx"), "i.xlsx"), (libreoffice(rows, "xls"), "i.xls"),
                       (_csv(rows, "gbk"), "i.csv"), (_csv(rows, "utf-8-sig", "\n"), "i.csv")):
        got = evaluation.parse_indicator_xlsx(data, name)
        assert [(r.code, r.parent, r.max_points) for r in got] == [("A1", "A", 10.0), ("A11", "A1", 5.0)]
    bad = _csv([head, ["A1", "A", "质量意识", "二十", 10, ""]])
    assert _refused(lambda: evaluation.parse_indicator_xlsx(bad, "i.csv")) == "第 2 行「权重」列（D 列）“二十”：须为数字"


# ------------------------------------------------------------------ the pages: 422 with the problems and the file chosen
def test_import_pages_answer_422_with_the_problems_and_the_file_chosen(client, db, world):
    from markupsafe import escape

    from tests.conftest import login, post_form

    klass, users, css, exam = finished_class(db, world, trainees=1, sessions=1)
    bank = banks.create_bank(db, world.staff_nt, "题库")
    db.commit()
    login(client, "nt_staff")
    bad_exam = _csv([E_HEAD, [users[0].username, "", "八十", "", ""]], "gbk")
    resp = post_form(client, f"/exams/manage/{exam.id}/offline",
                     {"kind": "file", "xls-file": (io.BytesIO(bad_exam), "线下成绩.csv")},
                     content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert str(escape("导入失败，成绩未作任何改动：第 2 行「成绩」列（C 列）“八十”：须为 0 到 100 之间的数字")) in html
    assert "线下成绩.csv" in html
    bad_att = _csv([A_HEAD, [users[0].username, "", "早退", ""]])
    resp = post_form(client, f"/courses/sessions/{css[0].id}/attendance/import",
                     {"file": (io.BytesIO(bad_att), "考勤.csv")}, token_from=f"/courses/sessions/{css[0].id}/attendance",
                     content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "考勤.csv" in html
    assert str(escape("第 2 行「状态」列（C 列）“早退”：无效，应为 出勤、迟到、缺勤 或 请假")) in html
    bad_q = _csv([Q_HEAD, ["单选题", "题干", "甲", "乙", "", "", "", "", "Z", "", "易", ""]])
    resp = post_form(client, f"/exams/banks/{bank.id}/import", {"file": (io.BytesIO(bad_q), "题库.csv")},
                     token_from=f"/exams/banks/{bank.id}", content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "题库.csv" in html and str(escape("第 2 行「正确答案」列（I 列）“Z”")) in html
    good = _csv([E_HEAD, [users[0].username, "", 90, "", ""]], "utf-8-sig")
    resp = post_form(client, f"/exams/manage/{exam.id}/offline", {"kind": "file", "xls-file": (io.BytesIO(good), "ok.csv")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302 and _exam_results(db) == 1
