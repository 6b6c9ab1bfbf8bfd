"""Issue 20: the bureau's dashboard over a province of 200,000 people reads each figure once for the region's
subtree, grouped by region and year, and its continuing-education compliance from the figures the job
keeps. Counted, not timed: the statements of a dashboard do not grow with the people, regions or enterprises."""
import datetime as dt

from sqlalchemy import event

from credits import services as credits
from lms.orgs import services as org_services
from lms.templating import today_local
from reports import queries
from reports.services import figures
from tests import factories
from tests.ce_helpers import appoint, certify

TODAY = today_local()
YEAR = TODAY.year


class Statements:
    def __init__(self, engine):
        self.engine, self.n = engine, 0

    def _count(self, *_args):
        self.n += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def _member(db, world, k: int, region, enterprise, hours: float):
    """A certified CQO of ``region`` appointed two years ago with ``hours`` of credits this year."""
    user = factories.make_trainee(db, f"perf{k}", enterprise, real_name="测试",
                                  id_number=factories.id_number("320681", dt.date(1980, 1, 1 + k % 28), 100 + k))
    certify(db, world, user=user, cert_id=900000 + k, issued=dt.date(YEAR - 2, 3, 1), enterprise=enterprise, region=region)
    appoint(db, world, user=user, on=dt.date(YEAR - 2, 4, 1), enterprise=enterprise)
    if hours:
        credits.award_system_credit(db, user_id=user.id, year=YEAR, hours=hours, subject_category="professional",
                                    source_ref=f"perf:{k}", title="课程")
    return user


def _keep(db):
    """What the dashboard's job keeps, as it computes it."""
    figures.store_counts(db, figures.compute_counts(db, YEAR, TODAY))
    figures.store(db, YEAR, figures.compute(db, YEAR))
    db.flush()


def _dashboard_statements(app, db, region) -> int:
    with Statements(app.extensions["lms_db"].engine) as s:
        queries.dashboard(db, region, YEAR, TODAY)
    return s.n


def test_perf_dashboard_statements_do_not_grow_with_people_or_regions(app, db, world):
    _member(db, world, 99, world.qidong, world.ent_qd, 90)
    _keep(db)
    small = _dashboard_statements(app, db, world.jiangsu)
    # Ten times the regions below the province, enterprises in each, members with and without credits.
    for i in range(10):
        county = org_services.ensure_region(db, f"3206{90 + i}", f"测试县{i}", world.nantong, f"测试县{i}市场监督管理局")
        ent = factories.make_enterprise(db, county, name=f"测试企业{i}")
        for j in range(3):
            _member(db, world, i * 3 + j, county, ent, 90 if j else 0)
    _keep(db)
    large = _dashboard_statements(app, db, world.jiangsu)
    assert large == small
    assert small <= 12  # regions, children, settings, kept counts ×2, appointment, targets, kept compliance…
    data = queries.dashboard(db, world.jiangsu, YEAR, TODAY)
    assert data["counted_at"] is not None and data["pool"]["computed_at"] is not None
    # The city's dashboard (one row per county, the city's own row first) costs the same, and one statement for
    # its province (whose rules apply).
    assert _dashboard_statements(app, db, world.nantong) == small + 1


def test_perf_dashboard_page_statements_do_not_grow(app, db, world, login_as):
    c = login_as("js_admin")
    _member(db, world, 99, world.qidong, world.ent_qd, 90)
    _keep(db)
    engine = app.extensions["lms_db"].engine
    with Statements(engine) as s:
        assert c.get("/reports/dashboard").status_code == 200
    small = s.n
    for i in range(5):
        county = org_services.ensure_region(db, f"3206{90 + i}", f"测试县{i}", world.nantong, f"测试县{i}市场监督管理局")
        _member(db, world, i, county, factories.make_enterprise(db, county, name=f"测试企业{i}"), 50)
    _keep(db)
    with Statements(engine) as s:
        page = c.get("/reports/dashboard")
    assert page.status_code == 200 and s.n == small
    assert 'id="credit-computed-at"' in page.get_data(as_text=True)
