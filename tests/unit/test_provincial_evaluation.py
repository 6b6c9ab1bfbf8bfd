"""Issue 15, evaluation as data: weight and band validation (the exact place named, nothing applied), stars
from the bands, averaging and outliers, and the scoring flow step by step (each step's actor checked)."""
import datetime as dt

import pytest
from sqlalchemy import select

from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.notifications.models import Notification
from lms.settingbasis import BasisKind, basis_of
from talent.models import Assessment, AssessmentStep, GradeBand, Indicator, NoticeEntry, SelectionStatus
from talent.services import assessments as flow
from talent.services import provincial_eval as pe
from lms.auth import services as auth_services
from tests.factories import PASSWORD, make_staff
from tests.unit.test_talent_lifecycle import certify

FIRST = [pe.Node(c, "", n, w, None) for c, n, w in [("A", "意识", 15), ("B", "社会责任", 15), ("C", "知识", 15),
                                                     ("D", "能力", 20), ("E", "沟通", 10), ("F", "业绩", 25)]]
BANDS = [pe.Band(90, 100, 5, "优秀"), pe.Band(80, 90, 4, "良好"), pe.Band(70, 80, 3, "中等"),
         pe.Band(60, 70, 2, "合格"), pe.Band(0, 60, 1, "待提升")]


def _tree():
    return FIRST + [pe.Node("A1", "A", "质量意识", 60, 10), pe.Node("A2", "A", "风险意识", 40, 10)]


def test_provincial_weights_sum_per_parent_named():
    nodes = FIRST[:-1] + [pe.Node("F", "", "业绩", 20, None)]
    errors = pe.tree_problems(nodes)
    assert list(errors) == ["parent:"] and "95" in errors["parent:"]
    errors = pe.tree_problems(FIRST + [pe.Node("A1", "A", "质量意识", 60, 10), pe.Node("A2", "A", "风险意识", 30, 10)])
    assert list(errors) == ["parent:A"] and "A1=60" in errors["parent:A"] and "90" in errors["parent:A"]
    assert pe.tree_problems(_tree()) == {}
    # unweighted children count by points: no sum needed
    assert pe.tree_problems(FIRST + [pe.Node("A1", "A", "质量意识", None, 10)]) == {}


def test_provincial_unknown_parent_loop_depth_first_level():
    errors = pe.tree_problems(FIRST + [pe.Node("X1", "Z", "未知", None, 10)])
    assert "X1" in errors and "Z" in errors["X1"]
    errors = pe.tree_problems(FIRST + [pe.Node("L1", "L2", "甲", None, 5), pe.Node("L2", "L1", "乙", None, 5)])
    assert "L1" in errors and "L2" in errors and "→" in errors["L1"]
    errors = pe.tree_problems(FIRST + [pe.Node("A1", "A", "二", None, 5), pe.Node("A11", "A1", "三", None, 5),
                                       pe.Node("A111", "A11", "四", None, 5)])
    assert list(errors) == ["A111"]
    errors = pe.tree_problems(FIRST[1:] + [pe.Node("G", "", "其他", 15, None)])
    assert "G" in errors and "A" in errors


def test_provincial_bands_gap_overlap_named():
    assert pe.band_problems(BANDS) == {}
    gap = [b for b in BANDS if b.stars != 3]
    errors = pe.band_problems(gap)
    assert list(errors) == ["band:80–90"] and "70–80" in errors["band:80–90"]
    over = BANDS[:-1] + [pe.Band(0, 65, 1)]
    errors = pe.band_problems(over)
    assert list(errors) == ["band:60–70"] and "0–65" in errors["band:60–70"]
    errors = pe.band_problems(BANDS[:-1])
    assert list(errors) == ["band:0"]
    assert "band:50–40" in pe.band_problems([pe.Band(50, 40, 1)])
    assert "band:0–100" in pe.band_problems([pe.Band(0, 100, 6)])


def test_provincial_stars_from_bands():
    assert pe.stars_for(BANDS, 100) == (5, "优秀")
    assert pe.stars_for(BANDS, 90) == (5, "优秀")
    assert pe.stars_for(BANDS, 89.99) == (4, "良好")
    assert pe.stars_for(BANDS, 0) == (1, "待提升")
    other = [pe.Band(0, 50, 1), pe.Band(50, 100, 3)]
    assert pe.stars_for(other, 75) == (3, "")


def test_provincial_outliers_from_median():
    assert flow.flag_outliers([80, 82, 60], 10) == [False, False, True]
    assert flow.flag_outliers([80, 82, 60], 25) == [False, False, False]
    assert flow.flag_outliers([70, 90], 5) == [True, True]


def test_provincial_load_refuses_nothing_applied(db, world):
    pe.load_tree(db, world.province_admin, world.jiangsu.id, _tree())
    before = sorted(db.scalars(select(Indicator.code).where(Indicator.province_id == world.jiangsu.id)))
    with pytest.raises(ValidationFailed) as exc:
        pe.load_tree(db, world.province_admin, world.jiangsu.id, _tree()[:-1] + [pe.Node("A3", "A", "新", 30, 10), pe.Node("A4", "A3", "x", None, 1)])
    assert "parent:A" in exc.value.errors
    assert sorted(db.scalars(select(Indicator.code).where(Indicator.province_id == world.jiangsu.id))) == before
    with pytest.raises(Forbidden):
        pe.load_tree(db, world.city_admin, world.jiangsu.id, _tree())
    a = db.scalar(select(Indicator).where(Indicator.province_id == world.jiangsu.id, Indicator.code == "A"))
    a1 = db.scalar(select(Indicator).where(Indicator.province_id == world.jiangsu.id, Indicator.code == "A1"))
    assert basis_of(db, a, "indicator_name").kind == BasisKind.source and "6项一级指标" in basis_of(db, a, "indicator_name").source
    assert basis_of(db, a1, "indicator_name").kind == BasisKind.example and basis_of(db, a, "indicator_weight").kind == BasisKind.example
    pe.save_bands(db, world.province_admin, world.jiangsu.id, BANDS)
    with pytest.raises(ValidationFailed):
        pe.save_bands(db, world.province_admin, world.jiangsu.id, BANDS[1:])
    assert len(db.scalars(select(GradeBand).where(GradeBand.province_id == world.jiangsu.id)).all()) == 5


def test_provincial_score_total_weighted():
    class N:
        def __init__(self, code, weight, max_points):
            self.code, self.weight, self.max_points = code, weight, max_points
    tree = [(N("A", 40, 0), [(N("A1", 50, 10), []), (N("A2", 50, 10), [])]), (N("B", 60, 0), [(N("B1", 0, 20), []), (N("B2", 0, 30), [])])]
    # A: 0.5*1 + 0.5*0.5 = 0.75 → 30; B: (10+20)/50 = 0.6 → 36
    assert pe.score_total(tree, {"A1": 10, "A2": 5, "B1": 10, "B2": 20}) == 66.0


def setup_flow(db, world):
    """Jiangsu's tree and bands, 王芳 in the pool, an enterprise account, two experts and a third."""
    pe.load_tree(db, world.province_admin, world.jiangsu.id, _tree())
    pe.save_bands(db, world.province_admin, world.jiangsu.id, BANDS)
    entry = certify(db, world)
    ent = auth_services.create_user(db, username="qd_ent", password=PASSWORD, display_name="启东机械", role=Role.enterprise,
                                    enterprise=world.ent_qd)
    experts = [make_staff(db, f"expert{i}", Role.institution_staff, institution=world.inst_nt) for i in (1, 2, 3)]
    db.flush()
    return entry, ent, experts


def full(points):
    """Every leaf at ``points`` of 10 (A1, A2 out of 10; the first-level leaves B–F out of 100)."""
    return {"A1": points, "A2": points} | {k: points * 10 for k in ("B", "C", "D", "E", "F")}


def test_provincial_scoring_flow(db, world):
    entry, ent, experts = setup_flow(db, world)
    with pytest.raises(ValidationFailed) as exc:
        flow.open_assessment(db, world.county_admin, entry, 2026, ["expert1"])
    assert "experts" in exc.value.errors
    with pytest.raises(ValidationFailed):
        flow.open_assessment(db, world.county_admin, entry, 2026, ["expert1", "wangfang"])
    with pytest.raises(Forbidden):
        flow.open_assessment(db, world.rugao_admin, entry, 2026, ["expert1", "expert2"])
    a = flow.open_assessment(db, world.county_admin, entry, 2026, ["expert1", "expert2", "expert3"])
    assert a.step == AssessmentStep.self
    assert db.scalar(select(Notification).where(Notification.user_id == world.trainee.id, Notification.kind == "assessment"))
    # steps out of turn or by the wrong actor
    with pytest.raises(Conflict):
        flow.enterprise_opinion(db, ent, a, "好")
    with pytest.raises(Forbidden):
        flow.self_assess(db, world.trainee_fz, a, full(10))
    with pytest.raises(ValidationFailed) as exc:
        flow.self_assess(db, world.trainee, a, full(10) | {"A1": 11})
    assert "s_A1" in exc.value.errors
    flow.self_assess(db, world.trainee, a, full(10) | {"A1": 5})
    assert a.step == AssessmentStep.enterprise and a.self_total == pytest.approx(100 - 15 * 0.6 * 0.5)
    assert db.scalar(select(Notification.id).where(Notification.user_id == ent.id))
    with pytest.raises(Forbidden):
        flow.enterprise_opinion(db, world.trainee, a, "好")
    flow.enterprise_opinion(db, ent, a, "同意自评")
    assert a.step == AssessmentStep.experts
    with pytest.raises(Forbidden):
        flow.expert_score(db, world.staff_nt, a, full(10))
    flow.expert_score(db, experts[0], a, full(9))     # 90
    with pytest.raises(Conflict):
        flow.expert_score(db, experts[0], a, full(9))
    flow.expert_score(db, experts[1], a, full(8.8))   # 88
    assert a.step == AssessmentStep.experts
    flow.expert_score(db, experts[2], a, full(6))     # 60: far from the median 88
    assert a.step == AssessmentStep.bureau
    assert [x.outlier for x in a.experts] == [False, False, True]
    assert a.total == pytest.approx((90 + 88 + 60) / 3, abs=0.01) and a.stars == 3
    with pytest.raises(ValidationFailed):
        flow.confirm(db, world.county_admin, a, "", dt.date(2026, 12, 1))
    with pytest.raises(Forbidden):
        flow.confirm(db, world.rugao_admin, a, "说明", dt.date(2026, 12, 1))
    flow.confirm(db, world.county_admin, a, "专家三评分偏低，已复核", dt.date(2026, 12, 1))
    assert a.step == AssessmentStep.confirmed and entry.stars == 3 and a.evaluation_id
    with pytest.raises(Conflict):
        flow.open_assessment(db, world.county_admin, entry, 2026, ["expert1", "expert2"])


def test_provincial_selection(db, world):
    entry, ent, experts = setup_flow(db, world)
    s = flow.open_selection(db, world.city_admin, 2026, "2026年度优秀企业首席质量官评选")
    assert s.min_stars == 4
    with pytest.raises(ValidationFailed):
        flow.nominate(db, world.city_admin, s, entry, "")  # no stars yet
    entry.stars = 4
    n = flow.nominate(db, world.city_admin, s, entry, "质量提升成效显著")
    with pytest.raises(Forbidden):
        flow.nominate(db, world.province_admin, s, entry, "")
    with pytest.raises(Conflict):
        flow.publish_selection(db, world.city_admin, s, 7, dt.date(2026, 12, 10))
    with pytest.raises(ValidationFailed):
        flow.decide(db, world.city_admin, s, {n.id}, "", dt.date(2026, 12, 5))
    flow.decide(db, world.city_admin, s, {n.id}, "评审委员会一致通过", dt.date(2026, 12, 5))
    notice = flow.publish_selection(db, world.city_admin, s, 7, dt.date(2026, 12, 10))
    assert s.status == SelectionStatus.published and notice.kind == "selection"
    line = db.scalar(select(NoticeEntry).where(NoticeEntry.notice_id == notice.id))
    assert line.name != entry.name and line.name.startswith(entry.name[0]) and "*" in line.id_masked


def test_provincial_assessment_scope(db, world):
    from lms.scoping import visible
    entry, ent, experts = setup_flow(db, world)
    a = flow.open_assessment(db, world.county_admin, entry, 2026, ["expert1", "expert2"])
    db.flush()
    seen = lambda u: [x.id for x in db.scalars(visible(Assessment, u))]  # noqa: E731
    assert seen(world.trainee) == [a.id] and seen(ent) == [a.id] and seen(experts[0]) == [a.id]
    assert seen(experts[2]) == [] and seen(world.trainee_fz) == [] and seen(world.rugao_admin) == []
    assert seen(world.city_admin) == [a.id]
    assert db.scalar(select(User.id).where(User.username == "expert1"))


def test_provincial_node_edit_checks_the_whole_tree(db, world):
    from talent.services.evaluation import IndicatorRow
    pe.load_tree(db, world.province_admin, world.jiangsu.id, _tree())
    savepoint = db.begin_nested()  # the page's submit rolls back; here the savepoint does
    with pytest.raises(ValidationFailed) as exc:  # A1's weight 70 leaves A's children at 110
        pe.save_rows_checked(db, world.province_admin, world.jiangsu.id, [IndicatorRow("A1", "A", "质量意识", 70, 10, "")])
    savepoint.rollback()
    assert list(exc.value.errors) == ["parent:A"] and "110" in exc.value.errors["parent:A"]
    assert pe.save_rows_checked(db, world.province_admin, world.jiangsu.id, [IndicatorRow("B1", "B", "诚信", None, 10, "")]) == 1
