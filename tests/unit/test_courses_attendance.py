"""Attendance: the rotating token, check-in once, manual marking, Excel import all-or-none, flags, rates
and the completion rules."""
import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from courses import checkin, completion_rules, queries, services
from courses.attendance import attendance_rate, rates
from courses.models import AttendanceRecord, AttendanceStatus
from courses.services import enrolment
from lms import completion
from lms.db import utcnow
from lms.demo import PLEDGE_VERSION
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.templating import today_local
from tests import courses_support as cs
from tests import factories

KEY = checkin.derive_key("test-secret-key", "attendance-qr")


def test_token_is_good_for_this_step_and_the_previous_one_only():
    now = dt.datetime(2026, 11, 22, 1, 0, 7, tzinfo=dt.timezone.utc)
    tok = checkin.make_token(KEY, 5, now)
    checkin.verify_token(KEY, tok, 5, now)
    checkin.verify_token(KEY, tok, 5, now + dt.timedelta(seconds=15))  # previous step still accepted
    with pytest.raises(checkin.InvalidToken) as exc:
        checkin.verify_token(KEY, tok, 5, now + dt.timedelta(seconds=31))
    assert "已过期" in exc.value.message
    with pytest.raises(checkin.InvalidToken) as exc:
        checkin.verify_token(KEY, tok, 6, now)
    assert "另一个课次" in exc.value.message
    sid, step, mac = tok.split(".")
    with pytest.raises(checkin.InvalidToken) as exc:
        checkin.verify_token(KEY, f"{sid}.{int(step) + 4}.{mac}", 5, now)
    assert "篡改" in exc.value.message
    with pytest.raises(checkin.InvalidToken):
        checkin.verify_token(checkin.derive_key("other-secret", "attendance-qr"), tok, 5, now)
    with pytest.raises(checkin.InvalidToken) as exc:
        checkin.verify_token(KEY, "garbage", 5, now)
    assert "无效" in exc.value.message
    assert KEY != checkin.derive_key("test-secret-key", "attendance-fingerprint")


def _running_class(db, world):
    klass = cs.training_class(db, world, start=today_local())
    return klass, cs.session_now(db, world, klass)


def test_check_in_records_once_and_refuses_outsiders(db, world):
    klass, sess = _running_class(db, world)
    user, e = cs.admitted(db, world, klass, "student")
    now = utcnow()
    rec, created = checkin.check_in(db, user, sess, now, device_hash="d1", address_hash="a1")
    again, created2 = checkin.check_in(db, user, sess, now + dt.timedelta(seconds=1), device_hash="d1")
    assert created and not created2 and again.id == rec.id
    assert db.scalar(select(func.count(AttendanceRecord.id)).where(AttendanceRecord.session_id == sess.id)) == 1
    assert rec.status in (AttendanceStatus.present, AttendanceStatus.late) and rec.method == "qr"
    outsider = factories.make_trainee(db, "outsider", world.ent_qd)
    with pytest.raises(Forbidden) as exc:
        checkin.check_in(db, outsider, sess, now)
    assert "已录取学员" in exc.value.message
    applied_only = factories.make_trainee(db, "pending", world.ent_qd)
    enrolment.apply(db, applied_only, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    with pytest.raises(Forbidden):
        checkin.check_in(db, applied_only, sess, now)


def test_check_in_outside_the_window_is_refused(db, world):
    klass = cs.training_class(db, world, sessions=1)
    user, _e = cs.admitted(db, world, klass, "early")
    sess = klass.sessions[0]
    with pytest.raises(DomainError) as exc:
        checkin.check_in(db, user, sess, sess.starts_at - dt.timedelta(hours=2))
    assert "签到时间" in exc.value.message
    rec, _ = checkin.check_in(db, user, sess, sess.starts_at + dt.timedelta(minutes=20))
    assert rec.status == AttendanceStatus.late


def test_manual_marking_needs_a_reason_and_the_owning_institution(db, world):
    klass, sess = _running_class(db, world)
    user, e = cs.admitted(db, world, klass, "phonedead")
    with pytest.raises(ValidationFailed) as exc:
        checkin.mark(db, world.staff_nt, sess, e, "present", "", utcnow())
    assert "原因" in exc.value.errors["reason"]
    with pytest.raises(ValidationFailed):
        checkin.mark(db, world.staff_nt, sess, e, "sleeping", "现场核实", utcnow())
    with pytest.raises(Forbidden):
        checkin.mark(db, world.staff_fj, sess, e, "present", "现场核实", utcnow())
    rec = checkin.mark(db, world.staff_nt, sess, e, "present", "手机没电，现场核实", utcnow())
    assert rec.method == "manual" and rec.reason == "手机没电，现场核实"
    rec2 = checkin.mark(db, world.staff_nt, sess, e, "excused", "下午请假", utcnow())
    assert rec2.id == rec.id and rec2.status == AttendanceStatus.excused


def _sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["用户名", "姓名", "状态", "原因"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_import_is_all_or_nothing_with_row_and_column(db, world):
    klass, sess = _running_class(db, world)
    u1, e1 = cs.admitted(db, world, klass, "imp1")
    u2, e2 = cs.admitted(db, world, klass, "imp2")
    bad = _sheet([["imp1", "", "出勤", ""], ["imp2", "", "睡觉", ""], ["nobody", "", "出勤", ""]])
    with pytest.raises(ValidationFailed) as exc:
        checkin.import_sheet(db, world.staff_nt, sess, bad, utcnow())
    msg = exc.value.errors["file"]
    assert "第 3 行「状态」列" in msg and "第 4 行「用户名」列" in msg
    assert db.scalar(select(func.count(AttendanceRecord.id)).where(AttendanceRecord.session_id == sess.id)) == 0
    good = _sheet([["imp1", "", "出勤", ""], ["imp2", "", "请假", "病假条"]])
    assert checkin.import_sheet(db, world.staff_nt, sess, good, utcnow()) == 2
    recs = {r.enrollment_id: r for r in db.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == sess.id))}
    assert recs[e1.id].status == AttendanceStatus.present and recs[e1.id].method == "import"
    assert recs[e2.id].status == AttendanceStatus.excused and recs[e2.id].reason == "病假条"
    with pytest.raises(ValidationFailed) as exc:
        checkin.import_sheet(db, world.staff_nt, sess, b"%PDF-1.4 not a workbook", utcnow())
    assert ".xlsx" in exc.value.errors["file"]
    # the template round-trips
    assert checkin.import_sheet(db, world.staff_nt, sess, checkin.template_workbook(db, sess), utcnow()) == 2


def test_one_device_checking_in_two_people_is_flagged(db, world):
    klass, sess = _running_class(db, world)
    users = [cs.admitted(db, world, klass, f"dev{i}")[0] for i in range(3)]
    now = utcnow()
    checkin.check_in(db, users[0], sess, now, device_hash="phoneA", address_hash="wifi")
    checkin.check_in(db, users[1], sess, now, device_hash="phoneA", address_hash="wifi")
    checkin.check_in(db, users[2], sess, now, device_hash="phoneB", address_hash="wifi")
    rows = queries.live_list(db, sess)
    flagged = [r for r in rows if r.device_flag]
    assert len(rows) == 3 and len(flagged) == 2 and not any(r.address_flag for r in rows)  # 3 on one Wi-Fi is normal
    assert checkin.fingerprint(KEY, "10.0.0.1") != "10.0.0.1" and len(checkin.fingerprint(KEY, "10.0.0.1")) == 64


def test_rates_so_far_and_overall_and_the_completion_rules(db, world):
    klass = cs.training_class(db, world, start=today_local(), sessions=0)
    past = services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=today_local(), start_time=dt.time(0, 0), end_time=dt.time(0, 1), place="", topic="早课", course_id=None,
        hours=2))
    services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=klass.end_date, start_time=dt.time(9), end_time=dt.time(11), place="", topic="最后", course_id=None, hours=2))
    user, e = cs.admitted(db, world, klass, "rated")
    checkin.mark(db, world.staff_nt, past, e, "present", "现场核实", utcnow())
    r = rates(db, e, utcnow())
    assert r.so_far == 1.0 and r.overall == 0.5
    results = {x.code: x for x in completion.check(db, e)}
    assert not results["attendance"].met and "50%" in results["attendance"].detail and "80%" in results["attendance"].detail
    assert not results["lessons"].met and "0 / 2" in results["lessons"].detail
    for les in klass.programme.required_courses[0].lessons:
        services.record_progress(db, user, les, utcnow(), completed=True)
    assert completion_rules.lessons_rule(db, e).met


def test_racing_check_ins_of_one_trainee_make_one_record_and_one_audit_event(db, world):
    from lms.auth.models import AuditEvent

    klass, sess = _running_class(db, world)
    user, _e = cs.admitted(db, world, klass, "racer")
    now = utcnow()
    # Two phones (or a double tap on a slow network): both requests read "no record yet" before either
    # writes. The insert itself must be the guard, not the read.
    first = checkin.prepare_check_in(db, user, sess, now)
    second = checkin.prepare_check_in(db, user, sess, now)
    assert first.record is None and second.record is None
    rec1, created1 = checkin.record_check_in(db, user, sess, first, now, device_hash="phone1", address_hash="wifi")
    rec2, created2 = checkin.record_check_in(db, user, sess, second, now + dt.timedelta(seconds=1),
                                             device_hash="phone2", address_hash="wifi")
    assert created1 and not created2 and rec2 == rec1
    stored = list(db.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == sess.id)))
    assert len(stored) == 1 and stored[0].device_hash == "phone1" and stored[0].recorded_by_id == user.id
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "attendance.checkin",
                                                      AuditEvent.object_id == str(rec1.id))))
    assert len(events) == 1 and events[0].object_type == "AttendanceRecord" and events[0].actor_id == user.id
    # A later scan finds the record in the read half and writes nothing.
    again = checkin.prepare_check_in(db, user, sess, now + dt.timedelta(seconds=2))
    assert again.record == rec1


def test_both_rates_in_one_statement_agree_with_attendance_rate(db, world):
    klass = cs.training_class(db, world, start=today_local(), sessions=0)
    early = [services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=today_local(), start_time=dt.time(0, m), end_time=dt.time(0, m + 1), place="", topic=f"早课{m}",
        course_id=None, hours=h)) for m, h in ((0, 2), (2, 3), (4, 1.5))]
    later = services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=klass.end_date, start_time=dt.time(9), end_time=dt.time(11), place="", topic="最后", course_id=None,
        hours=2))
    user, e = cs.admitted(db, world, klass, "rate1")
    other, e2 = cs.admitted(db, world, klass, "rate2")
    now = utcnow()
    checkin.mark(db, world.staff_nt, early[0], e, "present", "现场核实", now)
    checkin.mark(db, world.staff_nt, early[1], e, "absent", "未到", now)
    checkin.mark(db, world.staff_nt, early[2], e, "late", "堵车", now)
    checkin.mark(db, world.staff_nt, early[1], e2, "present", "现场核实", now)  # someone else's record
    db.add(AttendanceRecord(session_id=later.id, enrollment_id=e2.id, status=AttendanceStatus.excused, method="manual"))
    db.flush()
    for enrollment in (e, e2):
        r = rates(db, enrollment, now)
        assert (r.so_far, r.overall) == (attendance_rate(db, enrollment, so_far=True, now=now),
                                         attendance_rate(db, enrollment, so_far=False, now=now))
    assert (rates(db, e, now).so_far, rates(db, e, now).overall) == (round(3.5 / 6.5, 4), round(3.5 / 8.5, 4))
    empty = cs.training_class(db, world, klass.programme, start=today_local(), sessions=0)
    _u, e3 = cs.admitted(db, world, empty, "rate3")
    r = rates(db, e3, now)
    assert (r.so_far, r.overall) == (1.0, 0.0) == (attendance_rate(db, e3, so_far=True, now=now),
                                                   attendance_rate(db, e3, so_far=False, now=now))
