"""The platform's clock: what ``lms.db.utcnow`` and ``lms.templating.today_local`` (and through them the jobs,
deadlines, certificates and the roll-up) read as "now".

In production it is the machine's clock, always. A test may move it forward or back with ``travel`` so that
a browser test can walk a story that takes days or years (a certificate issued a few days after the exam, the
year-end roll-up, a second missed year): the live server runs in the test's process, so moving this offset
moves the server's clock, and every page, service and job afterwards sees the same "now". ``travel`` refuses
unless the app is a testing app whose config sets ``CLOCK_TRAVEL`` — a key ``lms.config.load`` never reads
from the environment, so no deployment can set it (docs/development.md "Time")."""
from __future__ import annotations

import datetime as dt

from flask import Flask

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """Now, aware, in UTC, as the platform sees it (the machine's clock plus a test's offset, normally none)."""
    return dt.datetime.now(dt.timezone.utc) + _offset


def travel(app: Flask, to: dt.datetime | dt.timedelta | None) -> dt.datetime:
    """Move the platform's clock (tests only): to the aware instant ``to``, by the timedelta ``to``, or back to
    the machine's clock with None. Refused (RuntimeError) unless ``app`` is testing with ``CLOCK_TRAVEL`` set.
    Returns the new now."""
    global _offset
    if not (app.config["TESTING"] and app.config["CLOCK_TRAVEL"]) or app.config["LMS_ENV"] == "production":
        raise RuntimeError("the clock moves only in tests (TESTING and CLOCK_TRAVEL), never in production")
    if to is None:
        _offset = dt.timedelta(0)
    elif isinstance(to, dt.timedelta):
        _offset += to
    else:
        if to.tzinfo is None:
            raise ValueError("travel to an aware datetime")
        _offset = to - dt.datetime.now(dt.timezone.utc)
    return now()
