"""Question banks: ownership, scoping, validation and Excel import/export."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from exams import banks, imports
from exams.models import Question, QuestionBank, QuestionType
from lms.errors import Forbidden, NotFound, ValidationFailed
from lms.scoping import get_visible, visible
from tests.exam_factories import make_bank


def test_institution_bank_and_province_shared_bank_scoping(db, world):
    own = banks.create_bank(db, world.staff_nt, "南通题库")
    fj = banks.create_bank(db, world.staff_fj, "福建题库")
    shared = banks.create_bank(db, world.province_admin, "江苏共享题库")
    assert own.institution_id == world.inst_nt.id and shared.province_id == world.jiangsu.id
    seen = set(db.scalars(visible(QuestionBank, world.staff_nt)))
    assert own in seen and shared in seen and fj not in seen
    with pytest.raises(NotFound):
        get_visible(db, QuestionBank, fj.id, world.staff_nt)
    # The city regulator sees the province's shared bank and its institutions' banks, but keeps none.
    assert {own, shared} <= set(db.scalars(visible(QuestionBank, world.city_admin)))
    assert not banks.can_edit_bank(world.city_admin, shared)
    assert banks.can_edit_bank(world.province_admin, shared)
    assert not banks.can_edit_bank(world.staff_nt, shared)
    assert not set(db.scalars(visible(QuestionBank, world.trainee)))
    with pytest.raises(Forbidden):
        banks.create_bank(db, world.trainee, "x")
    with pytest.raises(Forbidden):
        banks.create_bank(db, world.city_admin, "x")  # shared banks are the province's


def test_question_validation_names_the_field(db, world):
    bank = banks.create_bank(db, world.staff_nt, "题库")
    with pytest.raises(ValidationFailed) as exc:
        banks.save_question(db, world.staff_nt, bank, banks.QuestionData("single", "题干", ["甲", "乙"], "AB", "知识点"))
    assert "正确答案" in exc.value.errors["answer"]
    with pytest.raises(ValidationFailed) as exc:
        banks.save_question(db, world.staff_nt, bank, banks.QuestionData("multiple", "", ["甲", "", "丙"], "AC", ""))
    assert set(exc.value.errors) == {"stem", "options", "knowledge_point"}
    with pytest.raises(ValidationFailed):
        banks.save_question(db, world.staff_nt, bank, banks.QuestionData("true_false", "题干", [], "也许", "kp"))
    q = banks.save_question(db, world.staff_nt, bank, banks.QuestionData("true_false", "题干", [], "错误", "kp", "hard", "因为"))
    assert q.answer == ["F"] and q.options[0]["id"] == "T" and banks.answer_text(q) == "错误"
    q2 = banks.save_question(db, world.staff_nt, bank, banks.QuestionData("multiple", "题干", ["甲", "乙", "丙"], "c, a", "kp"))
    assert q2.answer == ["A", "C"]
    with pytest.raises(Forbidden):
        banks.save_question(db, world.staff_fj, bank, banks.QuestionData("true_false", "题干", [], "对", "kp"))


def _sheet(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(imports.QUESTION_HEADERS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_all_or_nothing_names_row_and_column(db, world):
    bank = banks.create_bank(db, world.staff_nt, "题库")
    good = ["单选题", "中国品牌日是哪天？", "3月15日", "5月10日", "", "", "", "", "B", "品牌管理", "易", "2017年设立"]
    bad = ["多选题", "质量成本包括？", "预防", "鉴定", "", "", "", "", "AZ", "质量经济性分析", "中", ""]
    with pytest.raises(ValidationFailed) as exc:
        imports.import_questions(db, world.staff_nt, bank, _sheet([good, good, bad]))
    message = exc.value.errors["file"]
    assert "第 4 行" in message and "「正确答案」列（I 列）" in message
    assert db.scalar(select(func.count(Question.id)).where(Question.bank_id == bank.id)) == 0
    with pytest.raises(ValidationFailed) as exc:
        imports.import_questions(db, world.staff_nt, bank, b"not an excel file")
    assert "xlsx" in exc.value.errors["file"]
    assert imports.import_questions(db, world.staff_nt, bank, _sheet([good, ["判断题", "强制性标准必须执行", *[""] * 6, "正确", "质量法律制度", "易", ""]])) == 2


def test_export_round_trips_through_import(db, world):
    bank = make_bank(db, world.staff_nt)
    data = imports.export_questions(db, bank)
    ws = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[1]] == imports.QUESTION_HEADERS
    copy = banks.create_bank(db, world.staff_nt, "副本")
    n = imports.import_questions(db, world.staff_nt, copy, data)
    assert n == db.scalar(select(func.count(Question.id)).where(Question.bank_id == bank.id))
    types = set(db.scalars(select(Question.type).where(Question.bank_id == copy.id)))
    assert types == set(QuestionType)


def test_seed_questions_are_valid_and_cover_the_compulsory_courses(db, world):
    from exams.demo import seed_shared_bank
    from exams.seed_questions import QUESTIONS

    bank, added = seed_shared_bank(db, world.jiangsu)
    assert added == len(QUESTIONS) >= 100
    assert len(banks.knowledge_points(db, [bank.id])) == 8
    assert seed_shared_bank(db, world.jiangsu)[1] == 0  # idempotent


def test_demo_seed_is_idempotent_and_admits_the_demo_trainee(db, world):
    import datetime as dt

    from courses.models import ClassSession, Enrollment
    from exams import demo, services
    from exams.models import Exam
    from tests.factories import make_institution, make_trainee
    from lms.domain import Tier

    make_institution(db, world.nantong, (Tier.advanced,), name=demo.INSTITUTION_NAME)
    trainee = make_trainee(db, "trainee", world.ent_qd)
    today = dt.date(2026, 11, 22)
    first = demo.seed(db, today)
    assert first["exams"] == 1 and first["exam_questions"] >= 100
    exam = db.scalar(select(Exam).where(Exam.title == demo.EXAM_TITLE))
    # A timetable made by another seed, with a session already held: the trainee attended it.
    db.add(ClassSession(class_id=exam.class_id, starts_at=dt.datetime(2026, 11, 20, 1, tzinfo=dt.timezone.utc),
                        ends_at=dt.datetime(2026, 11, 20, 5, tzinfo=dt.timezone.utc), hours=4))
    db.flush()
    again = demo.seed(db, today)
    assert again == {"exam_questions": 0, "exams": 0, "attendance": 1}
    assert demo.seed(db, today)["attendance"] == 0
    now = dt.datetime(2026, 11, 22, 3, tzinfo=dt.timezone.utc)
    assert services.admission(db, exam, trainee, now).allowed
    assert db.scalar(select(func.count(Enrollment.id)).where(Enrollment.user_id == trainee.id)) == 1


def test_close_expired_job_is_registered():
    from lms.jobs.services import REGISTRY

    import exams.jobs  # noqa: F401

    assert "exams.close_expired" in REGISTRY
