"""Excel in and out: questions of a bank, and offline exam results. An import checks every row first and
changes nothing if any is wrong; each message names the row and the column (as Excel shows them)."""
from __future__ import annotations

import datetime as dt
import io

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from exams import banks, queries, results
from exams.models import Exam, Question, QuestionBank, QuestionType
from lms import audit
from lms.errors import DomainError, Forbidden, ValidationFailed

TYPE_WORDS = {"单选": "single", "单选题": "single", "多选": "multiple", "多选题": "multiple", "判断": "true_false",
              "判断题": "true_false", "简答": "short_answer", "简答题": "short_answer"}
DIFFICULTY_WORDS = {"易": "easy", "容易": "easy", "中": "medium", "中等": "medium", "难": "hard", "困难": "hard"}
QUESTION_HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "正确答案", "知识点", "难度", "解析"]
# Which column a validation error of a field belongs to.
FIELD_COLUMN = {"type": 0, "stem": 1, "options": 2, "answer": 8, "knowledge_point": 9, "difficulty": 10, "explanation": 11}
RESULT_HEADERS = ["学员账号", "姓名", "成绩", "考试日期", "备注"]
RESULT_FIELD_COLUMN = {"username": 0, "name": 1, "score": 2, "taken_on": 3, "note": 4}
MAX_ROWS = 5000


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _where(row: int, col: int, headers: list[str]) -> str:
    return _("第 %(row)d 行「%(name)s」列（%(letter)s 列）", row=row, name=headers[col], letter=get_column_letter(col + 1))


def _rows(data: bytes, headers: list[str]):
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ValidationFailed({"file": _("无法读取文件：请上传 .xlsx 格式的 Excel 文件")})
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    head = [_cell(v) for v in (next(it, None) or [])]
    missing = [h for h in headers if h not in head]
    if missing:
        raise ValidationFailed({"file": _("第 1 行缺少表头：%(cols)s（请使用下载的模板）", cols="、".join(missing))})
    index = [head.index(h) for h in headers]
    out = []
    for n, row in enumerate(it, start=2):
        values = [_cell(row[i]) if i < len(row) else "" for i in index]
        if not any(values):
            continue
        out.append((n, values, [row[i] if i < len(row) else None for i in index]))
        if len(out) > MAX_ROWS:
            raise ValidationFailed({"file": _("一次最多导入 %(n)d 行", n=MAX_ROWS)})
    return out


def import_questions(session: Session, user, bank: QuestionBank, data: bytes) -> int:
    """Add every row of the sheet to the bank, or none: the first problems found are reported by row and
    column. Returns the number of questions added."""
    if not banks.can_edit_bank(user, bank):
        raise Forbidden(_("您不能修改这个题库"))
    parsed, errors = [], []
    rows = _rows(data, QUESTION_HEADERS)
    if not rows:
        raise ValidationFailed({"file": _("文件中没有题目")})
    for n, v, _raw in rows:
        qtype = TYPE_WORDS.get(v[0], v[0])
        diff = DIFFICULTY_WORDS.get(v[10], v[10] or "medium")
        qd = banks.QuestionData(type=qtype, stem=v[1], options=v[2:8], answer=v[8], knowledge_point=v[9],
                                difficulty=diff, explanation=v[11])
        try:
            parsed.append(banks.validate_question(qd))
        except ValidationFailed as exc:
            for field, msg in exc.errors.items():
                errors.append(f"{_where(n, FIELD_COLUMN.get(field, 0), QUESTION_HEADERS)}：{msg}")
        if len(errors) >= 20:
            break
    if errors:
        raise ValidationFailed({"file": "；".join(errors)})
    for values in parsed:
        session.add(Question(bank_id=bank.id, **values))
    session.flush()
    audit.record(session, user, "exam_bank.import", bank, added=len(parsed))
    return len(parsed)


def export_questions(session: Session, bank: QuestionBank) -> bytes:
    """The bank's active questions in the import layout, so an export can be edited and imported again."""
    wb = Workbook()
    ws = wb.active
    ws.title = "题目"
    ws.append(QUESTION_HEADERS)
    type_label = {"single": "单选题", "multiple": "多选题", "true_false": "判断题", "short_answer": "简答题"}
    diff_label = {"easy": "易", "medium": "中", "hard": "难"}
    for q in session.scalars(select(Question).where(Question.bank_id == bank.id, Question.is_active.is_(True))
                             .order_by(Question.id)):
        opts = [o["text"] for o in q.options] if q.type in (QuestionType.single, QuestionType.multiple) else []
        opts += [""] * (6 - len(opts))
        ws.append([type_label[q.type.value], q.stem, *opts, banks.answer_text(q), q.knowledge_point,
                   diff_label[q.difficulty.value], q.explanation])
    for i, width in enumerate([8, 50, 20, 20, 20, 20, 12, 12, 12, 16, 6, 40], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def results_template(session: Session, exam: Exam) -> bytes:
    """A sheet listing the exam's trainees (account and name) with blank score cells, to fill in and import."""
    wb = Workbook()
    ws = wb.active
    ws.title = "线下成绩"
    ws.append(RESULT_HEADERS)
    for row in queries.results_by_trainee(session, exam):
        ws.append([row["user"].username, results.real_name(row["user"]), None, None, ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parse_date(raw) -> dt.date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip().replace("/", "-"))
    except ValueError:
        raise DomainError(_("「考试日期」须为日期，如 2026-11-20"))


def import_results(session: Session, user, exam: Exam, data: bytes) -> int:
    """Record offline results from a sheet (学员账号, 姓名, 成绩, 考试日期, 备注): all rows or none."""
    rows = _rows(data, RESULT_HEADERS)
    if not rows:
        raise ValidationFailed({"file": _("文件中没有成绩")})
    errors: list[str] = []
    done = 0
    for n, v, raw in rows:
        try:
            score = float(v[2]) if v[2] != "" else None
        except ValueError:
            errors.append(f"{_where(n, 2, RESULT_HEADERS)}：" + _("「成绩」须为数字"))
            continue
        try:
            taken = _parse_date(raw[3])
        except DomainError as exc:
            errors.append(f"{_where(n, 3, RESULT_HEADERS)}：{exc.message}")
            continue
        try:
            with session.begin_nested():
                results.record_offline_result(session, user, exam, v[0], score, v[4], taken, name=v[1] or None)
            done += 1
        except ValidationFailed as exc:
            for field, msg in exc.errors.items():
                errors.append(f"{_where(n, RESULT_FIELD_COLUMN.get(field, 0), RESULT_HEADERS)}：{msg}")
        if len(errors) >= 20:
            break
    if errors:
        raise ValidationFailed({"file": "；".join(errors)})
    return done
