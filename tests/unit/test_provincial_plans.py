"""Issue 15: programmes per region and industry, the hours-short warning, yearly training plans (validation and
scoping) and plan vs done per county."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from courses import services, settings_transfer
from courses.models import PlanStatus, TrainingClass, TrainingPlan
from courses.services import enrolment, plans
from lms import demo
from lms.demo import PLEDGE_VERSION
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.orgs import services as org_services
from lms.scoping import visible
from lms.settingbasis import BasisKind
from lms.templating import today_local
from tests import courses_support as cs
from tests import factories

YEAR = today_local().year


def _plan_data(world, year=YEAR, **over) -> plans.PlanData:
    YEAR = year  # noqa: N806 (the lines' dates follow the plan's year)
    data = plans.PlanData(
        city_id=world.nantong.id, year=YEAR, syllabus="质量管理基础、质量法律法规",
        lines=[plans.LineData("", None, dt.date(YEAR, 3, 1), dt.date(YEAR, 3, 5), "南通市培训中心", 1),
               plans.LineData("纺织", world.qidong.id, dt.date(YEAR, 9, 1), dt.date(YEAR, 9, 3), "启东", 1)],
        goals=[plans.GoalData(world.qidong.id, 40, 20), plans.GoalData(world.rugao.id, 30, 10)])
    for k, v in over.items():
        setattr(data, k, v)
    return data


def _published(db, world, year=YEAR):
    plan = plans.save_plan(db, world.city_admin, _plan_data(world, year))
    return plans.publish_plan(db, world.city_admin, plan)


def test_provincial_plan_settings_default_to_seed_003(db, world):
    s = plans.plan_settings(db, world.jiangsu.id)
    assert s.min_plan_classes == 2 and s.city_programmes is False
    basis = plans.setting_basis(db, s, "min_plan_classes")
    assert basis.kind is BasisKind.source and "每年组织培训班两期以上" in basis.source
    assert "省局“高级”培训" in plans.setting_basis(db, s, "city_programmes").source
    row = plans.save_plan_settings(db, world.province_admin, world.jiangsu, True, 3)
    assert plans.setting_basis(db, row, "min_plan_classes").kind is BasisKind.province
    with pytest.raises(Forbidden):
        plans.save_plan_settings(db, world.city_admin, world.jiangsu, True, 3)
    with pytest.raises(ValidationFailed) as exc:
        plans.save_plan_settings(db, world.province_admin, world.jiangsu, True, 0)
    assert "min_plan_classes" in exc.value.errors


def test_provincial_plan_validation_names_the_place_and_saves_nothing(db, world):
    bad = {
        "lines": ([], "lines"),
        "goals": ([plans.GoalData(world.fuzhou.id, 1, 1)], "goals-0-county_id"),
    }
    for name, (value, key) in bad.items():
        with pytest.raises(ValidationFailed) as exc:
            plans.save_plan(db, world.city_admin, _plan_data(world, **{name: value}))
        assert key in exc.value.errors, exc.value.errors
    outside = _plan_data(world)
    outside.lines[1].starts_on = dt.date(YEAR + 1, 1, 2)
    with pytest.raises(ValidationFailed) as exc:
        plans.save_plan(db, world.city_admin, outside)
    assert "第 2 行" in exc.value.errors["lines-1-starts_on"] and str(YEAR) in exc.value.errors["lines-1-starts_on"]
    few = _plan_data(world)
    few.lines = few.lines[:1]
    with pytest.raises(ValidationFailed) as exc:
        plans.save_plan(db, world.city_admin, few)
    assert "至少 2 期" in exc.value.errors["lines"]
    dup = _plan_data(world, goals=[plans.GoalData(world.qidong.id, 1, 1), plans.GoalData(world.qidong.id, 2, 2)])
    with pytest.raises(ValidationFailed) as exc:
        plans.save_plan(db, world.city_admin, dup)
    assert "重复" in exc.value.errors["goals-1-county_id"]
    assert db.scalar(select(TrainingPlan.id)) is None
    plans.save_plan_settings(db, world.province_admin, world.jiangsu, False, 3)  # the province raises the minimum
    with pytest.raises(ValidationFailed) as exc:
        plans.save_plan(db, world.city_admin, _plan_data(world))
    assert "至少 3 期" in exc.value.errors["lines"]


def test_provincial_plan_is_the_city_bureaus_own(db, world):
    for actor in (world.province_admin, world.county_admin, world.fujian_admin, world.staff_nt):
        with pytest.raises(Forbidden):
            plans.save_plan(db, actor, _plan_data(world))
    plan = plans.save_plan(db, world.city_admin, _plan_data(world))
    assert plan.status == PlanStatus.draft
    fz_admin = factories.make_staff(db, "fz_admin", Role.regulator_admin, region=world.fuzhou)
    assert db.scalar(visible(TrainingPlan, fz_admin)) is None  # another city reads nothing
    assert db.scalar(visible(TrainingPlan, world.county_admin)).id == plan.id  # its county reads the plan
    assert db.scalar(visible(TrainingPlan, world.staff_nt)) is None  # a draft is the bureau's
    with pytest.raises(Forbidden):
        plans.publish_plan(db, fz_admin, plan)
    plans.publish_plan(db, world.city_admin, plan)
    assert db.scalar(visible(TrainingPlan, world.staff_nt)).id == plan.id
    with pytest.raises(Conflict):
        plans.save_plan(db, world.city_admin, _plan_data(world), plan)
    with pytest.raises(ValidationFailed) as exc:  # one plan per city and year
        plans.save_plan(db, world.city_admin, _plan_data(world))
    assert "year" in exc.value.errors


def test_provincial_programme_choice_per_region_and_industry(db, world):
    province_prog = cs.programme(db, world)
    data = services.ProgrammeData(
        province_id=world.jiangsu.id, tier="basic", year=YEAR, name="南通纺织方案", pass_mark=60,
        min_attendance_rate=0.8, certificate_validity_years=None, requires_lower_tier=False,
        eligibility_rule_set_id=None, course_ids=[province_prog.courses[0].id], city_id=world.nantong.id,
        industry="纺织")
    with pytest.raises(ValidationFailed) as exc:  # seed 003's default: cities hold no programme of their own
        services.save_programme(db, world.city_admin, data)
    assert "city_id" in exc.value.errors
    plans.save_plan_settings(db, world.province_admin, world.jiangsu, True, 2)
    city_prog = services.save_programme(db, world.city_admin, data)
    assert city_prog.city_id == world.nantong.id and city_prog.industry == "纺织"
    fz_data = services.ProgrammeData(**{**data.__dict__, "city_id": world.fuzhou.id})
    with pytest.raises(ValidationFailed):
        services.save_programme(db, world.city_admin, fz_data)
    ids = lambda region, industry: [p.id for p in plans.programmes_for(db, region, industry)]  # noqa: E731
    assert city_prog.id in ids(world.qidong, "纺织") and province_prog.id in ids(world.qidong, "纺织")
    assert city_prog.id not in ids(world.qidong, "")  # an industry programme only for that line
    assert city_prog.id not in ids(world.fuzhou, "纺织") and province_prog.id not in ids(world.fuzhou, "")
    # a class picks among them: the city's textile programme needs a textile line
    today = today_local()
    start = today + dt.timedelta(days=7)
    class_data = services.ClassData(
        programme_id=city_prog.id, region_id=world.qidong.id, name="纺织班", place="启东", start_date=start,
        end_date=start + dt.timedelta(days=1), capacity=10, enrol_opens_on=today, enrol_closes_on=start)
    with pytest.raises(ValidationFailed) as exc:
        services.save_class(db, world.staff_nt, class_data, today)
    assert "不适用" in exc.value.errors["programme_id"]


def test_provincial_classes_open_against_published_plan_lines(db, world):
    prog = cs.programme(db, world)
    plan = plans.save_plan(db, world.city_admin, _plan_data(world))
    line = plan.lines[0]
    today = today_local()
    start = max(today + dt.timedelta(days=1), dt.date(YEAR, 1, 1))
    class_data = services.ClassData(
        programme_id=prog.id, region_id=world.qidong.id, name="计划班", place="启东", start_date=start,
        end_date=start, capacity=10, enrol_opens_on=start, enrol_closes_on=start, plan_line_id=line.id)
    with pytest.raises(ValidationFailed) as exc:  # a draft's line is not open
        services.save_class(db, world.staff_nt, class_data, today)
    assert "plan_line_id" in exc.value.errors
    plans.publish_plan(db, world.city_admin, plan)
    assert [ln.id for ln in plans.open_lines(db, world.qidong)] == [ln.id for ln in plan.lines]
    assert plans.open_lines(db, world.fuzhou) == []
    klass = services.save_class(db, world.staff_nt, class_data, today)
    assert klass.plan_line_id == line.id


def test_provincial_hours_short_warning(db, world):
    prog = cs.programme(db, world)  # one 4-hour course
    klass = cs.training_class(db, world, prog, sessions=1)
    short = services.hours_short(klass)
    assert short is not None and (short.timetable, short.programme) == (1, 4)
    assert "1 学时" in short.message and "4 学时" in short.message
    start = klass.start_date
    services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=start, start_time=dt.time(13), end_time=dt.time(16), place="", topic="补课", course_id=None))
    assert services.hours_short(klass) is None


def test_provincial_plan_vs_done_per_county(db, world):
    prog = cs.programme(db, world)
    klass = cs.training_class(db, world, prog)  # held in Qidong
    plan = _published(db, world, klass.start_date.year)
    for name in ("a", "b"):
        cs.admitted(db, world, klass, f"pvd_{name}")
    other = factories.make_trainee(db, "pvd_rg", world.ent_rg)
    e = enrolment.apply(db, other, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    enrolment.approve(db, world.staff_nt, e, utcnow())
    before = {r.county.id if r.county else None: r for r in plans.plan_vs_done(db, plan, klass.end_date)}
    assert before[world.qidong.id].trained == 0 and before[world.qidong.id].held == 0  # not ended yet
    after = {r.county.id if r.county else None: r for r in plans.plan_vs_done(db, plan, klass.end_date + dt.timedelta(days=1))}
    qd, rg, city = after[world.qidong.id], after[world.rugao.id], after[None]
    assert (qd.trained, qd.people_goal, qd.enterprises, qd.enterprises_goal) == (3, 40, 2, 20)
    assert (qd.held, qd.planned) == (1, 1)
    assert (rg.trained, rg.people_goal, rg.held, rg.planned) == (0, 30, 0, 0)
    assert city.planned == 1 and city.held == 0
    org_services.ensure_region(db, "320683", "通州区", world.nantong)  # no goal, no line: no row
    assert len(plans.plan_vs_done(db, plan, today_local())) == 3


def test_provincial_demo_publishes_nantongs_plan_and_opens_a_class_against_it(app, db):
    today = dt.date(2026, 11, 22)
    with app.app_context():
        demo.seed(db, today)
        demo.seed(db, today)
    plan = db.scalar(select(TrainingPlan))
    assert plan.city.code == "320600" and plan.year == 2026 and plan.status == PlanStatus.published
    assert db.scalar(select(func.count(TrainingPlan.id))) == 1
    assert {g.county.code for g in plan.goals} == {"320681", "320682", "320685"}
    assert sum(ln.classes for ln in plan.lines) >= plans.plan_settings(db, plan.city.parent_id).min_plan_classes
    klass = db.scalar(select(TrainingClass).where(TrainingClass.name == "2026年启东市首席质量官基础培训班（第一期）"))
    assert klass.plan_line is not None and klass.plan_line.plan_id == plan.id


def test_provincial_plan_settings_travel_in_the_province_settings_file(db, world):
    doc = settings_transfer.export_settings(db, world.jiangsu)
    assert doc["plan_settings"]["min_plan_classes"] == 2 and "两期以上" in doc["plan_settings"]["basis"]["source"]
    bad = {**doc, "plan_settings": {**doc["plan_settings"], "min_plan_classes": 0}}
    with pytest.raises(ValidationFailed) as exc:
        settings_transfer.check_settings(bad)
    assert "plan_settings.min_plan_classes" in exc.value.errors
    good = {**doc, "plan_settings": {"city_programmes": True, "min_plan_classes": 4,
                                     "basis": {"kind": "province", "source": ""}}}
    parsed = settings_transfer.check_settings(good)
    assert any("4" in line for line in settings_transfer.changes(db, world.fujian, parsed))
    settings_transfer.apply_settings(db, world.fujian_admin, world.fujian, parsed)
    row = plans.plan_settings(db, world.fujian.id)
    assert (row.city_programmes, row.min_plan_classes) == (True, 4)
    assert plans.setting_basis(db, row, "min_plan_classes").kind is BasisKind.province
