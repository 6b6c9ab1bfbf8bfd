"""Issue 17: the platform's clock (lms/clock.py) moves only in a testing app that asks for it, and every reader of
"now" (utcnow, today_local, a job run from the jobs page) follows it."""
from __future__ import annotations

import datetime as dt

import pytest

from lms import clock, config
from lms.db import utcnow
from lms.jobs.services import start_run
from lms.templating import SHANGHAI, today_local


@pytest.fixture
def travelling(app):
    app.config["CLOCK_TRAVEL"] = True
    try:
        yield app
    finally:
        clock.travel(app, None)
        app.config["CLOCK_TRAVEL"] = False


def test_journey_clock_refused_without_the_testing_switch(app, monkeypatch):
    assert app.config["CLOCK_TRAVEL"] is False and "CLOCK_TRAVEL" not in config.load()  # never from the environment
    with pytest.raises(RuntimeError):
        clock.travel(app, dt.timedelta(days=3))
    monkeypatch.setitem(app.config, "CLOCK_TRAVEL", True)
    with monkeypatch.context() as m:  # not a testing app: refused even with the switch
        m.setitem(app.config, "TESTING", False)
        with pytest.raises(RuntimeError):
            clock.travel(app, dt.timedelta(days=3))
    with monkeypatch.context() as m:  # production: refused whatever the config says
        m.setitem(app.config, "LMS_ENV", "production")
        with pytest.raises(RuntimeError):
            clock.travel(app, dt.timedelta(days=3))
    assert abs(utcnow() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)


def test_journey_clock_moves_utcnow_today_and_jobs(travelling, db):
    real = dt.datetime.now(dt.timezone.utc)
    clock.travel(travelling, dt.timedelta(days=3))
    assert dt.timedelta(days=3) - dt.timedelta(seconds=5) < utcnow() - real < dt.timedelta(days=3, seconds=5)
    new_year = dt.datetime(real.year + 2, 1, 2, 9, 0, tzinfo=SHANGHAI)
    clock.travel(travelling, new_year)
    assert today_local() == dt.date(real.year + 2, 1, 2)
    assert abs(utcnow() - new_year) < dt.timedelta(seconds=5)
    assert abs(start_run(db, "talent-rollup", "manual").started_at - new_year) < dt.timedelta(seconds=5)
    clock.travel(travelling, None)
    assert today_local() == dt.datetime.now(SHANGHAI).date()
