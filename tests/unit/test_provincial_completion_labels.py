"""Issue 15, point 1: the completion rules tell the attendance share and the pass mark in a sentence, with the
basis of the value (示例 until a province records one; the document once it does)."""
import datetime as dt

from exams import results
from lms.completion import check
from lms.settingbasis import set_basis
from tests import exam_factories as f


def test_provincial_completion_details_carry_the_basis_of_their_values(db, world):
    prog = f.make_programme(db, world.jiangsu)
    cls = f.make_class(db, world.inst_nt, prog)
    enr = f.enrol(db, cls, world.trainee)
    bank = f.make_bank(db, world.staff_nt)
    exam = f.make_exam(db, world.staff_nt, cls, bank)
    results.record_offline_result(db, world.staff_nt, exam, world.trainee.username, 75, "纸笔考试", dt.date(2026, 11, 20))
    rules = {r.code: r for r in check(db, enr)}
    assert rules["attendance"].detail.endswith("〔示例〕"), rules["attendance"].detail
    assert rules["exam"].detail.endswith("〔示例〕"), rules["exam"].detail
    set_basis(db, prog, "min_attendance_rate", "source", "《某市培训办法》第七条")
    set_basis(db, prog if exam.pass_mark is None else exam, "pass_mark", "province")
    rules = {r.code: r for r in check(db, enr)}
    assert rules["attendance"].detail.endswith("〔依据：《某市培训办法》第七条〕"), rules["attendance"].detail
    assert rules["exam"].detail.endswith("〔本省自定〕"), rules["exam"].detail
