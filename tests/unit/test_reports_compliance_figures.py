"""Issue 20: the dashboard's continuing-education compliance is the figure the job
``reports-dashboard-figures`` keeps per region and year, computed by THE rule (the live figure's), shown with
the time it was computed; a year never computed is computed live."""
import datetime as dt

from credits import services as credits
from lms.jobs import services as jobs
from lms.templating import today_local
from reports import queries
from reports.models import ComplianceFigure
from reports.services import figures
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
