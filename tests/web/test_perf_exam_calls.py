"""Issue 20: the exam's two hot requests, counted (never timed) — the Python calls a start and an autosave make
inside the application (cProfile's count of the WSGI call: deterministic) and their SQL statements. Before this
round, in this test on SQLite, a start made ~13,300 calls (its one read statement was built anew each time: ~40 %
of its CPU) and a save ~3,300 with 3 statements (the login loaded through the ORM in a read transaction of its
own); after it ~6,800 and ~2,400."""
import cProfile
import json
import pstats
import re

import pytest
from sqlalchemy import event

from exams.models import Attempt
from tests import exam_factories as f
from tests.conftest import csrf_token, login

TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)
# The paper is drawn on the spot here (no prepared paper); PostgreSQL's driver adds its own calls.
START_CALLS = {"sqlite": 8_000, "postgresql": 10_500}  # ~6,800 / ~8,800; 13,300 on SQLite before
SAVE_CALLS = {"sqlite": 2_900, "postgresql": 3_300}  # ~2,400 / ~2,700; 3,300 on SQLite before


class Counted:
    """Python calls inside ``app.wsgi_app`` and SQL statements on its engine, over the requests of a block."""

    def __init__(self, app):
        self.app, self.prof, self.requests, self.sql = app, cProfile.Profile(), 0, []
        self.engine = app.extensions["lms_db"].engine

    def _spy(self, conn, cursor, statement, params, context, executemany):
        if not TRANSACTION_CONTROL.match(statement):
            self.sql.append(statement)

    def __enter__(self):
        inner = self.inner = self.app.wsgi_app

        def wsgi(environ, start_response):
            self.requests += 1
            self.prof.enable()
            try:
                body = inner(environ, start_response)
                data = b"".join(body)
                if hasattr(body, "close"):
                    body.close()
            finally:
                self.prof.disable()
            return [data]

        self.app.wsgi_app = wsgi
        event.listen(self.engine, "before_cursor_execute", self._spy)
        return self

    def __exit__(self, *exc):
        self.app.wsgi_app = self.inner
        event.remove(self.engine, "before_cursor_execute", self._spy)

    def calls(self) -> float:
        return pstats.Stats(self.prof).total_calls / self.requests


@pytest.fixture
def exam(db, world):
    cls, bank, exam = f.open_exam_now(db, world, world.trainee, world.trainee_fz)
    db.commit()
    return exam


def _start(c, token, exam):
    resp = c.post(f"/exams/{exam.id}/start", data={"csrf_token": token})
    assert resp.status_code == 302 and "/attempts/" in resp.headers["Location"], resp.data[:300]
    return int(re.search(r"/attempts/(\d+)", resp.headers["Location"]).group(1))


def test_perf_exam_start_and_save_calls_and_statements(app, db, world, exam):
    dialect = db.get_bind().dialect.name
    warm = app.test_client()
    login(warm, "linfz")
    _start(warm, csrf_token(warm, "/exams/my"), exam)  # the process's first start: whatever is cached once
    c = app.test_client()
    login(c, "wangfang")
    token = csrf_token(c, "/exams/my")
    with Counted(app) as start:
        aid = _start(c, token, exam)
    # The login, the one read, then the prepared paper (or the draw), the attempt, the paper's copy.
    assert start.requests == 1 and start.calls() < START_CALLS[dialect], start.calls()
    assert not [s for s in start.sql if "exam_attempts" in s and s.lstrip().startswith("SELECT")][1:], start.sql
    assert not any("SAVEPOINT" in s for s in start.sql)
    # The login: one Core statement (the trainee's id and the session's last use), not the ORM load of both rows.
    login_reads = [s for s in start.sql if "user_sessions" in s]
    assert len(login_reads) == 1 and "user_agent" not in login_reads[0] and "password_hash" not in login_reads[0], start.sql
    questions = db.get(Attempt, aid).questions

    def save(aq, seq):
        r = c.post(f"/exams/attempts/{aid}/answer", content_type="application/json",
                   data=json.dumps({"question": aq.id, "selected": aq.answer[:1], "seq": seq}),
                   headers={"X-CSRFToken": token, "Accept": "application/json"})
        assert r.status_code == 200 and r.json["saved"], r.data[:300]

    for i, aq in enumerate(questions[:3]):
        save(aq, 1)
    with Counted(app) as saves:
        for seq in range(2, 12):
            save(questions[seq % len(questions)], seq)
    assert saves.requests == 10 and saves.calls() < SAVE_CALLS[dialect], saves.calls()
    assert len(saves.sql) == 2 * 10, saves.sql  # the guard with the login in it, the upsert: nothing else
