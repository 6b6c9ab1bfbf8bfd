"""Issue 20: the dashboard's continuing-education compliance is the figure the job
``reports-dashboard-figures`` keeps per region and year, computed by THE rule (the live figure's), shown with
the time it was computed; a year never computed is computed live."""
import datetime as dt

from courses.services import plans
from credits import services as credits
from lms.jobs import services as jobs
from lms.templating import today_local
from reports import queries
from reports.models import ComplianceFigure
from reports.services import figures, rules
from tests import courses_support as cs
from tests import factories
from tests.ce_helpers import appoint, certify

TODAY = today_local()
YEAR = TODAY.year
KEYS = ("members", "compliant", "rate", "hours_short", "report_missing")


def _member(db, world, k, region, enterprise, hours):
    user = factories.make_trainee(db, f"fig{k}", enterprise, real_name="测试",
                                  id_number=factories.id_number("320681", dt.date(1981, 2, 1 + k), 200 + k))
    certify(db, world, user=user, cert_id=910000 + k, issued=dt.date(YEAR - 2, 3, 1), enterprise=enterprise, region=region)
    appoint(db, world, user=user, on=dt.date(YEAR - 2, 4, 1), enterprise=enterprise)
    if hours:
        credits.award_system_credit(db, user_id=user.id, year=YEAR, hours=hours, subject_category="professional",
                                    source_ref=f"fig:{k}", title="课程")
    return user


def _figures(pool: dict) -> dict:
    return {k: pool[k] for k in KEYS}


def _people(db, world):
    _member(db, world, 1, world.qidong, world.ent_qd, 90)   # compliant by hours
    _member(db, world, 2, world.qidong, world.ent_qd, 0)    # short of hours, no report
    short = _member(db, world, 3, world.rugao, world.ent_rg, 10)
    _member(db, world, 4, world.nantong, world.ent_qd, 95)  # the city's own level (本级)
    _member(db, world, 5, world.fuzhou, world.ent_fz, 0)    # another province: never in Jiangsu's figures
    return short


def test_reports_kept_compliance_equals_the_live_figure_per_row(app, db, world):
    _people(db, world)
    live_region = queries.pool(db, world.nantong, YEAR)
    assert live_region["members"] == 4 and live_region["compliant"] == 2  # the live rule itself
    run = jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    assert run.status == "ok" and run.result[str(YEAR)]["members"] == 5
    data = queries.dashboard(db, world.nantong, YEAR, TODAY)
    assert data["pool"]["computed_at"] is not None
    assert _figures(data["pool"]) == _figures(live_region)
    for row in data["children"]:
        assert _figures(row["pool"]) == _figures(queries.pool(db, row["region"], YEAR, own_only=row["own"])), row["region"]
    # Scoped: Jiangsu's figure holds its four, not Fuzhou's member.
    assert queries.dashboard(db, world.jiangsu, YEAR, TODAY)["pool"]["members"] == 4
    assert queries.dashboard(db, world.fujian, YEAR, TODAY)["pool"]["members"] == 1


def test_reports_kept_compliance_changes_at_the_next_run_and_says_when(app, db, world, login_as):
    short = _people(db, world)
    factory = app.extensions["lms_db"].sessionmaker
    jobs.run_job(factory, "reports-dashboard-figures", trigger="manual")
    before = queries.dashboard(db, world.nantong, YEAR, TODAY)["pool"]
    credits.award_system_credit(db, user_id=short.id, year=YEAR, hours=80, subject_category="professional",
                                source_ref="fig:more", title="课程")
    db.flush()
    # The page shows what the job computed, and when; the live figure has moved on.
    assert queries.dashboard(db, world.nantong, YEAR, TODAY)["pool"]["compliant"] == before["compliant"]
    assert queries.pool(db, world.nantong, YEAR)["compliant"] == before["compliant"] + 1
    page = login_as("nt_admin").get("/reports/dashboard").get_data(as_text=True)
    assert 'id="credit-computed-at"' in page and "达标情况统计于" in page
    jobs.run_job(factory, "reports-dashboard-figures", trigger="manual")
    after = queries.dashboard(db, world.nantong, YEAR, TODAY)["pool"]
    assert after["compliant"] == before["compliant"] + 1 and after["computed_at"] >= before["computed_at"]
    assert _figures(after) == _figures(queries.pool(db, world.nantong, YEAR))


def test_reports_compliance_never_computed_is_live(db, world):
    _people(db, world)
    assert db.query(ComplianceFigure).count() == 0
    data = queries.dashboard(db, world.nantong, YEAR, TODAY)
    assert data["pool"]["computed_at"] is None
    assert _figures(data["pool"]) == _figures(queries.pool(db, world.nantong, YEAR))


def test_reports_job_keeps_recent_years_and_fills_older_ones_once(db, world):
    _people(db, world)
    assert figures.years_to_refresh(db, YEAR) == [YEAR - i for i in range(figures.KEPT_YEARS)]
    for y in range(YEAR - figures.KEPT_YEARS + 1, YEAR + 1):
        figures.store(db, y, figures.compute(db, y))
    # Regions with pool entries get a row even when nobody is held to the rule that year: the year counts as computed.
    assert figures.years_to_refresh(db, YEAR) == [YEAR, YEAR - 1]


def test_reports_kept_counts_equal_the_live_counts_per_row(app, db, world):
    _people(db, world)
    jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    for region in (world.jiangsu, world.nantong, world.fujian):
        data = queries.dashboard(db, region, YEAR, TODAY)
        assert data["counted_at"] is not None
        assert data["statuses"] == queries.certificate_statuses(db, region, TODAY)
        assert data["training"] == queries.training(db, region, YEAR)
        assert data["pool"]["statuses"] == queries.pool(db, region, YEAR)["statuses"]
        for row in data["children"]:
            live = queries.pool(db, row["region"], YEAR, own_only=row["own"])
            assert row["pool"]["statuses"] == live["statuses"]
            assert row["training"] == queries.training(db, row["region"], YEAR, own_only=row["own"])
        for t in data["trend"]:
            assert t["training"] == queries.training(db, region, t["year"])
    # Five Jiangsu/Fujian entries are in the pool: the kept statuses hold them, by region.
    assert sum(queries.dashboard(db, world.jiangsu, YEAR, TODAY)["pool"]["statuses"].values()) == 4


def test_reports_a_year_beyond_the_kept_ones_is_counted_live(app, db, world):
    _people(db, world)
    jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    later = queries.dashboard(db, world.nantong, YEAR + 1, TODAY)
    assert later["counted_at"] is None and later["pool"]["statuses"] == queries.pool(db, world.nantong, YEAR)["statuses"]


def _appointment_rows(data: dict) -> list:
    """The dashboard's appointment figures: the region's, each row's and each trend year's."""
    return [data["appointment"]] + [r["appointment"] for r in data["children"]] + [t["appointment"] for t in data["trend"]]


def _live_appointment_rows(db, region, data: dict) -> list:
    return ([queries.appointment(db, region, YEAR, TODAY)]
            + [queries.appointment(db, r["region"], YEAR, TODAY, own_only=r["own"]) for r in data["children"]]
            + [queries.appointment(db, region, t["year"], TODAY) for t in data["trend"]])


def test_reports_kept_appointment_rate_equals_the_live_rate_per_row_and_year(app, db, world):
    """Issue 20: the job keeps the appointment rate's counts (a pass over every accepted appointment of the
    province); the dashboard's rows and trend read them and equal the live rule's figures."""
    _people(db, world)
    appoint(db, world, user=world.trainee, on=dt.date(YEAR - 3, 5, 1), ended=dt.date(YEAR - 1, 6, 30),
            enterprise=world.ent_rg)  # in force on the reading days of YEAR-3 and YEAR-2 only
    later = factories.make_enterprise(db, world.qidong, name="启东后聘企业有限公司")
    jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    for region in (world.jiangsu, world.nantong, world.qidong, world.fujian):
        data = queries.dashboard(db, region, YEAR, TODAY)
        assert data["counted_at"] is not None
        assert _appointment_rows(data) == _live_appointment_rows(db, region, data), region.name
    trend = {t["year"]: t["appointment"] for t in queries.dashboard(db, world.rugao, YEAR, TODAY)["trend"]}
    assert [trend[y]["small_micro_key"]["enterprises"] for y in (YEAR - 2, YEAR)] == [0, 0]  # no key industry yet
    assert trend[YEAR - 2]["above_size"]["appointed"] == 0 and trend[YEAR]["above_size"]["enterprises"] == 0
    # The kept counts are what the page reads: an appointment accepted after the run shows at the next one.
    above = lambda region: queries.dashboard(db, region, YEAR, TODAY)["appointment"]["above_size"]  # noqa: E731
    before = above(world.jiangsu)
    appoint(db, world, user=world.trainee_fz, on=dt.date(YEAR - 1, 1, 10), enterprise=later)
    assert above(world.jiangsu) == before  # kept
    assert queries.appointment(db, world.jiangsu, YEAR, TODAY)["above_size"]["appointed"] == before["appointed"] + 1
    jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    data = queries.dashboard(db, world.jiangsu, YEAR, TODAY)
    assert data["appointment"]["above_size"]["appointed"] == before["appointed"] + 1
    assert _appointment_rows(data) == _live_appointment_rows(db, world.jiangsu, data)


def test_reports_kept_appointment_rate_is_live_after_the_key_industries_change(app, db, world):
    """The small and micro category is the province's key industries (seed 002 §1): counts kept under another
    list are not used; the page counts live until the job runs again."""
    _people(db, world)
    appoint(db, world, user=world.trainee, on=dt.date(YEAR - 1, 3, 1), enterprise=world.ent_rg)
    jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    assert queries.dashboard(db, world.jiangsu, YEAR, TODAY)["appointment"]["small_micro_key"]["enterprises"] == 0
    rules.save_settings(db, world.province_admin, hold_certificates=False, key_industries=["机械制造"],
                        annual_report_due="01-31", key_industries_basis="本省自定（测试）")
    db.flush()
    data = queries.dashboard(db, world.jiangsu, YEAR, TODAY)
    small = data["appointment"]["small_micro_key"]
    # 启东机械 (medium) and 如皋食品 (small), both 机械制造, each with a CQO in force.
    assert small["enterprises"] >= 2 and small["appointed"] == 2
    assert _appointment_rows(data) == _live_appointment_rows(db, world.jiangsu, data)
    jobs.run_job(app.extensions["lms_db"].sessionmaker, "reports-dashboard-figures", trigger="manual")
    assert _appointment_rows(queries.dashboard(db, world.jiangsu, YEAR, TODAY)) == _appointment_rows(data)


def test_reports_kept_plan_progress_equals_the_live_rows_and_is_what_the_page_reads(app, db, world):
    """Issue 20: plan vs done (two passes over a county's enrolments per row) is kept by the same job, per
    county shown and for the city-wide lines, equal to ``plan_vs_done``'s live rows on the day it ran."""
    klass = cs.training_class(db, world, cs.programme(db, world))  # held in Qidong
    year = klass.start_date.year
    plan = plans.publish_plan(db, world.city_admin, plans.save_plan(db, world.city_admin, plans.PlanData(
        city_id=world.nantong.id, year=year, syllabus="质量管理基础",
        lines=[plans.LineData("", None, dt.date(year, 3, 1), dt.date(year, 3, 5), "南通市培训中心", 1),
               plans.LineData("纺织", world.qidong.id, dt.date(year, 9, 1), dt.date(year, 9, 3), "启东", 1)],
        goals=[plans.GoalData(world.qidong.id, 40, 20), plans.GoalData(world.rugao.id, 30, 10)])))
    for name in ("a", "b"):
        cs.admitted(db, world, klass, f"kpd_{name}")
    day = klass.end_date + dt.timedelta(days=1)  # the class has ended: its trainees count
    figures.store_counts(db, figures.compute_counts(db, year, day))
    kept = queries.plan_done_kept_for(queries.kept_plan_done(db, year), world.nantong.id)
    assert set(kept) == {world.qidong.id, world.rugao.id, None}
    live = plans.plan_vs_done(db, plan, day)
    assert plans.plan_vs_done(db, plan, day, kept) == live
    assert kept[world.qidong.id] == (2, 1, 1) and kept[world.rugao.id] == (0, 0, 0)
    cs.admitted(db, world, klass, "kpd_c")  # after the run: live moves on, the kept rows wait for the next one
    assert plans.plan_vs_done(db, plan, day)[0].trained == 3
    assert plans.plan_vs_done(db, plan, day, kept)[0].trained == 2
