"""Issue 20: ``/healthz`` asks the database at most once in HEALTHZ_DB_CHECK_SECONDS per process (运维设置), never
remembers a failure (503 at once, asked again on the next probe), and keeps its interface ``{"status": "ok"}``."""
from __future__ import annotations

from lms import lean


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _check(app, monkeypatch, outcomes: list):
    """The app's check on a fresh state with a hand-moved clock, and the pings it makes (``outcomes``: None
    answers, an exception fails)."""
    app.extensions.pop("lms_healthz", None)
    check = lean.database_check(app)
    clock = check.clock = Clock()
    pings = []

    def ping(engine):
        pings.append(engine)
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
    monkeypatch.setattr(lean, "ping", ping)
    return check, clock, pings


def test_perf_healthz_pings_at_most_once_a_second(app, client, monkeypatch):
    assert app.config["HEALTHZ_DB_CHECK_SECONDS"] == 1.0
    check, clock, pings = _check(app, monkeypatch, [])
    for _ in range(5):
        resp = client.get("/healthz")
        assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert len(pings) == 1
    clock.now += 0.99
    assert client.get("/healthz").status_code == 200 and len(pings) == 1
    clock.now += 0.02  # past the second: asked again
    assert client.get("/healthz").status_code == 200 and len(pings) == 2
    assert pings[0] is app.extensions["lms_db"].engine


def test_perf_healthz_failure_is_answered_at_once_and_never_remembered(app, client, monkeypatch):
    lost = OSError("connection refused")
    check, clock, pings = _check(app, monkeypatch, [None, lost, lost, lost])
    assert client.get("/healthz").status_code == 200
    clock.now += 1.5
    for _ in range(3):  # each probe asks again while the database is gone
        resp = client.get("/healthz")
        assert resp.status_code == 503 and resp.get_json() == {"status": "error", "database": "unreachable"}
    assert len(pings) == 4
    resp = client.get("/healthz")  # back: the first probe sees it, and its success is remembered again
    assert resp.status_code == 200 and len(pings) == 5
    assert client.get("/healthz").status_code == 200 and len(pings) == 5


def test_perf_healthz_zero_seconds_asks_every_time(app, client, monkeypatch):
    check, clock, pings = _check(app, monkeypatch, [])
    monkeypatch.setattr(check, "seconds", 0.0)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert len(pings) == 3
