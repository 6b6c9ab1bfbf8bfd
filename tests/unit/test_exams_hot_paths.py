"""The exam's hot paths by id (autosave and submit run without loading the attempt through the ORM): they keep
every rule of the object-based calls — ownership (a 404 that is audited), a question on this paper only,
sequence numbers, the server's deadline, grading once with the effective pass mark."""
import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from exams import attempts
from exams.models import Answer, Attempt, AttemptStatus, ExamResult, QuestionType
from lms.auth.models import AuditEvent
from lms.errors import Conflict, NotFound, ValidationFailed
from tests import exam_factories as f
from tests.exam_factories import NOW


@pytest.fixture
def setup(db, world):
    prog = f.make_programme(db, world.jiangsu, pass_mark=90)
    cls = f.make_class(db, world.inst_nt, prog)
    f.enrol(db, cls, world.trainee)
    bank = f.make_bank(db, world.staff_nt)
    exam = f.make_exam(db, world.staff_nt, cls, bank)
    return exam


def test_save_by_id_checks_owner_paper_sequence_and_deadline(db, world, setup):
    att = attempts.start_attempt(db, world.trainee, setup, NOW)
    aid, single = att.id, att.questions[0]
    r = attempts.save_answer(db, world.trainee, aid, single.id, selected=[single.options[0]["id"]], seq=3, now=NOW)
    assert r.saved and r.seq == 3 and r.deadline == att.deadline_at
    # The same save again (a retry of a request whose answer was lost) is acknowledged as saved ...
    assert attempts.save_answer(db, world.trainee, aid, single.id, selected=[single.options[0]["id"]], seq=3, now=NOW).saved
    # ... a different answer with the same or a lower number loses, and the stored answer comes back.
    lost = attempts.save_answer(db, world.trainee, aid, single.id, selected=[single.options[1]["id"]], seq=3, now=NOW)
    assert not lost.saved and lost.selected == [single.options[0]["id"]] and lost.seq == 3
    with pytest.raises(ValidationFailed):
        attempts.save_answer(db, world.trainee, aid, single.id + 10_000, selected=["A"], seq=4, now=NOW)
    with pytest.raises(ValidationFailed):
        attempts.save_answer(db, world.trainee, aid, single.id, selected=["A"], seq=0, now=NOW)
    with pytest.raises(NotFound):
        attempts.save_answer(db, world.trainee_fz, aid, single.id, selected=["A"], seq=4, now=NOW)
    assert db.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "access_denied", AuditEvent.object_type == "Attempt", AuditEvent.object_id == str(aid)))
    with pytest.raises(NotFound):
        attempts.save_answer(db, world.trainee, aid + 10_000, single.id, selected=["A"], seq=4, now=NOW)
    with pytest.raises(Conflict) as exc:
        attempts.save_answer(db, world.trainee, aid, single.id, selected=["A"], seq=4,
                             now=att.deadline_at + attempts.GRACE + dt.timedelta(seconds=1))
    assert "时间已到" in exc.value.message
    stored = db.scalar(select(Answer).where(Answer.attempt_id == aid, Answer.attempt_question_id == single.id))
    assert stored.seq == 3


def test_submit_by_id_grades_once_with_the_programmes_pass_mark(db, world, setup):
    att = attempts.start_attempt(db, world.trainee, setup, NOW)
    aid = att.id
    multi = [aq for aq in att.questions if aq.type == QuestionType.multiple]
    for aq in att.questions:
        if aq is not multi[0]:
            attempts.save_answer(db, world.trainee, aid, aq.id, selected=aq.answer, seq=1, now=NOW)
    attempts.save_answer(db, world.trainee, aid, multi[0].id, selected=multi[0].answer[:2], seq=1, now=NOW)  # 2 of 3
    with pytest.raises(NotFound):
        attempts.submit(db, world.trainee_fz, aid, NOW)
    assert attempts.submit(db, world.trainee, aid, NOW + dt.timedelta(minutes=5)) == aid
    attempts.submit(db, world.trainee, aid, NOW + dt.timedelta(minutes=6))  # again: nothing changes
    db.refresh(att)
    assert att.status == AttemptStatus.submitted and att.finished_at == NOW + dt.timedelta(minutes=5)
    # 2×10 + 20 + 13.33 + 2×10 of 80: 91.7 ≥ the programme's 90 (the exam has no pass mark of its own)
    assert att.grading_complete and att.points == 73.33 and att.max_points == 80 and att.score == 91.7 and att.passed
    points = dict(db.execute(select(Answer.attempt_question_id, Answer.points).where(Answer.attempt_id == aid)).all())
    assert points[multi[0].id] == 13.33 and points[multi[1].id] == 20
    results = list(db.scalars(select(ExamResult).where(ExamResult.attempt_id == aid)))
    assert len(results) == 1 and results[0].score == 91.7 and results[0].passed and results[0].taken_at == att.finished_at
    with pytest.raises(Conflict):
        attempts.save_answer(db, world.trainee, aid, multi[0].id, selected=multi[0].answer, seq=2, now=NOW)


def test_late_submit_by_id_closes_as_expired_at_the_deadline(db, world, setup):
    att = attempts.start_attempt(db, world.trainee, setup, NOW)
    aq = att.questions[0]
    attempts.save_answer(db, world.trainee, att.id, aq.id, selected=aq.answer, seq=1, now=NOW)
    attempts.submit(db, world.trainee, att.id, att.deadline_at + attempts.GRACE + dt.timedelta(seconds=1))
    db.refresh(att)
    assert att.status == AttemptStatus.expired and att.finished_at == att.deadline_at
    assert att.points == 10 and att.score == 12.5 and not att.passed
    assert db.scalar(select(func.count(ExamResult.id)).where(ExamResult.attempt_id == att.id)) == 1
    assert db.get(Attempt, att.id).grading_complete


def _paper(db, attempt_id):
    from exams.models import AttemptQuestion

    return [(q.question_id, q.position, [o["id"] for o in q.options], q.points) for q in db.scalars(
        select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt_id).order_by(AttemptQuestion.position))]


def _prepared(db, exam_id):
    from exams.models import PreparedPaper

    return list(db.scalars(select(PreparedPaper).where(PreparedPaper.exam_id == exam_id).order_by(PreparedPaper.id)))


def test_papers_prepared_ahead_are_taken_once_by_starts(db, world, setup):
    from exams import jobs
    from exams.models import PreparedQuestion

    exam = setup
    now = attempts.utcnow()
    exam.opens_at, exam.closes_at = now - dt.timedelta(hours=1), now + dt.timedelta(days=1)
    db.flush()
    assert jobs.prepare_papers(db, now) == {"prepared": 1, "purged": 0}  # one admitted trainee, not started
    assert jobs.prepare_papers(db, now) == {"prepared": 0, "purged": 0}  # idempotent
    paper, = _prepared(db, exam.id)
    expected = [(q.question_id, q.position, [o["id"] for o in q.options], q.points) for q in db.scalars(
        select(PreparedQuestion).where(PreparedQuestion.paper_id == paper.id).order_by(PreparedQuestion.position))]
    assert [t for t in expected] and paper.max_points == 80
    att = attempts.start_attempt(db, world.trainee, exam, now)
    assert _paper(db, att.id) == expected and att.max_points == 80 and len(att.questions) == 6
    db.refresh(paper)
    assert paper.attempt_id == att.id
    # Resuming takes nothing more; the job deletes the taken paper and prepares none (the trainee started).
    assert attempts.start_attempt(db, world.trainee, exam, now).id == att.id
    assert jobs.prepare_papers(db, now) == {"prepared": 0, "purged": 1}
    assert not _prepared(db, exam.id)
    assert _paper(db, att.id) == expected  # the attempt keeps its copy
    # Papers of an exam that has closed are deleted, not kept for starts that cannot come.
    from exams import papers

    papers.prepare_papers(db, exam, 2)
    assert jobs.prepare_papers(db, exam.closes_at + dt.timedelta(seconds=1)) == {"prepared": 0, "purged": 2}


def test_prepared_papers_are_discarded_when_their_questions_or_the_blueprint_change(db, world, setup):
    from exams import banks, papers
    from exams.models import PreparedQuestion, Question

    exam = setup
    # A seeded draw: with a random one, all four papers carry the question 1 time in 27 and none would be left.
    assert papers.prepare_papers(db, exam, 4, random.Random(2)) == 4
    qid = db.scalar(select(PreparedQuestion.question_id).where(
        PreparedQuestion.paper_id == _prepared(db, exam.id)[0].id))
    carrying = set(db.scalars(select(PreparedQuestion.paper_id).where(PreparedQuestion.question_id == qid)))
    banks.deactivate_question(db, world.staff_nt, db.get(Question, qid))
    left = {p.id for p in _prepared(db, exam.id)}
    assert left and not left & carrying
    assert not db.scalar(select(func.count(PreparedQuestion.id)).where(PreparedQuestion.question_id == qid))
    papers.add_section(db, world.staff_nt, exam, papers.SectionData(exam.sections[0].bank_id, "true_false", 1, 5))
    assert not _prepared(db, exam.id)
    papers.prepare_papers(db, exam, 1)
    data = papers.ExamData(title=exam.title, class_id=exam.class_id, programme_id=None, opens_at=exam.opens_at,
                           closes_at=exam.closes_at, duration_minutes=exam.duration_minutes,
                           attempts_allowed=exam.attempts_allowed, shuffle=not exam.shuffle)
    papers.save_exam(db, world.staff_nt, data, exam)
    assert not _prepared(db, exam.id)
