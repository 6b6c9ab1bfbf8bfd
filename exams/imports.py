"""Excel in and out: questions of a bank, and offline exam results. An import checks every row first and
changes nothing if any is wrong; each message names the row and the column (as Excel shows them)."""
from __future__ import annotations


from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from exams import banks, queries, results
from exams.models import Exam, Question, QuestionBank, QuestionType
from lms import audit, sheets
from lms.errors import Forbidden, ValidationFailed

TYPE_WORDS = {"单选": "single", "单选题": "single", "多选": "multiple", "多选题": "multiple", "判断": "true_false",
              "判断题": "true_false", "简答": "short_answer", "简答题": "short_answer"}
DIFFICULTY_WORDS = {"易": "easy", "容易": "easy", "中": "medium", "中等": "medium", "难": "hard", "困难": "hard"}
QUESTION_HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "正确答案", "知识点", "难度", "解析"]
# Which column a validation error of a field belongs to.
FIELD_COLUMN = {"type": 0, "stem": 1, "options": 2, "answer": 8, "knowledge_point": 9, "difficulty": 10, "explanation": 11}
RESULT_HEADERS = ["学员账号", "姓名", "成绩", "考试日期", "备注"]
RESULT_FIELD_COLUMN = {"username": 0, "name": 1, "score": 2, "taken_on": 3, "note": 4}
MAX_ROWS = 5000


def _problem(row: int, col: int, headers: list[str], values: list[str], msg: str) -> sheets.Problem:
    return sheets.Problem(row, headers[col], get_column_letter(col + 1), values[col] if col < len(values) else "", msg)


def _rows(data: bytes, headers: list[str], required: list[str], inputs: list[str] | None = None,
          identifiers: tuple[str, ...] = (), filename: str = "") -> list[tuple[int, list[str]]]:
    """The sheet's rows that carry input, each as (row number, the texts of ``headers`` in order), read
    through ``lms.sheets`` (.xlsx, .xls or CSV; capped before loading)."""
    table = sheets.read_table(filename, data, headers=headers, required=required, inputs=inputs,
                              identifiers=identifiers, max_rows=MAX_ROWS)
    return [(r.number, [r.get(h) for h in headers]) for r in table.rows]


def import_questions(session: Session, user, bank: QuestionBank, data: bytes, filename: str = "") -> int:
    """Add every row of the sheet to the bank, or none: the first problems found are reported by row and
    column. Returns the number of questions added."""
    if not banks.can_edit_bank(user, bank):
        raise Forbidden(_("您不能修改这个题库"))
    parsed, errors = [], []
    rows = _rows(data, QUESTION_HEADERS, ["题型", "题干", "正确答案"], filename=filename)
    if not rows:
        raise sheets.refuse(_("文件中没有题目"))
    for n, v in rows:
        qtype = TYPE_WORDS.get(v[0], v[0])
        diff = DIFFICULTY_WORDS.get(v[10], v[10] or "medium")
        qd = banks.QuestionData(type=qtype, stem=v[1], options=v[2:8], answer=v[8], knowledge_point=v[9],
                                difficulty=diff, explanation=v[11])
        try:
            parsed.append(banks.validate_question(qd))
        except ValidationFailed as exc:
            for field, msg in exc.errors.items():
                errors.append(_problem(n, FIELD_COLUMN.get(field, 0), QUESTION_HEADERS, v, msg))
        if len(errors) >= sheets.MAX_PROBLEMS:
            break
    if errors:
        raise sheets.SheetRefused(errors)
    for values in parsed:
        session.add(Question(bank_id=bank.id, **values))
    session.flush()
    audit.record(session, user, "exam_bank.import", bank, added=len(parsed))
    return len(parsed)


def export_questions(session: Session, bank: QuestionBank) -> bytes:
    """The bank's active questions in the import layout, so an export can be edited and imported again."""
    wb, ws = sheets.workbook("题目", QUESTION_HEADERS)
    type_label = {"single": "单选题", "multiple": "多选题", "true_false": "判断题", "short_answer": "简答题"}
    diff_label = {"easy": "易", "medium": "中", "hard": "难"}
    for q in session.scalars(select(Question).where(Question.bank_id == bank.id, Question.is_active.is_(True))
                             .order_by(Question.id)):
        opts = [o["text"] for o in q.options] if q.type in (QuestionType.single, QuestionType.multiple) else []
        opts += [""] * (6 - len(opts))
        sheets.append(ws, [type_label[q.type.value], q.stem, *opts, banks.answer_text(q), q.knowledge_point,
                           diff_label[q.difficulty.value], q.explanation])
    for i, width in enumerate([8, 50, 20, 20, 20, 20, 12, 12, 12, 16, 6, 40], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    return sheets.to_bytes(wb)


def results_template(session: Session, exam: Exam) -> bytes:
    """A sheet listing the exam's trainees (account and name) with blank score cells, to fill in and import."""
    wb, ws = sheets.workbook("线下成绩", RESULT_HEADERS)
    for row in queries.results_by_trainee(session, exam):
        sheets.append(ws, [sheets.Text(row["user"].username), results.real_name(row["user"]), None, None, None])
    return sheets.to_bytes(wb)


def import_results(session: Session, user, exam: Exam, data: bytes, filename: str = "") -> int:
    """Record offline results from a sheet (学员账号, 姓名, 成绩, 考试日期, 备注): all rows or none. A row of
    the template where nothing was typed (成绩, 考试日期 and 备注 empty) is not a row."""
    rows = _rows(data, RESULT_HEADERS, ["学员账号", "成绩"], inputs=["成绩", "考试日期", "备注"],
                 identifiers=("学员账号",), filename=filename)
    if not rows:
        raise sheets.refuse(_("文件中没有成绩：请在「成绩」列填写后再上传"))
    errors: list[sheets.Problem] = []
    done = 0
    for n, v in rows:
        if len(errors) >= sheets.MAX_PROBLEMS:
            break
        try:
            score = float(v[2]) if v[2] != "" else None
        except ValueError:
            errors.append(_problem(n, 2, RESULT_HEADERS, v, _("须为 0 到 100 之间的数字")))
            continue
        if score is None:
            errors.append(_problem(n, 2, RESULT_HEADERS, v, _("填写了考试日期或备注时须填写成绩")))
            continue
        try:
            taken = sheets.parse_date(v[3]) if v[3] else None
        except ValueError:
            errors.append(_problem(n, 3, RESULT_HEADERS, v, _("须为日期，如 2026-11-20")))
            continue
        try:
            with session.begin_nested():
                results.record_offline_result(session, user, exam, v[0], score, v[4], taken, name=v[1] or None)
            done += 1
        except ValidationFailed as exc:
            for field, msg in exc.errors.items():
                errors.append(_problem(n, RESULT_FIELD_COLUMN.get(field, 0), RESULT_HEADERS, v, msg))
    if errors:
        raise sheets.SheetRefused(errors)
    return done
