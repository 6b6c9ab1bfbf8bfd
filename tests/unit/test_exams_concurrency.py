"""Concurrency on a real database file (or a fresh PostgreSQL database): every thread has its own
connection and transaction, as concurrent requests do. The ``db`` fixture's single rolled-back connection
cannot show these races, so this module builds its own database."""
import random
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exams import attempts
from exams.models import Answer, Attempt, AttemptStatus, ExamResult
from lms.auth.models import User
from lms.db import Base, make_engine, utcnow, write_phase
from lms.features import import_models
from tests import dbutil
from tests import exam_factories as f
from tests.factories import World, make_trainee


@pytest.fixture(scope="module")
def env(app, database_url, tmp_dir):
    # The suite's app gives the threads an app context (translations); the data lives in a database of its
    # own, reached through an engine of its own (a second app would re-point the shared ``lms.db.db``).
    url = dbutil.fresh_url(database_url, "exams_concurrency", tmp_dir)
    import_models()
    engine = make_engine(url, pool_size=25, max_overflow=10)
    Base.metadata.create_all(engine)
    now = utcnow()
    with app.app_context(), Session(engine, expire_on_commit=False) as s:
        world = World.build(s)
        prog = f.make_programme(s, world.jiangsu)
        cls = f.make_class(s, world.inst_nt, prog)
        f.enrol(s, cls, world.trainee)
        extra = make_trainee(s, "racer", world.ent_qd)
        f.enrol(s, cls, extra)
        bank = f.make_bank(s, world.staff_nt)
        exam = f.make_exam(s, world.staff_nt, cls, bank, now=now)
        exam2 = f.make_exam(s, world.staff_nt, cls, bank, now=now)
        s.commit()
        exam3 = f.make_exam(s, world.staff_nt, cls, bank, now=now)
        s.commit()
        ids = {"trainee": world.trainee.id, "racer": extra.id, "exam": exam.id, "exam2": exam2.id, "exam3": exam3.id}
    yield app, engine, ids
    engine.dispose()


def _run(app, n, fn):
    barrier = threading.Barrier(n)
    errors = []

    def worker(i):
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                fn(i)
        except Exception as exc:  # collected and reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_starts_make_one_attempt(env):
    app, engine, ids = env

    def start(i):
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, ids["racer"])
            from exams.models import Exam

            exam = s.get(Exam, ids["exam2"])
            write_phase(s, lambda: attempts.start_attempt(s, user, exam))

    assert _run(app, 10, start) == []
    with Session(engine) as s:
        assert s.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == ids["exam2"])) == 1


def test_concurrent_answers_keep_the_newest_and_twenty_submissions_grade_once(env):
    app, engine, ids = env
    from exams.models import Exam

    with app.app_context(), Session(engine, expire_on_commit=False) as s:
        user = s.get(User, ids["trainee"])
        att = attempts.start_attempt(s, user, s.get(Exam, ids["exam"]))
        s.commit()
        aid = att.id
        questions = [(aq.id, [o["id"] for o in aq.options], aq.type.value) for aq in att.questions]
    qid, options, _type = questions[0]
    order = list(range(1, 21))
    random.Random(7).shuffle(order)

    def write(i):
        seq = order[i]
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, ids["trainee"])
            a = s.get(Attempt, aid)
            write_phase(s, lambda: attempts.save_answer(s, user, a, qid, selected=[options[seq % len(options)]], seq=seq))

    assert _run(app, 20, write) == []
    with Session(engine) as s:
        row = s.scalar(select(Answer).where(Answer.attempt_id == aid, Answer.attempt_question_id == qid))
        assert row.seq == 20 and row.selected == [options[20 % len(options)]]

    def submit(i):
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, ids["trainee"])
            a = s.get(Attempt, aid)
            write_phase(s, lambda: attempts.submit(s, user, a))

    assert _run(app, 20, submit) == []
    with Session(engine) as s:
        att = s.get(Attempt, aid)
        assert att.status == AttemptStatus.submitted and att.grading_complete
        assert s.scalar(select(func.count(ExamResult.id)).where(ExamResult.attempt_id == aid)) == 1
        assert s.scalar(select(func.count(ExamResult.id)).where(ExamResult.exam_id == ids["exam"])) == 1


def test_saves_and_submits_by_id_racing_grade_every_accepted_answer_once(env):
    """Autosaves and submits by attempt id (the requests' Core paths) at the same moment: one submit closes and
    grades; every save is either refused (closed) or stored before the close and then graded."""
    app, engine, ids = env
    from exams.models import Exam

    with app.app_context(), Session(engine, expire_on_commit=False) as s:
        user = s.get(User, ids["trainee"])
        att = attempts.start_attempt(s, user, s.get(Exam, ids["exam2"]))
        s.commit()
        aid = att.id
        questions = [(aq.id, aq.answer) for aq in att.questions]
    accepted, refused = [], []

    def act(i):
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, ids["trainee"])
            if i % 2:
                write_phase(s, lambda: attempts.submit(s, user, aid))
                return
            qid, answer = questions[(i // 2) % len(questions)]
            try:
                write_phase(s, lambda: attempts.save_answer(s, user, aid, qid, selected=answer, seq=i + 1))
                accepted.append(qid)
            except attempts.Conflict:
                refused.append(qid)

    assert _run(app, 20, act) == []
    assert len(accepted) + len(refused) == 10
    with Session(engine) as s:
        att = s.get(Attempt, aid)
        assert att.status == AttemptStatus.submitted and att.grading_complete
        assert s.scalar(select(func.count(ExamResult.id)).where(ExamResult.attempt_id == aid)) == 1
        stored = {a.attempt_question_id: a for a in s.scalars(select(Answer).where(Answer.attempt_id == aid))}
        assert set(accepted) <= set(stored) and all(a.points is not None for a in stored.values())
        assert att.points == round(sum(a.points for a in stored.values()), 2)


def test_concurrent_starts_take_a_prepared_paper_once(env):
    """Two trainees, five tabs each, start at once while one prepared paper waits: one attempt each, the paper
    taken by exactly one of them (copied whole), the other drawn afresh."""
    app, engine, ids = env
    from exams import papers
    from exams.models import AttemptQuestion, Exam, PreparedPaper, PreparedQuestion

    with app.app_context(), Session(engine, expire_on_commit=False) as s:
        papers.prepare_papers(s, s.get(Exam, ids["exam3"]), 1)
        s.commit()

    def start(i):
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, ids["trainee" if i % 2 else "racer"])
            exam = s.get(Exam, ids["exam3"])
            write_phase(s, lambda: attempts.start_attempt(s, user, exam))

    assert _run(app, 10, start) == []
    with Session(engine) as s:
        per_user = dict(s.execute(select(Attempt.user_id, func.count(Attempt.id)).where(Attempt.exam_id == ids["exam3"])
                                  .group_by(Attempt.user_id)).all())
        assert per_user == {ids["trainee"]: 1, ids["racer"]: 1}
        paper, = s.scalars(select(PreparedPaper).where(PreparedPaper.exam_id == ids["exam3"]))
        assert paper.attempt_id in set(s.scalars(select(Attempt.id).where(Attempt.exam_id == ids["exam3"])))
        copied = list(s.execute(select(AttemptQuestion.question_id, AttemptQuestion.options).where(
            AttemptQuestion.attempt_id == paper.attempt_id).order_by(AttemptQuestion.position)))
        prepared = list(s.execute(select(PreparedQuestion.question_id, PreparedQuestion.options).where(
            PreparedQuestion.paper_id == paper.id).order_by(PreparedQuestion.position)))
        assert copied == prepared and len(copied) == 6
        for aid in s.scalars(select(Attempt.id).where(Attempt.exam_id == ids["exam3"])):
            assert s.scalar(select(func.count(AttemptQuestion.id)).where(AttemptQuestion.attempt_id == aid)) == 6
