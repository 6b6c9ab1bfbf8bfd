"""Sitting an exam: admission, drawing, saving answers, finishing once, deadlines and the closing job."""
import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from exams import attempts, grading, jobs, queries, services
from exams.models import Answer, AttemptStatus, ExamResult, MultipleScoring, QuestionType
from lms.errors import Conflict, DomainError, NotFound, ValidationFailed
from tests import exam_factories as f
from tests.exam_factories import NOW


@pytest.fixture
def setup(db, world):
    prog = f.make_programme(db, world.jiangsu)
    cls = f.make_class(db, world.inst_nt, prog)
    enr = f.enrol(db, cls, world.trainee)
    bank = f.make_bank(db, world.staff_nt)
    exam = f.make_exam(db, world.staff_nt, cls, bank)
    return prog, cls, enr, bank, exam


def _choose_correct(db, world, att, now=NOW):
    for i, aq in enumerate(att.questions, start=1):
        attempts.save_answer(db, world.trainee, att, aq.id, selected=aq.answer, seq=1, now=now)


def test_admission_requires_approved_enrolment_and_attendance_so_far(db, world, setup):
    prog, cls, enr, bank, exam = setup
    assert services.admission(db, exam, world.trainee, NOW).allowed
    adm = services.admission(db, exam, world.trainee_fz, NOW)
    assert not adm.allowed and "录取" in adm.reason
    past = f.add_session(db, cls, NOW - dt.timedelta(days=2))
    f.add_session(db, cls, NOW + dt.timedelta(days=2))  # not yet held: does not count so far
    adm = services.admission(db, exam, world.trainee, NOW)
    assert not adm.allowed and "出勤率 0%" in adm.reason and "80%" in adm.reason
    f.attend(db, past, enr)
    assert services.admission(db, exam, world.trainee, NOW).allowed
    assert not services.admission(db, exam, world.trainee, exam.opens_at - dt.timedelta(minutes=1)).allowed
    assert "结束" in services.admission(db, exam, world.trainee, exam.closes_at).reason


def test_start_draws_a_fixed_shuffled_paper_and_resumes_it(db, world, setup):
    *_, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW, rng=random.Random(1))
    assert att.number == 1 and att.deadline_at == NOW + dt.timedelta(minutes=60)
    assert [aq.type for aq in att.questions] == [QuestionType.single] * 2 + [QuestionType.multiple] * 2 + [QuestionType.true_false] * 2
    assert len({aq.question_id for aq in att.questions}) == 6
    assert att.max_points == 2 * 10 + 2 * 20 + 2 * 10
    again = attempts.start_attempt(db, world.trainee, exam, NOW + dt.timedelta(minutes=5), rng=random.Random(99))
    assert again.id == att.id and [q.options for q in again.questions] == [q.options for q in att.questions]
    # Over many draws, option order differs from the bank's at least once (shuffled).
    orders = set()
    for seed in range(10):
        q, = [x for x in f.papers.draw_paper(db, exam, random.Random(seed))[:1]]
        orders.add(tuple(o["id"] for o in f.papers.shuffled_options(q[1], True, random.Random(seed))))
    assert len(orders) > 1


def test_deadline_is_the_earlier_of_duration_and_window_close(db, world, setup):
    prog, cls, enr, bank, _ = setup
    exam = f.make_exam(db, world.staff_nt, cls, bank, closes_at=NOW + dt.timedelta(minutes=20))
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    assert att.deadline_at == NOW + dt.timedelta(minutes=20)


def test_answers_are_validated_sequenced_and_refused_after_the_deadline(db, world, setup):
    *_, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    single = att.questions[0]
    multi = next(q for q in att.questions if q.type == QuestionType.multiple)
    with pytest.raises(ValidationFailed):
        attempts.save_answer(db, world.trainee, att, single.id, selected=["Z"], seq=1, now=NOW)
    with pytest.raises(ValidationFailed):
        attempts.save_answer(db, world.trainee, att, single.id, selected=["A", "B"], seq=1, now=NOW)
    other = f.make_exam(db, world.staff_nt, att.exam.training_class, att.exam.sections[0].bank)
    other_att = attempts.start_attempt(db, world.trainee, other, NOW)
    with pytest.raises(ValidationFailed) as exc:
        attempts.save_answer(db, world.trainee, att, other_att.questions[0].id, selected=["A"], seq=1, now=NOW)
    assert "不在您的试卷上" in exc.value.errors["question"]
    with pytest.raises(NotFound):
        attempts.save_answer(db, world.trainee_fz, att, single.id, selected=["A"], seq=1, now=NOW)

    r = attempts.save_answer(db, world.trainee, att, multi.id, selected=["A", "B"], seq=2, now=NOW)
    assert r.saved and r.seq == 2
    stale = attempts.save_answer(db, world.trainee, att, multi.id, selected=["C"], seq=1, now=NOW)
    assert not stale.saved and stale.selected == ["A", "B"] and stale.seq == 2
    assert attempts.save_answer(db, world.trainee, att, multi.id, selected=["B", "A", "D"], seq=3, now=NOW).selected == ["A", "B", "D"]

    grace_end = att.deadline_at + attempts.GRACE
    assert attempts.save_answer(db, world.trainee, att, single.id, selected=["A"], seq=1, now=grace_end).saved
    with pytest.raises(Conflict):
        attempts.save_answer(db, world.trainee, att, single.id, selected=["B"], seq=2, now=grace_end + dt.timedelta(seconds=1))
    assert attempts.GRACE <= dt.timedelta(seconds=60)


def test_submit_grades_once_and_closed_attempt_refuses_answers(db, world, setup):
    *_, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    _choose_correct(db, world, att)
    attempts.submit(db, world.trainee, att, NOW + dt.timedelta(minutes=10))
    assert att.status == AttemptStatus.submitted and att.grading_complete and att.score == 100 and att.passed
    assert not attempts.finish_attempt(db, att, now=NOW + dt.timedelta(minutes=11))
    attempts.submit(db, world.trainee, att, NOW + dt.timedelta(minutes=12))
    assert db.scalar(select(func.count(ExamResult.id)).where(ExamResult.attempt_id == att.id)) == 1
    with pytest.raises(Conflict):
        attempts.save_answer(db, world.trainee, att, att.questions[0].id, selected=["A"], seq=5, now=NOW)
    with pytest.raises(NotFound):
        attempts.submit(db, world.trainee_fz, att, NOW)


def test_partial_credit_or_all_or_nothing_for_multiple_choice(db, world, setup):
    *_, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    multi = next(q for q in att.questions if q.type == QuestionType.multiple)
    assert multi.answer == ["A", "B", "D"] and multi.points == 20
    assert grading.choice_points(multi.type, multi.answer, multi.points, ["A", "B"], MultipleScoring.partial) == pytest.approx(13.33, abs=0.01)
    assert grading.choice_points(multi.type, multi.answer, multi.points, ["A", "C"], MultipleScoring.partial) == 0
    assert grading.choice_points(multi.type, multi.answer, multi.points, ["A", "B", "D"], MultipleScoring.partial) == 20
    assert grading.choice_points(multi.type, multi.answer, multi.points, ["A", "B"], MultipleScoring.all_or_nothing) == 0
    assert grading.choice_points(multi.type, multi.answer, multi.points, [], MultipleScoring.partial) == 0


def test_job_closes_expired_attempts_with_answers_saved_in_time(db, world, setup):
    *_, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    attempts.save_answer(db, world.trainee, att, att.questions[0].id, selected=att.questions[0].answer, seq=1,
                         now=NOW + dt.timedelta(minutes=30))
    assert jobs.close_expired_attempts(db, NOW + dt.timedelta(minutes=60)) == {"closed": 0}  # within grace
    later = att.deadline_at + dt.timedelta(minutes=5)
    assert jobs.close_expired_attempts(db, later) == {"closed": 1}
    db.refresh(att)
    assert att.status == AttemptStatus.expired and att.finished_at == att.deadline_at
    assert att.points == 10 and att.score == pytest.approx(100 * 10 / 80, abs=0.1) and not att.passed
    assert jobs.close_expired_attempts(db, later) == {"closed": 0}  # idempotent


def test_attempts_allowed_and_next_attempt(db, world, setup):
    *_, exam = setup
    for n in (1, 2):
        att = attempts.start_attempt(db, world.trainee, exam, NOW)
        assert att.number == n
        attempts.submit(db, world.trainee, att, NOW)
    with pytest.raises(DomainError) as exc:
        attempts.start_attempt(db, world.trainee, exam, NOW)
    assert "2 次" in exc.value.message
    with pytest.raises(DomainError):
        attempts.start_attempt(db, world.staff_nt, exam, NOW)


def test_review_never_before_it_opens(db, world, setup):
    *_, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    assert not attempts.review_open(att, NOW)
    attempts.submit(db, world.trainee, att, NOW)
    assert exam.review_policy.value == "after_close"
    assert not attempts.review_open(att, NOW) and attempts.review_open(att, exam.closes_at)


def test_short_answers_wait_for_a_grader(db, world, setup):
    prog, cls, enr, bank, _ = setup
    exam = f.make_exam(db, world.staff_nt, cls, bank, sections=[("true_false", 1, 50), ("short_answer", 1, 50)])
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    tf, sa = att.questions
    attempts.save_answer(db, world.trainee, att, tf.id, selected=tf.answer, seq=1, now=NOW)
    attempts.save_answer(db, world.trainee, att, sa.id, text="制定质量战略，建立体系。", seq=1, now=NOW)
    attempts.submit(db, world.trainee, att, NOW)
    assert not att.grading_complete and att.score is None
    queue = list(db.scalars(grading.grading_queue(db, world.staff_nt)))
    assert [a.attempt_question_id for a in queue] == [sa.id]
    assert not list(db.scalars(grading.grading_queue(db, world.staff_fj)))
    answer = queue[0]
    with pytest.raises(ValidationFailed):
        grading.grade_answer(db, world.staff_nt, answer, 60)
    with pytest.raises(Exception):
        grading.grade_answer(db, world.staff_fj, answer, 10)
    grading.grade_answer(db, world.staff_nt, answer, 30, "要点不全")
    db.refresh(att)
    assert att.grading_complete and att.score == 80 and att.passed
    with pytest.raises(Conflict):
        grading.grade_answer(db, world.staff_nt, answer, 40)
    assert db.scalar(select(func.count(Answer.id)).where(Answer.points.is_(None))) == 0


def test_programme_exam_serves_the_institutions_classes_of_that_programme(db, world, setup):
    prog, cls, enr, bank, _ = setup
    exam = f.make_exam(db, world.staff_nt, cls, bank, class_id=None, programme_id=prog.id)
    assert exam.class_id is None and exam.institution_id == world.inst_nt.id
    assert services.enrollment_for(db, exam, world.trainee).id == enr.id
    other_cls = f.make_class(db, world.inst_fj, prog)  # same programme, another institution
    f.enrol(db, other_cls, world.trainee_fz)
    assert services.enrollment_for(db, exam, world.trainee_fz) is None
    assert exam in list(db.scalars(queries.exams_for_trainee(db, world.trainee)))
    assert exam not in list(db.scalars(queries.exams_for_trainee(db, world.trainee_fz)))
    with pytest.raises(ValidationFailed) as exc:
        f.make_exam(db, world.staff_nt, other_cls, bank)  # another institution's class
    assert "培训班" in exc.value.errors["class_id"]


def test_retry_follows_the_admission_rule(db, world, setup):
    prog, cls, enr, bank, exam = setup
    att = attempts.start_attempt(db, world.trainee, exam, NOW)
    attempts.submit(db, world.trainee, att, NOW)
    assert services.can_retry(db, exam, world.trainee, NOW)
    assert not services.can_retry(db, exam, world.trainee, exam.opens_at - dt.timedelta(minutes=1))  # not open
    assert not services.can_retry(db, exam, world.trainee, exam.closes_at)  # closed
    f.add_session(db, cls, NOW - dt.timedelta(days=1))  # held, absent: attendance 0 % < 80 %
    assert not services.can_retry(db, exam, world.trainee, NOW)
