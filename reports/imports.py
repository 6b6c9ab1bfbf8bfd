"""Offline results (paper exam scores and attendance taken outside the system) from an .xlsx or a CSV file.

The whole file is read and every row checked before anything is stored; a bad file changes nothing and the
message names the row, the column and what is wrong. A file already imported for the class (same content
hash) is not imported again. A good file becomes a ``ResultImport`` whose rows ``import_jobs`` applies in the
background in chunks, through the same services as hand entry (courses' attendance marking, exams' offline results),
so the results land in the same records."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import checkin
from courses.models import ClassSession, Enrollment, EnrollmentStatus, TrainingClass
from lms import audit
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from reports.models import ResultImport, ReviewStatus

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 20000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_ERRORS = 20
HEADERS = ["学员账号", "姓名", "课次", "考勤", "考试成绩", "考试日期"]
INFO_HEADERS = ["课次时间"]  # in the template for the reader; ignored on import


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fail(msg: str) -> ValidationFailed:
    return ValidationFailed({"file": msg})


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, as Excel on Chinese Windows saves CSV)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _fail(_("无法识别文件编码：请保存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx 格式"))


def _read_xlsx(data: bytes) -> list[list]:
    import zipfile

    from openpyxl import load_workbook

    try:
        # An .xlsx is a zip: refuse one that unpacks to far more than any sheet of MAX_ROWS rows needs
        # before openpyxl builds it in memory.
        if sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()) > MAX_UNPACKED:
            raise _fail(_("文件解压后过大：请删除多余的工作表和格式，或分批导入"))
    except zipfile.BadZipFile:
        raise _fail(_("无法读取该文件：它不是有效的 Excel（.xlsx）文件"))
    try:
        wb = load_workbook(io.BytesIO(data), data_only=False)
    except Exception:
        raise _fail(_("无法读取该文件：它不是有效的 Excel（.xlsx）文件"))
    ws = wb.worksheets[0]
    for rng in ws.merged_cells.ranges:
        if rng.min_row == 1:
            raise _fail(_("表头（第 1 行）有合并单元格 %(r)s：请取消合并，每列一个表头后再上传", r=rng.coord))
        raise _fail(_("第 %(row)d 行有合并单元格 %(r)s：请取消合并后再上传", row=rng.min_row, r=rng.coord))
    if (ws.max_row or 0) > MAX_ROWS + 1:
        raise _fail(_("一次最多导入 %(n)d 行", n=MAX_ROWS))
    rows, formulas = [], []
    for row in ws.iter_rows():
        values = []
        for cell in row:
            if cell.data_type == "f":
                formulas.append(_("第 %(row)d 行 %(col)s 列是公式", row=cell.row, col=cell.column_letter))
            values.append(cell.value)
        rows.append(values)
    if formulas:
        raise _fail(_("文件含有公式，请将公式单元格复制后“粘贴为数值”再上传：%(where)s",
                      where="；".join(formulas[:MAX_ERRORS])))
    return rows


def _read_csv(data: bytes) -> list[list]:
    text = decode_csv(data)
    if "\x00" in text:
        raise _fail(_("该文件不是电子表格：请上传 .xlsx 或 CSV 文件"))
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        raise _fail(_("CSV 格式有误，无法读取"))
    if len(rows) > MAX_ROWS + 1:
        raise _fail(_("一次最多导入 %(n)d 行", n=MAX_ROWS))
    return rows


def read_table(filename: str, data: bytes) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """The header map (name → column index) and the non-empty data rows (row number as Excel shows it,
    cell texts). Refuses files that are too large, not spreadsheets, or hold formulas or merged cells."""
    if len(data) >= MAX_BYTES:
        raise _fail(_("文件过大：请上传小于 50 MB 的文件（可分批导入）"))
    if not data.strip():
        raise _fail(_("文件是空的"))
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04":
        raw = _read_xlsx(data)
    elif data[:4] == b"\xd0\xcf\x11\xe0":
        raise _fail(_("不支持旧版 .xls 格式：请在 Excel 中另存为 .xlsx 或 CSV 后再上传"))
    elif name.endswith(".xlsx") or b"\x00" in data[:8192] or data[:5] == b"%PDF-":
        raise _fail(_("该文件不是电子表格：请上传 .xlsx 或 CSV 文件"))
    else:
        raw = _read_csv(data)
    if not raw:
        raise _fail(_("文件是空的"))
    head = [_text(v) for v in raw[0]]
    columns = {h: i for i, h in enumerate(head) if h in HEADERS}
    if "学员账号" not in columns or not ("考试成绩" in columns or {"课次", "考勤"} <= set(columns)):
        raise _fail(_("第 1 行须有表头“学员账号”，以及“考试成绩”或“课次”“考勤”（请使用下载的模板）"))
    rows = []
    for n, row in enumerate(raw[1:], start=2):
        texts = [_text(v) for v in row]
        if any(texts):
            rows.append((n, texts))
    return columns, rows


# ------------------------------------------------------------------ checking
def class_exam(session: Session, klass: TrainingClass):
    """The exam that offline scores of the class go to: its latest published counting exam."""
    from exams.models import Exam, ExamStatus

    return session.scalar(select(Exam).where(
        Exam.counts_for_completion.is_(True), Exam.status == ExamStatus.published,
        (Exam.class_id == klass.id) | (Exam.class_id.is_(None) & (Exam.programme_id == klass.programme_id)
                                       & (Exam.institution_id == klass.institution_id)),
    ).order_by(Exam.class_id.is_(None), Exam.closes_at.desc(), Exam.id.desc()).limit(1))


def _parse_date(text: str) -> dt.date:
    text = text.strip().split(" ")[0].replace("/", "-").replace(".", "-")
    y, m, d = (int(x) for x in text.split("-"))
    return dt.date(y, m, d)


def validate(session: Session, klass: TrainingClass, columns: dict[str, int], rows: list[tuple[int, list[str]]],
             now: dt.datetime) -> list[dict]:
    """Check every row; return the plan (one dict per row) or raise with up to 20 problems, each naming the
    row, the column and what is wrong."""
    from exams.results import real_name

    if not rows:
        raise _fail(_("文件中没有数据行"))
    enrollments = session.execute(select(Enrollment, User).join(User, User.id == Enrollment.user_id).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.approved)).all()
    by_username = {u.username: (e, u) for e, u in enrollments}
    names: dict[str, set[str]] = {}
    sessions = list(session.scalars(select(ClassSession).where(ClassSession.class_id == klass.id)
                                    .order_by(ClassSession.starts_at, ClassSession.id)))
    exam = None
    exam_looked = False
    errors: list[str] = []
    plan: list[dict] = []
    seen_attendance: set[tuple[str, int]] = set()
    seen_score: set[str] = set()
    today = now.date()

    def err(n: int, header: str, msg: str) -> None:
        col = columns.get(header, 0)
        errors.append(_("第 %(row)d 行「%(name)s」列（%(letter)s 列）：%(msg)s", row=n, name=header,
                        letter=get_column_letter(col + 1), msg=msg))

    def cell(texts: list[str], header: str) -> str:
        i = columns.get(header)
        return texts[i] if i is not None and i < len(texts) else ""

    for n, texts in rows:
        if len(errors) >= MAX_ERRORS:
            break
        before = len(errors)
        username, name = cell(texts, "学员账号"), cell(texts, "姓名")
        session_no, status_word = cell(texts, "课次"), cell(texts, "考勤")
        score_text, date_text = cell(texts, "考试成绩"), cell(texts, "考试日期")
        item: dict = {"row": n, "username": username}
        found = by_username.get(username)
        if found is None:
            err(n, "学员账号", _("“%(u)s”不是本培训班的已录取学员", u=username) if username else _("不能为空"))
            continue
        enrollment, user = found
        item["enrollment_id"] = enrollment.id
        if name:
            if username not in names:
                names[username] = {user.display_name, real_name(user)}
            if name not in names[username]:
                err(n, "姓名", _("“%(n)s”与该账号的学员姓名不一致", n=name))
        if not session_no and not status_word and not score_text:
            err(n, "学员账号", _("该行既没有考勤也没有考试成绩"))
        if session_no or status_word:
            no = int(session_no) if session_no.isdigit() else 0
            if not 1 <= no <= len(sessions):
                err(n, "课次", _("须为 1 到 %(n)d 之间的课次序号", n=len(sessions)) if sessions
                    else _("本培训班没有课表，不能导入考勤"))
            elif sessions[no - 1].starts_at - checkin.OPEN_BEFORE > now:
                err(n, "课次", _("第 %(no)d 课次尚未开始，不能记录考勤", no=no))
            elif (username, no) in seen_attendance:
                err(n, "课次", _("%(u)s 的第 %(no)d 课次重复出现", u=username, no=no))
            else:
                seen_attendance.add((username, no))
                item["session_id"] = sessions[no - 1].id
            word = status_word.lower() if status_word.isascii() else status_word
            status = checkin.STATUS_WORDS.get(word)
            if status is None:
                err(n, "考勤", _("“%(v)s”无效，应为 出勤、迟到、缺勤 或 请假", v=status_word) if status_word
                    else _("填写了课次时须填写考勤"))
            else:
                item["status"] = status
        if score_text:
            try:
                score = float(score_text)
            except ValueError:
                score = None
            if score is None or not 0 <= score <= 100:
                err(n, "考试成绩", _("须为 0 到 100 之间的数字"))
            elif username in seen_score:
                err(n, "考试成绩", _("%(u)s 的成绩重复出现", u=username))
            else:
                if not exam_looked:
                    exam, exam_looked = class_exam(session, klass), True
                if exam is None:
                    err(n, "考试成绩", _("本培训班没有已发布的结业考试，请先在考试中创建线下考试"))
                else:
                    seen_score.add(username)
                    item["score"] = score
                    item["exam_id"] = exam.id
        if date_text:
            try:
                taken = _parse_date(date_text)
            except ValueError:
                err(n, "考试日期", _("须为日期，如 2026-11-20"))
            else:
                if taken > today:
                    err(n, "考试日期", _("不能晚于今天"))
                elif not score_text:
                    err(n, "考试日期", _("填写了考试日期时须填写考试成绩"))
                else:
                    item["taken_on"] = taken.isoformat()
        if len(errors) == before:
            plan.append(item)
    if errors:
        more = "……" if len(errors) >= MAX_ERRORS else ""
        raise _fail(_("文件未导入，请改正后重新上传（任何数据都未改变）：") + "；".join(errors[:MAX_ERRORS]) + more)
    return plan


def _require_staff_of(actor: User, klass: TrainingClass) -> None:
    if actor.role != Role.institution_staff or actor.institution_id != klass.institution_id:
        raise Forbidden(_("只有开班机构的工作人员可以导入本培训班的成绩"))


def _require_report_open(session: Session, klass: TrainingClass) -> None:
    from reports.filing import results_of

    report = results_of(session, klass)
    if report is not None and report.status == ReviewStatus.accepted:
        raise Conflict(_("该培训班的结果报告已被接收，不能再导入成绩"))
    if report is not None and report.status == ReviewStatus.submitted:
        raise Conflict(_("结果报告正在审核中，不能导入成绩；如需更正请等待退回"))


def start_import(session: Session, actor: User, klass: TrainingClass, filename: str, data: bytes,
                 now: dt.datetime) -> tuple[ResultImport, bool]:
    """Check the whole file and queue its rows. Returns the import and whether it is new: the same file
    uploaded again returns the earlier import and changes nothing."""
    _require_staff_of(actor, klass)
    _require_report_open(session, klass)
    digest = content_hash(data)
    earlier = session.scalar(select(ResultImport).where(ResultImport.class_id == klass.id,
                                                        ResultImport.content_hash == digest))
    if earlier is not None:
        return earlier, False
    columns, rows = read_table(filename, data)
    plan = validate(session, klass, columns, rows, now)
    imp = ResultImport(class_id=klass.id, institution_id=klass.institution_id, user_id=actor.id,
                       filename=(filename or "")[-255:], content_hash=digest, status="pending", total=len(plan),
                       done=0, plan=plan, summary={"attendance": sum(1 for p in plan if "session_id" in p),
                                                   "scores": sum(1 for p in plan if "score" in p)})
    session.add(imp)
    session.flush()
    audit.record(session, actor, "results.import", imp, class_id=klass.id, rows=len(plan))
    return imp, True


def apply_rows(session: Session, actor: User, klass: TrainingClass, items: list[dict], now: dt.datetime) -> int:
    """Write checked rows through courses' attendance marking and exams' offline results."""
    from exams.models import Exam
    from exams.results import record_offline_result

    cs_cache: dict[int, ClassSession] = {}
    exam_cache: dict[int, Exam] = {}
    for item in items:
        enrollment = session.get(Enrollment, item["enrollment_id"])
        if "session_id" in item:
            cs = cs_cache.get(item["session_id"]) or session.get(ClassSession, item["session_id"])
            cs_cache[cs.id] = cs
            checkin.mark(session, actor, cs, enrollment, item["status"], _("线下考勤导入"), now, method="import")
        if "score" in item:
            exam = exam_cache.get(item["exam_id"]) or session.get(Exam, item["exam_id"])
            exam_cache[exam.id] = exam
            taken = dt.date.fromisoformat(item["taken_on"]) if item.get("taken_on") else None
            record_offline_result(session, actor, exam, item["username"], item["score"], _("线下成绩导入"), taken)
    return len(items)
