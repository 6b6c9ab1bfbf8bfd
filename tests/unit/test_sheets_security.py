"""Issue 18: spreadsheet bombs are refused before loading, by every import, with little memory; no export
writes a live formula; request bodies are capped per route before they are read (413)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from courses import checkin
from exams import banks
from exams import imports as exam_imports
from lms.errors import ValidationFailed
from reports import export
from reports.services import imports as report_imports
from talent.services import evaluation
from tests.conftest import csrf_token, login
from tests.report_factories import finished_class

EVIL = '=HYPERLINK("http://evil.example/x","点我")'
MB = 1024 * 1024


def _now():
    return dt.datetime.now(dt.timezone.utc)


def _bomb(headers: list[str], unpacked: int = 60 * MB) -> bytes:
    """A valid workbook whose sheet XML is padded with whitespace: about 60 KB that unpacks to 60 MB."""
    wb = Workbook()
    wb.active.append(headers)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * unpacked)
            z.writestr(info.filename, data)
    return out.getvalue()


def _refused_small(call) -> tuple[str, int]:
    """Call an import that must refuse; the message and the peak memory it took (bytes, Python allocations)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValidationFailed) as exc:
            call()
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return exc.value.errors["file"], peak


def test_security_zip_bomb_refused_by_every_import_with_little_memory(db, world):
    klass, users, css, exam = finished_class(db, world, trainees=1, sessions=1)
    bank = banks.create_bank(db, world.staff_nt, "题库")
    imports = {
        "results": (["学员账号", "考试成绩"], lambda d: report_imports.start_import(db, world.staff_nt, klass, "b.xlsx", d, _now())),
        "exam": (exam_imports.RESULT_HEADERS, lambda d: exam_imports.import_results(db, world.staff_nt, exam, d, "b.xlsx")),
        "bank": (exam_imports.QUESTION_HEADERS, lambda d: exam_imports.import_questions(db, world.staff_nt, bank, d, "b.xlsx")),
        "attendance": (list(checkin.HEADERS), lambda d: checkin.import_sheet(db, world.staff_nt, css[0], d, _now(), "b.xlsx",
                                                                               10 * MB)),
        "indicators": (evaluation.INDICATOR_HEADERS, lambda d: evaluation.parse_indicator_xlsx(d, "b.xlsx")),
    }
    for name, (headers, call) in imports.items():
        data = _bomb(headers)
        assert len(data) < 100 * 1024, name  # the file is small ...
        assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()) > 60 * MB  # ... and unpacks big
        message, peak = _refused_small(lambda: call(data))
        assert "文件解压后过大（60 MB，上限 40 MB）" in message, (name, message)
        assert peak < 2 * MB, (name, peak)  # nothing was inflated


def test_security_sheet_that_claims_a_million_rows_is_refused(db, world):
    klass, users, css, exam = finished_class(db, world, trainees=1, sessions=1)
    wb = Workbook()
    wb.active.append(list(checkin.HEADERS))
    wb.active.cell(row=1_048_576, column=16_384, value="x")  # dimension A1:XFD1048576
    buf = io.BytesIO()
    wb.save(buf)
    message, peak = _refused_small(lambda: checkin.import_sheet(db, world.staff_nt, css[0], buf.getvalue(), _now(), "r.xlsx"))
    assert "一次最多导入 5000 行" in message and peak < 20 * MB


def _live_formulas(data: bytes) -> list[str]:
    """Cells a spreadsheet would run: formulas, or formula-like text that is not a quoted text cell."""
    out = []
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f" or (isinstance(c.value, str) and c.value[:1] in "=+-@\t\r" and c.value
                                          and not c.quotePrefix):
                    out.append(c.coordinate)
    return out


def _cells(data: bytes) -> list:
    return [c.value for ws in load_workbook(io.BytesIO(data)).worksheets for row in ws.iter_rows() for c in row]


def test_security_no_export_writes_a_live_formula(db, world):
    klass, users, css, exam = finished_class(db, world, trainees=1, sessions=1)
    users[0].display_name = EVIL  # the trainee's name as the attendance and exam templates write it
    bank = banks.create_bank(db, world.staff_nt, "题库")
    banks_data = banks.QuestionData(type="true_false", stem="+1 是正数吗 " + EVIL, options=[], answer="正确",
                                    knowledge_point="@kp", difficulty="easy", explanation="-")
    exam_imports.import_questions(db, world.staff_nt, bank, _xlsx_rows(exam_imports.QUESTION_HEADERS, [[
        "判断题", banks_data.stem, "", "", "", "", "", "", "正确", "@kp", "易", "-x"]]))
    db.flush()
    exports = {
        "attendance template": checkin.template_workbook(db, css[0]),
        "exam offline template": exam_imports.results_template(db, exam),
        "results template": export.template(db, klass),
        "question bank": exam_imports.export_questions(db, bank),
        "results roster": export.roster_workbook(EVIL, [{"username": "-1+1", "name": EVIL, "attendance_rate": 1.0,
                                                         "score": 80, "passed": True, "exam_source": "offline",
                                                         "certificate": None}], {"trainees": 1}),
    }
    for name, data in exports.items():
        assert _live_formulas(data) == [], name
        assert any(isinstance(v, str) and v.startswith(("=", "+", "@", "-")) for v in _cells(data)), name
    assert EVIL in _cells(exports["attendance template"])  # the value kept exactly, as text
    # the bank export imports again unchanged (no apostrophe added to the stem)
    bank2 = banks.create_bank(db, world.staff_nt, "题库二")
    assert exam_imports.import_questions(db, world.staff_nt, bank2, exports["question bank"], "q.xlsx") == 1


def _xlsx_rows(headers, rows) -> bytes:
    wb = Workbook()
    wb.active.append(headers)
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_security_dashboard_and_pool_exports_dates_numbers_and_text(db, world):
    from reports import queries as report_queries
    from lms.templating import today_local

    data = export.dashboard_workbook(report_queries.dashboard(db, world.jiangsu, today_local().year, today_local()))
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws["F1"].is_date and ws["D1"].data_type == "n"  # 统计截至 as a date cell, the year as a number
    assert _live_formulas(data) == []


class _Unread(io.BytesIO):
    """A request body that fails the test if anyone reads it."""

    def read(self, *a):
        raise AssertionError("the body was read")

    read1 = readline = readinto = read


def _post_unread(client, url: str, length: int, token: str):
    return client.post(url, input_stream=_Unread(b"x"), environ_overrides={"CONTENT_LENGTH": str(length)},
                       content_type="multipart/form-data; boundary=xyz", headers={"X-CSRFToken": token})


@pytest.mark.parametrize("url,length,who", [
    ("/credits/claims/new", 11 * MB, "trainee"),  # an 11 MB evidence file: the evidence cap is 10 MB
    ("/auth/login", 100 * 1024, None),  # an anonymous form: 64 KB
    ("/auth/password", 2 * MB, "trainee"),  # a signed-in form without a file: 1 MB
])
def test_security_bodies_over_the_route_cap_are_refused_unread(client, db, world, url, length, who):
    if who:
        login(client, world.trainee.username)
    token = csrf_token(client, "/auth/login" if who is None else "/credits/claims/new")
    resp = _post_unread(client, url, length, token)
    assert resp.status_code == 413
    assert "文件过大" in resp.get_data(as_text=True)


def test_security_import_routes_take_their_own_cap(app, client, db, world):
    from courses.views.attendance import IMPORT_MAX_BYTES
    from lms.bodylimit import FORM_ROOM, limit_for_request

    klass, users, css, exam = finished_class(db, world, trainees=1, sessions=1)
    db.commit()
    login(client, "nt_staff")
    token = csrf_token(client, f"/courses/sessions/{css[0].id}/attendance")
    # the attendance import takes 5 MB: 6 MB is refused unread, 3 MB reaches the reader
    url = f"/courses/sessions/{css[0].id}/attendance/import"
    assert _post_unread(client, url, 6 * MB, token).status_code == 413
    assert _post_unread(client, f"/reports/classes/{klass.id}/results/import", 51 * MB, token).status_code == 413
    caps = {url: IMPORT_MAX_BYTES + FORM_ROOM, f"/reports/classes/{klass.id}/results/import": 50 * MB + FORM_ROOM,
            f"/exams/manage/{exam.id}/offline": 10 * MB + FORM_ROOM, "/credits/claims/new": 10 * MB + FORM_ROOM,
            "/auth/login": 64 * 1024}
    for path, cap in caps.items():
        with app.test_request_context(path, method="POST"):
            assert limit_for_request() == cap, path


def test_security_libreoffice_opens_the_attendance_template_without_running_the_name(db, world, tmp_path):
    """What a spreadsheet does with the file: LibreOffice re-saves the template as CSV; a live formula would
    come out as its result (点我), a neutralised one as the text typed."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (libreoffice-calc-nogui) is required in CI")
        pytest.skip("soffice not installed (scripts/system-deps.sh installs libreoffice-calc-nogui)")
    klass, users, css, exam = finished_class(db, world, trainees=1, sessions=1)
    users[0].display_name = EVIL
    db.flush()
    src = tmp_path / "attendance.xlsx"
    src.write_bytes(checkin.template_workbook(db, css[0]))
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "out"), str(src)],
                   check=True, capture_output=True, timeout=120)
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "attendance.csv").read_text("utf-8"))))
    assert rows[1][:2] == [users[0].username, EVIL]
