"""Attendance: the rotating QR token, check-in, marking by hand and the Excel import (the roll, the attendance
sheet and the live list with its flags are read models in ``courses.queries``; the rates in ``courses.attendance``).

The QR token is ``<session id>.<time step>.<HMAC>``: the step changes every 15 seconds and the previous
step is still accepted, so a code scanned just before it changes still works. The HMAC key is derived
from SECRET_KEY (never the key itself). Devices and addresses are kept only as keyed hashes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from sqlalchemy.dialects import postgresql, sqlite

from courses.models import AttendanceRecord, AttendanceStatus, ClassSession, Enrollment, EnrollmentStatus
from courses.queries import roster
from courses.services.access import require_class_staff
from lms import audit, sheets
from lms.domain import Role
from lms.errors import DomainError, Forbidden, ValidationFailed

STEP_SECONDS = 15
OPEN_BEFORE = dt.timedelta(hours=1)  # the QR works from an hour before the session
OPEN_AFTER = dt.timedelta(minutes=30)  # … until half an hour after it ends


class InvalidToken(DomainError):
    status = 400


def derive_key(secret_key: str | bytes, purpose: str) -> bytes:
    """A key for one purpose, derived from SECRET_KEY so that leaking one purpose's MAC reveals nothing."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, f"cqo.{purpose}.v1".encode(), hashlib.sha256).digest()


def time_step(now: dt.datetime) -> int:
    """The QR token's time step at ``now`` (changes every STEP_SECONDS)."""
    return int(now.timestamp()) // STEP_SECONDS


def _mac(key: bytes, session_id: int, step: int) -> str:
    return hmac.new(key, f"{session_id}:{step}".encode(), hashlib.sha256).hexdigest()[:24]


def make_token(key: bytes, session_id: int, now: dt.datetime) -> str:
    """The QR token for the session at ``now``: ``<session id>.<step>.<HMAC>``."""
    step = time_step(now)
    return f"{session_id}.{step}.{_mac(key, session_id, step)}"


def verify_token(key: bytes, token: str, session_id: int, now: dt.datetime) -> None:
    """Raise InvalidToken with a message a trainee understands, or return if the token is good for
    ``session_id`` at ``now`` (current or previous step)."""
    try:
        sid_s, step_s, mac = (token or "").split(".")
        sid, step = int(sid_s), int(step_s)
    except ValueError:
        raise InvalidToken(_("二维码无效：请用手机扫描投影屏幕上的签到二维码"))
    if not hmac.compare_digest(mac, _mac(key, sid, step)):
        raise InvalidToken(_("二维码无效或已被篡改：请重新扫描投影屏幕上的签到二维码"))
    if sid != session_id:
        raise InvalidToken(_("该二维码属于另一个课次，不能用于本课次签到"))
    current = time_step(now)
    if step not in (current, current - 1):
        raise InvalidToken(_("二维码已过期（每 15 秒更新一次）：请扫描投影屏幕上的最新二维码"))


def checkin_window_open(cs: ClassSession, now: dt.datetime) -> bool:
    """Is check-in open: from OPEN_BEFORE the start to OPEN_AFTER the end of the session."""
    return cs.starts_at - OPEN_BEFORE <= now <= cs.ends_at + OPEN_AFTER


def require_window(cs: ClassSession, now: dt.datetime) -> None:
    """Refuse (DomainError) outside the session's check-in window."""
    if not checkin_window_open(cs, now):
        raise DomainError(_("不在签到时间内：本课次签到时间为开始前 1 小时至结束后 30 分钟"))


def fingerprint(key: bytes, value: str) -> str:
    """A keyed hash of a device id or client address: enough to see that two check-ins share one, and
    nothing more (the raw address is never stored)."""
    return hmac.new(key, (value or "").encode(), hashlib.sha256).hexdigest() if value else ""


@dataclass(frozen=True)
class Checkin:
    """A trainee's record at a session, as the phone shows it (a plain row, not an ORM object)."""

    id: int
    status: AttendanceStatus
    recorded_at: dt.datetime
    method: str


@dataclass(frozen=True)
class Admission:
    """The trainee's approved enrolment in the session's class and their record at the session, if any."""

    enrollment_id: int
    record: Checkin | None


_RECORD_COLUMNS = (AttendanceRecord.id, AttendanceRecord.status, AttendanceRecord.recorded_at, AttendanceRecord.method)


# Built once: constructing a statement costs more Python than running it (parameters are bound per call).
_ADMISSION = (
    select(Enrollment.id, *_RECORD_COLUMNS)
    .outerjoin(AttendanceRecord, and_(AttendanceRecord.enrollment_id == Enrollment.id,
                                      AttendanceRecord.session_id == bindparam("session_id")))
    .where(Enrollment.class_id == bindparam("class_id"), Enrollment.user_id == bindparam("user_id"),
           Enrollment.status == EnrollmentStatus.approved)
)
_RECORD = select(*_RECORD_COLUMNS).where(AttendanceRecord.session_id == bindparam("session_id"),
                                         AttendanceRecord.enrollment_id == bindparam("enrollment_id"))


def admission(session: Session, cs: ClassSession, user_id: int) -> Admission | None:
    """One statement: the approved enrolment (unique per class and user) joined to the session's record."""
    row = session.execute(_ADMISSION, {"session_id": cs.id, "class_id": cs.class_id, "user_id": user_id}).first()
    if row is None:
        return None
    return Admission(row[0], Checkin(*row[1:]) if row[1] is not None else None)


def prepare_check_in(session: Session, user, cs: ClassSession, now: dt.datetime) -> Admission:
    """The read half of a check-in: refuse anyone but an admitted trainee, and outside the window."""
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员需要签到"))
    found = admission(session, cs, user.id)
    if found is None:
        raise Forbidden(_("您不是本培训班的已录取学员，不能签到"))
    require_window(cs, now)
    return found


_INSERT_ONCE: dict[str, object] = {}
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # the product runs on these two


def _insert_once(session: Session):
    """INSERT … ON CONFLICT (session, enrolment) DO NOTHING RETURNING …, on SQLite and PostgreSQL alike."""
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_ONCE.get(dialect)
    if stmt is None:
        insert = _INSERTS[dialect]
        table = AttendanceRecord.__table__
        stmt = _INSERT_ONCE[dialect] = (
            insert(table).on_conflict_do_nothing(index_elements=[table.c.session_id, table.c.enrollment_id])
            .returning(*(table.c[c.key] for c in _RECORD_COLUMNS)))
    return stmt


def record_check_in(session: Session, user, cs: ClassSession, found: Admission, now: dt.datetime, *,
                    device_hash: str = "", address_hash: str = "") -> tuple[Checkin, bool]:
    """The write half: insert the record unless there is one. The insert itself is the guard (the unique
    constraint on session and enrolment, ON CONFLICT DO NOTHING), so a double tap or a second phone racing
    this one, even between ``prepare_check_in`` and here, finds the record the other one wrote."""
    if found.record is not None:
        return found.record, False
    status = AttendanceStatus.late if now > cs.starts_at + dt.timedelta(minutes=15) else AttendanceStatus.present
    row = session.execute(_insert_once(session), {
        "session_id": cs.id, "enrollment_id": found.enrollment_id, "status": status, "method": "qr",
        "recorded_at": now, "recorded_by_id": user.id, "reason": "", "device_hash": device_hash,
        "address_hash": address_hash}).first()
    if row is None:  # the other request recorded it first
        row = session.execute(_RECORD, {"session_id": cs.id, "enrollment_id": found.enrollment_id}).one()
        return Checkin(*row), False
    rec = Checkin(*row)
    audit.record(session, user, "attendance.checkin", object_type="AttendanceRecord", object_id=rec.id,
                 session_id=cs.id)
    return rec, True


def check_in(session: Session, user, cs: ClassSession, now: dt.datetime, *, device_hash: str = "",
             address_hash: str = "") -> tuple[Checkin, bool]:
    """Record a QR check-in once. Returns (record, created): a second scan or a double tap returns the
    existing record unchanged. A trainee who is not admitted to the class is refused. The token has been
    verified by the caller (the confirm step carries a signed ticket). The phone's page calls the two halves
    itself, so that on SQLite only the insert runs in the write transaction."""
    found = prepare_check_in(session, user, cs, now)
    return record_check_in(session, user, cs, found, now, device_hash=device_hash, address_hash=address_hash)


def mark(session: Session, actor, cs: ClassSession, enrollment: Enrollment, status: str, reason: str,
         now: dt.datetime, *, method: str = "manual") -> AttendanceRecord:
    """Set one trainee's attendance at a session by hand (a phone that died, a late arrival, a sick
    note). A reason is required; the latest marking wins and the audit log keeps the history."""
    require_class_staff(actor, cs.training_class, message=_("只有开班机构的工作人员可以记录考勤"))
    if enrollment.class_id != cs.class_id or enrollment.status != EnrollmentStatus.approved:
        raise ValidationFailed({"enrollment_id": _("该学员不是本培训班的已录取学员")})
    try:
        st = AttendanceStatus(status)
    except ValueError:
        raise ValidationFailed({"status": _("考勤状态须为出勤、迟到、缺勤或请假")})
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 200:
        raise ValidationFailed({"reason": _("请填写 2-200 字的原因（如：手机没电，现场核实）")})
    if cs.starts_at - OPEN_BEFORE > now:
        raise ValidationFailed({"status": _("课次尚未开始，不能记录考勤")})
    rec = session.scalar(select(AttendanceRecord).where(
        AttendanceRecord.session_id == cs.id, AttendanceRecord.enrollment_id == enrollment.id))
    old = rec.status.value if rec else None
    if rec is None:
        rec = AttendanceRecord(session_id=cs.id, enrollment_id=enrollment.id)
        session.add(rec)
    rec.status, rec.method, rec.reason = st, method, reason
    rec.recorded_at, rec.recorded_by_id = now, actor.id
    session.flush()
    audit.record(session, actor, "attendance.mark", rec, session_id=cs.id, old=old, new=st.value, method=method)
    return rec


STATUS_WORDS = {
    "出勤": "present", "到": "present", "present": "present",
    "迟到": "late", "late": "late",
    "缺勤": "absent", "缺": "absent", "absent": "absent",
    "请假": "excused", "excused": "excused",
}
HEADERS = ("用户名", "姓名", "状态", "原因")


def template_workbook(session: Session, cs: ClassSession) -> bytes:
    """An .xlsx with the session's roster to fill in: 用户名 | 姓名 | 状态 | 原因 (through ``lms.sheets``: a name
    that looks like a formula stays text)."""
    wb, ws = sheets.workbook("考勤", HEADERS)
    records = {r.enrollment_id: r for r in session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == cs.id))}
    for e in roster(session, cs):
        rec = records.get(e.id)
        sheets.append(ws, [sheets.Text(e.user.username), e.user.display_name, rec.status.label if rec else None,
                           rec.reason if rec else None])
    return sheets.to_bytes(wb)


def import_sheet(session: Session, actor, cs: ClassSession, data: bytes, now: dt.datetime, filename: str = "",
                 max_bytes: int = sheets.MAX_BYTES) -> int:
    """Import a session's attendance from a sheet (.xlsx, .xls or CSV; columns 用户名, 状态, optional 原因):
    every row is checked first and nothing is written unless all rows are good; errors name row, column and
    value. A template row left untouched (状态 and 原因 empty) is skipped."""
    require_class_staff(actor, cs.training_class, message=_("只有开班机构的工作人员可以记录考勤"))
    table = sheets.read_table(filename, data, headers=HEADERS, required=["用户名", "状态"], inputs=["状态", "原因"],
                              identifiers=["用户名"], max_bytes=max_bytes)
    by_username = {e.user.username: e for e in roster(session, cs)}
    errors: list[sheets.Problem] = []
    plan: list[tuple[Enrollment, str, str]] = []
    seen: set[str] = set()
    for row in table.rows:
        n = row.number
        username, status_word, reason = row.get("用户名"), row.get("状态"), row.get("原因")
        if username not in by_username:
            errors.append(table.problem(n, "用户名", username, _("不是本培训班的已录取学员") if username else _("不能为空")))
            continue
        if username in seen:
            errors.append(table.problem(n, "用户名", username, _("重复出现")))
            continue
        seen.add(username)
        status = STATUS_WORDS.get(status_word.lower() if status_word.isascii() else status_word)
        if status is None:
            errors.append(table.problem(n, "状态", status_word, _("无效，应为 出勤、迟到、缺勤 或 请假") if status_word
                                        else _("填写了原因时须填写状态")))
            continue
        if len(reason) > 200:
            errors.append(table.problem(n, "原因", reason[:20] + "……", _("不能超过 200 字")))
            continue
        plan.append((by_username[username], status, reason or _("Excel 导入")))
    if errors:
        raise sheets.SheetRefused(errors)
    if not plan:
        raise sheets.refuse(_("工作表中没有考勤记录：请在「状态」列填写后再上传"))
    for enrollment, status, reason in plan:
        mark(session, actor, cs, enrollment, status, reason if len(reason) >= 2 else _("Excel 导入"), now, method="import")
    audit.record(session, actor, "attendance.import", cs, rows=len(plan))
    return len(plan)
