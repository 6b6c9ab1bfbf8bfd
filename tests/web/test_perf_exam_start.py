"""Issue 20: the exam start's read phase is one statement on either database (it was ~8: the trainee's exams, the
exam, the open attempt, the enrolment, its class, the programme, two attendance sums, the attempts used), and the
admission it decides is the same rule as before (``exams.services.decide``)."""
import datetime as dt
import re

import pytest
from sqlalchemy import event

from exams import attempts
from exams.models import Attempt, AttemptStatus
from lms import db as lms_db
from tests import exam_factories as f
from tests.conftest import csrf_token
from tests.factories import make_trainee

LOGIN = re.compile(r"\b(user_sessions|users)\b")


@pytest.fixture
def setup(db, world):
    cls, bank, exam = f.open_exam_now(db, world, world.trainee)
    db.commit()
    return cls, bank, exam


class Statements:
    """Every statement on the engine, with whether it ran in the write phase (``lms.db._write_intent``)."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def _spy(self, conn, cursor, statement, params, context, executemany):
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", statement, re.I):
            self.seen.append((bool(lms_db._write_intent.get()), statement))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._spy)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._spy)

    def reads(self) -> list[str]:
        """The read phase's statements, the login's look-ups (the platform's) left out."""
        first_write = next((i for i, (w, _s) in enumerate(self.seen) if w), len(self.seen))
        return [s for _w, s in self.seen[:first_write] if not LOGIN.search(s.split(" FROM ", 1)[-1][:40])]

    def writes(self) -> list[str]:
        """The statements that wrote, the login's own bookkeeping (its session row's last use) left out."""
        return [s for _w, s in self.seen if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.I)
                and not re.match(r"\s*UPDATE user_sessions\b", s, re.I)]


def test_perf_exam_start_reads_in_one_statement(login_as, db, setup):
    cls, bank, exam = setup
    c = login_as("wangfang")
    token = csrf_token(c, "/exams/my")
    engine = db.get_bind().engine
    with Statements(engine) as st:
        resp = c.post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    assert resp.status_code == 302 and "/attempts/" in resp.headers["Location"], resp.data[:300]
    assert len(st.reads()) == 1, st.reads()
    assert st.writes()  # and then it wrote the attempt
    # Coming back to the running attempt: the same one statement, nothing written.
    with Statements(engine) as st:
        again = c.post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    assert again.headers["Location"] == resp.headers["Location"]
    assert len(st.reads()) == 1 and not st.writes(), st.seen


def test_perf_exam_start_refusals_read_once_and_say_why(login_as, db, world, setup):
    cls, bank, exam = setup
    f.add_session(db, cls, attempts.utcnow() - dt.timedelta(days=1))  # held, absent: attendance 0 % < 80 %
    db.commit()
    c = login_as("wangfang")
    token = csrf_token(c, "/exams/my")
    with Statements(db.get_bind().engine) as st:
        resp = c.post(f"/exams/{exam.id}/start", data={"csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/exams/my")
    assert len(st.reads()) == 1 and not st.writes(), st.seen
    assert db.query(Attempt).filter_by(exam_id=exam.id).count() == 0
    assert "出勤率 0%" in c.get("/exams/my").get_data(as_text=True)


def test_perf_exam_start_someone_elses_exam_is_404_as_before(login_as, db, world, setup):
    cls, bank, exam = setup
    make_trainee(db, "perf_other", world.ent_rg)  # approved nowhere
    db.commit()
    c = login_as("perf_other")
    token = csrf_token(c, "/exams/my")
    assert c.post(f"/exams/{exam.id}/start", data={"csrf_token": token}).status_code == 404
    assert c.post("/exams/999999/start", data={"csrf_token": token}).status_code == 404


def test_perf_exam_start_plan_is_one_statement_and_resumes(db, world, setup):
    """The service: ``plan_start`` reads once whatever it decides (new, resume, expired open attempt)."""
    cls, bank, exam = setup
    engine = db.get_bind().engine
    now = attempts.utcnow()
    with Statements(engine) as st:
        plan = attempts.plan_start(db, world.trainee, exam, now)
    assert isinstance(plan, attempts.StartPlan) and plan.number == 1 and len(st.seen) == 1
    att = attempts.begin_attempt(db, world.trainee, exam, plan, now)
    db.flush()
    with Statements(engine) as st:
        assert attempts.plan_start(db, world.trainee, exam, now) is att
    assert len(st.seen) == 1
    later = now + dt.timedelta(minutes=exam.duration_minutes + 5)
    with Statements(engine) as st:
        plan = attempts.plan_start(db, world.trainee, exam, later)
    assert plan.expire_id == att.id and plan.number == 2 and len(st.seen) == 1
    assert att.status == AttemptStatus.open


def test_perf_exam_start_read_uses_indexes(db, world, setup):
    """The one statement reads by keys: no table of the start's is scanned whole (SQLite's plan; PostgreSQL's
    planner may scan the tiny test tables, so there the statement count above is the check)."""
    cls, bank, exam = setup
    if db.get_bind().dialect.name != "sqlite":
        return
    from exams.services import read_facts

    caught = []
    spy = lambda conn, cursor, statement, params, context, executemany: caught.append((statement, params))  # noqa: E731
    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        read_facts(db, world.trainee.id, exam.id, attempts.utcnow())
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    statement, params = caught[-1]  # (after the test session's own pending flush, if any)
    cursor = db.connection().connection.driver_connection.cursor()
    plan = cursor.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
    scans = [r[-1] for r in plan if r[-1].startswith("SCAN ") and "USING" not in r[-1]]
    assert plan and not [s for s in scans if any(t in s for t in ("attempts", "enrollments", "attendance", "class_sessions"))], plan
