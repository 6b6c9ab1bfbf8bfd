"""The autosave checks the login inside its guard statement (issue 20) instead of loading the user: it must
accept exactly the requests the loaded path accepted — a live session of the trainee who owns the open attempt,
with the CSRF header — and refuse the rest as before; and it stays two statements in one write transaction."""
import datetime as dt
import json
import re

import pytest
from sqlalchemy import event, func, select, update

from exams import attempts
from exams.models import Answer, Attempt
from lms.auth.models import AuditEvent, User, UserSession
from tests import exam_factories as f
from tests.conftest import csrf_token, login

TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


@pytest.fixture
def sitting(app, db, world, login_as):
    """wangfang signed in, with an open attempt: (client, CSRF token, attempt id, a question)."""
    cls, bank, exam = f.open_exam_now(db, world, world.trainee, world.trainee_fz)
    db.commit()
    c = login_as("wangfang")
    token = csrf_token(c, "/exams/my")
    resp = c.post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    aid = int(re.search(r"/attempts/(\d+)", resp.headers["Location"]).group(1))
    aq = db.get(Attempt, aid).questions[0]
    return c, token, aid, aq


def _save(c, token, aid, aq, seq, **headers):
    return c.post(f"/exams/attempts/{aid}/answer", content_type="application/json",
                  data=json.dumps({"question": aq.id, "selected": aq.answer[:1], "seq": seq}),
                  headers={"X-CSRFToken": token, "Accept": "application/json", **headers})


def _stored_seq(db, aid, aq):
    db.expire_all()
    return db.scalar(select(Answer.seq).where(Answer.attempt_id == aid, Answer.attempt_question_id == aq.id))


def _login_session(db, user_id):
    return db.scalar(select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None)))


def test_exams_autosave_is_two_statements_without_loading_the_user(app, db, world, sitting):
    c, token, aid, aq = sitting
    engine = db.get_bind().engine
    seen = []

    def spy(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        r = _save(c, token, aid, aq, 1)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert r.status_code == 200 and r.json["saved"] and r.json["seq"] == 1
    stmts = [s for s in seen if not TRANSACTION_CONTROL.match(s)]
    assert len(stmts) == 2, stmts  # the guard (login, owner, open, the question), the upsert
    assert stmts[0].lstrip().startswith("UPDATE") and "user_sessions" in stmts[0] and "users" in stmts[0]
    assert not any(s.lstrip().startswith("SELECT") for s in stmts)
    assert _stored_seq(db, aid, aq) == 1
    # The same save again is acknowledged; another answer with the same number loses and gets the stored one
    # back; a number out of range is refused (422) — the service's rules, as on the loaded path.
    assert _save(c, token, aid, aq, 1).json["saved"]
    other = [o["id"] for o in aq.options if o["id"] not in aq.answer[:1]][:1]
    lost = c.post(f"/exams/attempts/{aid}/answer", content_type="application/json",
                  data=json.dumps({"question": aq.id, "selected": other, "seq": 1}),
                  headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert lost.status_code == 200 and not lost.json["saved"] and lost.json["selected"] == aq.answer[:1]
    assert _save(c, token, aid, aq, 0).status_code == 422 and _stored_seq(db, aid, aq) == 1


def test_exams_autosave_refuses_without_csrf_or_login(app, db, world, sitting):
    c, token, aid, aq = sitting
    assert _save(c, "not-the-token", aid, aq, 1).status_code == 400  # CSRF still checked first
    anon = app.test_client()
    r = anon.post(f"/exams/attempts/{aid}/answer", content_type="application/json",
                  data=json.dumps({"question": aq.id, "selected": aq.answer[:1], "seq": 2}))
    assert r.status_code in (302, 400, 401)
    assert _stored_seq(db, aid, aq) is None


@pytest.mark.parametrize("change", ["ended", "idle", "too_old", "disabled"])
def test_exams_autosave_refuses_a_dead_login(app, db, world, sitting, change):
    """The session loader's rule, applied by the guard: an ended, idle or too old login, or a disabled account,
    saves nothing and goes to the login page as before."""
    c, token, aid, aq = sitting
    row = _login_session(db, world.trainee.id)
    now = attempts.utcnow()
    cfg = app.config
    values = {"ended": {"ended_at": now},
              "idle": {"last_seen_at": now - dt.timedelta(seconds=cfg["SESSION_IDLE_SECONDS"] + 60)},
              "too_old": {"created_at": now - dt.timedelta(seconds=cfg["SESSION_ABSOLUTE_SECONDS"] + 60)}}.get(change)
    if values:
        db.execute(update(UserSession).where(UserSession.id == row.id).values(**values))
    else:
        db.execute(update(User).where(User.id == world.trainee.id).values(is_enabled=False))
    db.commit()
    r = _save(c, token, aid, aq, 1)
    assert r.status_code in (302, 401) and "/auth/login" in r.headers.get("Location", "/auth/login")
    assert _stored_seq(db, aid, aq) is None


def test_exams_autosave_refuses_another_trainees_attempt_and_staff(app, db, world, sitting):
    c, token, aid, aq = sitting
    other = app.test_client()
    login(other, "linfz")
    r = _save(other, csrf_token(other, "/exams/my"), aid, aq, 5)
    assert r.status_code == 404
    assert db.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "access_denied", AuditEvent.object_type == "Attempt", AuditEvent.object_id == str(aid)))
    staff = app.test_client()
    login(staff, "nt_staff")
    assert _save(staff, csrf_token(staff, "/exams/manage"), aid, aq, 5).status_code == 403
    assert _stored_seq(db, aid, aq) is None


def test_exams_autosave_notes_the_login_as_used_when_due_and_caps_the_body(app, db, world, sitting):
    c, token, aid, aq = sitting
    row = _login_session(db, world.trainee.id)
    recent = attempts.utcnow() - dt.timedelta(minutes=1)
    db.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=recent))
    db.commit()
    assert _save(c, token, aid, aq, 1).json["saved"]
    db.expire_all()
    assert db.get(UserSession, row.id).last_seen_at == recent  # not due: no write
    due = attempts.utcnow() - dt.timedelta(minutes=30)  # within the idle time-out, past the 5-minute granularity
    db.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=due))
    db.commit()
    assert _save(c, token, aid, aq, 2).json["saved"]
    db.expire_all()
    assert db.get(UserSession, row.id).last_seen_at > due + dt.timedelta(minutes=25)
    big = c.post(f"/exams/attempts/{aid}/answer", content_type="application/json",
                 data=json.dumps({"question": aq.id, "text": "质" * 40_000, "seq": 3}),
                 headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert big.status_code == 413 and _stored_seq(db, aid, aq) == 2


@pytest.fixture
def before_start(app, db, world, login_as):
    cls, bank, exam = f.open_exam_now(db, world, world.trainee)
    db.commit()
    c = login_as("wangfang")
    return c, csrf_token(c, "/exams/my"), exam


def _attempts_of(db, exam):
    db.expire_all()
    return db.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id))


@pytest.mark.parametrize("change", ["idle", "disabled", "none"])
def test_exams_start_checks_the_login_with_one_statement(app, db, world, before_start, change):
    """The start reads the login with one Core statement (the session loader's rule) instead of loading the
    user: a dead login starts nothing and goes to the login page; a live one starts, noting the login's use."""
    c, token, exam = before_start
    row = _login_session(db, world.trainee.id)
    now = attempts.utcnow()
    if change == "idle":
        db.execute(update(UserSession).where(UserSession.id == row.id).values(
            last_seen_at=now - dt.timedelta(seconds=app.config["SESSION_IDLE_SECONDS"] + 60)))
    elif change == "disabled":
        db.execute(update(User).where(User.id == world.trainee.id).values(is_enabled=False))
    else:
        db.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now - dt.timedelta(minutes=30)))
    db.commit()
    resp = c.post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    if change != "none":
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
        assert _attempts_of(db, exam) == 0
        return
    assert resp.status_code == 302 and "/exams/attempts/" in resp.headers["Location"]
    assert _attempts_of(db, exam) == 1
    assert db.get(UserSession, row.id).last_seen_at > now - dt.timedelta(minutes=5)  # noted as used (was due)


def test_exams_start_by_staff_is_403_and_not_theirs_is_404(app, db, world, before_start):
    c, token, exam = before_start
    staff = app.test_client()
    login(staff, "nt_staff")
    assert staff.post(f"/exams/{exam.id}/start", data={"csrf_token": csrf_token(staff, "/exams/manage")}).status_code == 403
    other = app.test_client()
    login(other, "linfz")  # a trainee not enrolled in the exam's class
    assert other.post(f"/exams/{exam.id}/start", data={"csrf_token": csrf_token(other, "/exams/my")}).status_code == 404
    assert db.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "access_denied", AuditEvent.object_type == "Exam", AuditEvent.object_id == str(exam.id)))
    assert _attempts_of(db, exam) == 0


def test_exams_autosave_under_strong_session_protection_loads_the_user(app, db, world, sitting, monkeypatch):
    """Flask-Login's "strong" protection may end a login whose address or browser changed, and only its loader
    does that: then the save takes the loaded path (the login read first), and still saves."""
    c, token, aid, aq = sitting
    monkeypatch.setitem(app.config, "SESSION_PROTECTION", "strong")
    engine = db.get_bind().engine
    seen = []
    spy = lambda conn, cursor, statement, params, context, executemany: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", spy)
    try:
        r = _save(c, token, aid, aq, 1)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert r.status_code == 200 and r.json["saved"]
    assert any(s.lstrip().startswith("SELECT") and "user_sessions" in s for s in seen), seen
