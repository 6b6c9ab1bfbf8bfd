"""Offline results (paper exam scores and attendance taken outside the system) from an .xlsx or a CSV file.

The whole file is read and every row checked before anything is stored; a bad file changes nothing and the
message names the row, the column and what is wrong. A file already imported for the class (same content
hash) is not imported again. A good file becomes a ``ResultImport`` whose rows ``import_jobs`` applies in the
background in chunks (``reports.jobs``), through the same services as hand entry (courses' attendance marking,
exams' offline results), so the results land in the same records.

The page and the API record offline results through the same use case: ``_require_can_import`` (the class's
staff, its results report still open), ``validate`` (every row, all or nothing) and ``apply_rows`` (the writes),
then ``filing.submit_results``. They differ only in when the checked rows are written, and for a reason: a file
may hold 20,000 rows, so the page stores the checked plan and applies it in the background in committed chunks
with a progress bar (``ResultImport``); the API takes at most ``MAX_API_ROWS`` rows and applies them with the
report in one transaction (``submit_results_with_rows``), so that a client gets the submitted report, or an
error and no change, in one answer. The same rows give the same records and the same report either way."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courses import checkin
from courses.models import ClassSession, Enrollment, EnrollmentStatus, TrainingClass
from courses.services import require_class_staff
from exams.models import Exam
from exams.results import real_name, record_offline_result
from lms import audit, sheets
from lms.auth.models import User
from lms.db import utcnow
from lms.errors import Conflict, ValidationFailed
from reports.models import ResultImport, ResultsReport, ReviewStatus
from reports.queries import class_exam, results_of, sessions_of
from reports.services.filing import submit_results

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 20000
MAX_UNPACKED = sheets.MAX_UNPACKED
MAX_ERRORS = 20
HEADERS = ["学员账号", "姓名", "课次", "考勤", "考试成绩", "考试日期"]
INPUTS = ["考勤", "考试成绩", "考试日期"]  # what staff type; the template fills in the rest
MAX_API_ROWS = 5000
API_WORDS = {"present": "出勤", "late": "迟到", "absent": "缺勤", "excused": "请假"}  # the API's attendance values


def content_hash(data: bytes) -> str:
    """The file's SHA-256, by which the same file uploaded again is recognised."""
    return hashlib.sha256(data).hexdigest()


def _fail(msg: str) -> ValidationFailed:
    return ValidationFailed({"file": msg})


def read_table(filename: str, data: bytes) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """The header map (name → column index) and the data rows in which something was entered (row number as
    the spreadsheet shows it, cell texts), read through ``lms.sheets`` (.xlsx, .xls or CSV; size, unpacked size
    and rows capped before loading). A row of the template with only its pre-filled account, name, session
    and time is not a row: ``INPUTS`` are what staff type."""
    table = sheets.read_table(
        filename, data, headers=HEADERS, required=["学员账号"], inputs=INPUTS, identifiers=["学员账号"],
        max_rows=MAX_ROWS, max_bytes=MAX_BYTES, max_unpacked=MAX_UNPACKED)
    if not ("考试成绩" in table.columns or {"课次", "考勤"} <= set(table.columns)):
        raise sheets.refuse(_("第 1 行须有表头“学员账号”，以及“考试成绩”或“课次”“考勤”（请使用下载的模板）"))
    return table.columns, [(r.number, r.cells) for r in table.rows]


# ------------------------------------------------------------------ checking
@dataclass
class _Check:
    """One run of ``validate``: what the rows are checked against, and the problems found so far."""

    session: Session
    klass: TrainingClass
    columns: dict[str, int]
    now: dt.datetime
    by_username: dict = field(default_factory=dict)
    sessions: list[ClassSession] = field(default_factory=list)
    errors: list[sheets.Problem] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    names: dict[str, set[str]] = field(default_factory=dict)
    seen_attendance: set[tuple[str, int]] = field(default_factory=set)
    seen_score: set[str] = field(default_factory=set)
    exam: Exam | None = None
    exam_looked: bool = False

    def __post_init__(self) -> None:
        enrollments = self.session.execute(select(Enrollment, User).join(User, User.id == Enrollment.user_id).where(
            Enrollment.class_id == self.klass.id, Enrollment.status == EnrollmentStatus.approved)).all()
        self.by_username = {u.username: (e, u) for e, u in enrollments}
        self.sessions = sessions_of(self.session, self.klass)

    def err(self, n: int, header: str, msg: str) -> None:
        col = self.columns.get(header, 0)
        value = self.texts[col] if header in self.columns and col < len(self.texts) else ""
        self.errors.append(sheets.Problem(n, header, get_column_letter(col + 1), value, msg))

    def cell(self, texts: list[str], header: str) -> str:
        i = self.columns.get(header)
        return texts[i] if i is not None and i < len(texts) else ""

    def row(self, n: int, texts: list[str]) -> dict | None:
        """The row's plan item, or None when it has problems (recorded in ``errors``)."""
        before = len(self.errors)
        self.texts = texts
        username, name = self.cell(texts, "学员账号"), self.cell(texts, "姓名")
        session_no, status_word = self.cell(texts, "课次"), self.cell(texts, "考勤")
        score_text, date_text = self.cell(texts, "考试成绩"), self.cell(texts, "考试日期")
        found = self.by_username.get(username)
        if found is None:
            self.err(n, "学员账号", _("不是本培训班的已录取学员") if username else _("不能为空"))
            return None
        enrollment, user = found
        item: dict = {"row": n, "username": username, "enrollment_id": enrollment.id}
        if name:
            self.name(n, username, user, name)
        if not session_no and not status_word and not score_text:
            self.err(n, "学员账号", _("该行既没有考勤也没有考试成绩"))
        if status_word:  # 课次 alone is the template's pre-filled number, not an entry
            self.attendance(n, item, username, session_no, status_word)
        if score_text:
            self.score(n, item, username, score_text)
        if date_text:
            self.date(n, item, score_text, date_text)
        return item if len(self.errors) == before else None

    def name(self, n: int, username: str, user: User, name: str) -> None:
        if username not in self.names:
            self.names[username] = {user.display_name, real_name(user)}
        if name not in self.names[username]:
            self.err(n, "姓名", _("与该账号的学员姓名不一致"))

    def attendance(self, n: int, item: dict, username: str, session_no: str, status_word: str) -> None:
        no = int(session_no) if session_no.isdigit() else 0
        if not 1 <= no <= len(self.sessions):
            self.err(n, "课次", _("须为 1 到 %(n)d 之间的课次序号", n=len(self.sessions)) if self.sessions
                     else _("本培训班没有课表，不能导入考勤"))
        elif self.sessions[no - 1].starts_at - checkin.OPEN_BEFORE > self.now:
            self.err(n, "课次", _("第 %(no)d 课次尚未开始，不能记录考勤", no=no))
        elif (username, no) in self.seen_attendance:
            self.err(n, "课次", _("%(u)s 的第 %(no)d 课次重复出现", u=username, no=no))
        else:
            self.seen_attendance.add((username, no))
            item["session_id"] = self.sessions[no - 1].id
        word = status_word.lower() if status_word.isascii() else status_word
        status = checkin.STATUS_WORDS.get(word)
        if status is None:
            self.err(n, "考勤", _("无效，应为 出勤、迟到、缺勤 或 请假") if status_word
                     else _("填写了课次时须填写考勤"))
        else:
            item["status"] = status

    def score(self, n: int, item: dict, username: str, score_text: str) -> None:
        try:
            score = float(score_text)
        except ValueError:
            score = None
        if score is None or not 0 <= score <= 100:
            self.err(n, "考试成绩", _("须为 0 到 100 之间的数字"))
            return
        if username in self.seen_score:
            self.err(n, "考试成绩", _("%(u)s 的成绩重复出现", u=username))
            return
        if not self.exam_looked:
            self.exam, self.exam_looked = class_exam(self.session, self.klass), True
        if self.exam is None:
            self.err(n, "考试成绩", _("本培训班没有已发布的结业考试，请先在考试中创建线下考试"))
            return
        self.seen_score.add(username)
        item["score"] = score
        item["exam_id"] = self.exam.id

    def date(self, n: int, item: dict, score_text: str, date_text: str) -> None:
        try:
            taken = sheets.parse_date(date_text)
        except ValueError:
            self.err(n, "考试日期", _("须为日期，如 2026-11-20"))
            return
        if taken > self.now.date():
            self.err(n, "考试日期", _("不能晚于今天"))
        elif not score_text:
            self.err(n, "考试日期", _("填写了考试日期时须填写考试成绩"))
        else:
            item["taken_on"] = taken.isoformat()


def validate(session: Session, klass: TrainingClass, columns: dict[str, int], rows: list[tuple[int, list[str]]],
             now: dt.datetime) -> list[dict]:
    """Check every row; return the plan (one dict per row) or raise with up to 20 problems, each naming the
    row, the column and what is wrong."""
    if not rows:
        raise _fail(_("文件中没有数据行"))
    check = _Check(session, klass, columns, now)
    plan: list[dict] = []
    for n, texts in rows:
        if len(check.errors) >= MAX_ERRORS:
            break
        item = check.row(n, texts)
        if item is not None:
            plan.append(item)
    if check.errors:
        raise sheets.SheetRefused(check.errors, _("文件未导入，请改正后重新上传（任何数据都未改变）："))
    return plan


def _require_can_import(session: Session, actor: User, klass: TrainingClass) -> None:
    """Only the class's staff import its results, and only while its results report is open (none, or returned)."""
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以导入本培训班的成绩"))
    report = results_of(session, klass)
    if report is not None and report.status == ReviewStatus.accepted:
        raise Conflict(_("该培训班的结果报告已被接收，不能再导入成绩"))
    if report is not None and report.status == ReviewStatus.submitted:
        raise Conflict(_("结果报告正在审核中，不能导入成绩；如需更正请等待退回"))


# ------------------------------------------------------------------ the page: a file, applied in the background
def _import_of(session: Session, klass: TrainingClass, digest: str) -> ResultImport | None:
    """The class's import of the file with this content hash, if there was one."""
    return session.scalar(select(ResultImport).where(ResultImport.class_id == klass.id,
                                                     ResultImport.content_hash == digest))


def start_import(session: Session, actor: User, klass: TrainingClass, filename: str, data: bytes,
                 now: dt.datetime) -> tuple[ResultImport, bool]:
    """Check the whole file and queue its rows (``reports.jobs`` applies them). Returns the import and whether
    it is new: the same file uploaded again, even at the same moment, returns the earlier import and changes
    nothing."""
    _require_can_import(session, actor, klass)
    digest = content_hash(data)
    earlier = _import_of(session, klass, digest)
    if earlier is not None:
        return earlier, False
    columns, rows = read_table(filename, data)
    plan = validate(session, klass, columns, rows, now)
    imp = ResultImport(class_id=klass.id, institution_id=klass.institution_id, user_id=actor.id,
                       filename=(filename or "")[-255:], content_hash=digest, status="pending", total=len(plan),
                       done=0, plan=plan, summary={"attendance": sum(1 for p in plan if "session_id" in p),
                                                   "scores": sum(1 for p in plan if "score" in p)})
    try:
        with session.begin_nested():
            session.add(imp)
    except IntegrityError:  # the same file, uploaded twice at once: the other request stored it
        return _import_of(session, klass, digest), False
    audit.record(session, actor, "results.import", imp, class_id=klass.id, rows=len(plan))
    return imp, True


def apply_next_chunk(session: Session, import_id: int, size: int) -> bool:
    """Apply the import's next ``size`` rows (``apply_rows``) and count them done; True when none were left
    and the import is now done."""
    imp = session.get(ResultImport, import_id)
    items = imp.plan[imp.done:imp.done + size]
    if not items:
        imp.status, imp.finished_at = "done", utcnow()
        return True
    actor = session.get(User, imp.user_id)
    klass = session.get(TrainingClass, imp.class_id)
    apply_rows(session, actor, klass, items, utcnow())
    imp.done += len(items)
    return False


def mark_import(session: Session, import_id: int, status: str, message: str = "") -> ResultImport:
    """Record where an import stands: ``running`` once the background work takes it up, ``failed`` with the
    reason the staff are shown."""
    imp = session.get(ResultImport, import_id)
    imp.status, imp.message = status, message
    if status in ("done", "failed"):
        imp.finished_at = utcnow()
    return imp


# ------------------------------------------------------------------ writing checked rows
def apply_rows(session: Session, actor: User, klass: TrainingClass, items: list[dict], now: dt.datetime) -> int:
    """Write checked rows through courses' attendance marking and exams' offline results."""
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


# ------------------------------------------------------------------ the API: rows and the report at once
def table_from_api(rows: list[dict]) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """The API's JSON rows as the table a file gives (row numbers from 1), so they are checked the same way."""
    if not isinstance(rows, list) or len(rows) > MAX_API_ROWS or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed({"rows": _("rows 须为对象数组，最多 %(n)d 行", n=MAX_API_ROWS)})
    columns = {h: i for i, h in enumerate(HEADERS)}

    def text(value) -> str:
        return "" if value is None else str(value)

    table = [(i + 1, [text(r.get("username")), text(r.get("name")), text(r.get("session_no")),
                      API_WORDS.get(text(r.get("attendance")), text(r.get("attendance"))), text(r.get("score")),
                      text(r.get("taken_on"))]) for i, r in enumerate(rows)]
    return columns, table


def submit_results_with_rows(session: Session, actor: User, klass: TrainingClass, rows: list[dict], note: str,
                             today: dt.date, now: dt.datetime) -> ResultsReport:
    """The API's results report: its offline rows checked and written as an import's are (all or nothing),
    then the report submitted from the system's records (``filing.submit_results``), in one transaction."""
    columns, table = table_from_api(rows)
    if table:
        _require_can_import(session, actor, klass)
        apply_rows(session, actor, klass, validate(session, klass, columns, table, now), now)
    return submit_results(session, actor, klass, today, note)
