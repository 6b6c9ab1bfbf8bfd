import datetime as dt

from sqlalchemy import select

from lms.db import utcnow
from lms.jobs import services
from lms.jobs.models import JobRun


def test_lease_is_held_by_one_holder_until_it_expires(db):
    now = utcnow()
    assert services.acquire_lease(db, "t", "a", 60, now)
    assert not services.acquire_lease(db, "t", "b", 60, now)
    assert services.acquire_lease(db, "t", "a", 60, now)  # renewal
    assert services.acquire_lease(db, "t", "b", 60, now + dt.timedelta(seconds=61))


def test_job_runs_are_recorded_with_their_result_and_errors(app, db):
    calls = []

    @services.job("test-ok", services.daily(1), "ok")
    def ok(session, now):
        calls.append(now)
        return {"done": 1}

    @services.job("test-fail", services.daily(1), "fails")
    def fail(session, now):
        raise RuntimeError("boom")

    factory = app.extensions["lms_db"].sessionmaker
    try:
        r1 = services.run_job(factory, "test-ok")
        r2 = services.run_job(factory, "test-fail")
    finally:
        services.REGISTRY.pop("test-ok")
        services.REGISTRY.pop("test-fail")
    assert (r1.status, r1.result) == ("ok", {"done": 1})
    assert r2.status == "error" and r2.result["message"] == "boom"
    assert len(calls) == 1
    assert db.scalar(select(JobRun).where(JobRun.job_id == "test-fail")).finished_at is not None


def test_purge_job_is_idempotent(app, db, world):
    from lms.jobs.builtin import purge_sessions
    from lms.auth import services as auth

    s = auth.start_session(db, world.trainee)
    s.ended_at = utcnow() - dt.timedelta(days=40)
    db.flush()
    first = purge_sessions(db, utcnow())
    second = purge_sessions(db, utcnow())
    assert first["sessions"] >= 1 and second == {"login_attempts": 0, "sessions": 0}


def test_missed_jobs_are_those_never_run_or_past_their_next_fire(db):
    from lms.scheduler import load_jobs

    load_jobs()
    # Noon in Shanghai, whatever the hour the suite runs: purge-sessions fires daily at 03:10 Shanghai (19:10 UTC),
    # and a run "an hour ago" taken just after that fire would be missed by design.
    now = utcnow().replace(hour=4, minute=0, second=0, microsecond=0)
    assert "purge-sessions" in services.missed(db, now)
    db.add(JobRun(job_id="purge-sessions", started_at=now - dt.timedelta(hours=1), status="ok"))
    db.flush()
    assert "purge-sessions" not in services.missed(db, now)
    assert "purge-sessions" in services.missed(db, now + dt.timedelta(days=2))


def test_jobs_page_shows_run_status_in_the_users_language(app, client, db, login_as, world):
    factory = app.extensions["lms_db"].sessionmaker
    from lms.scheduler import load_jobs

    load_jobs()
    services.run_job(factory, "purge-sessions", trigger="manual")
    login_as("sys")
    html = client.get("/admin/jobs/").get_data(as_text=True)
    assert ">成功<" in html and ">ok<" not in html


def test_jobs_page_describes_every_job_in_the_readers_language(app, client, db, login_as, world):
    """Every registered job's description is a message: the Chinese page shows the Chinese text and the English
    page its English translation (never the Chinese text, never a missing one)."""
    from lms.scheduler import load_jobs

    load_jobs()
    login_as("sys")
    zh = client.get("/admin/jobs/").get_data(as_text=True)
    client.set_cookie("lang", "en")
    en = client.get("/admin/jobs/").get_data(as_text=True)
    assert services.REGISTRY
    for job in services.REGISTRY.values():
        msgid = str(job.description)  # no request: the default language, Chinese (the message id)
        assert msgid in zh and msgid not in en, job.id
    assert "Marks certificates past their validity as expired" in en
    assert "Talent pool: the previous year's continuing education assessment" in en.replace("&#39;", "'")


def test_jobs_and_background_sessions_run_as_writers(app, db):
    """On SQLite a job's transactions must take the write lock when they begin: a deferred transaction that
    read first fails at its first write if a web request committed in between ('database is locked' in the
    benchmark's exams.prepare_papers run)."""
    from lms.db import _write_intent, db as lms_db

    seen = []

    @services.job("test-intent", services.daily(1), "intent")
    def probe(session, now):
        seen.append(_write_intent.get())

    try:
        services.run_job(app.extensions["lms_db"].sessionmaker, "test-intent")
    finally:
        services.REGISTRY.pop("test-intent")
    with app.app_context(), lms_db.job_session():
        seen.append(_write_intent.get())
    assert seen == [True, True]
    assert _write_intent.get() is False  # and restored afterwards


def test_run_now_on_the_jobs_page_is_background_work(app, client, db, login_as, world, monkeypatch):
    """"立即运行" records the run and commits before the job starts, then hands it to lms.jobs.background: the
    job's own write transactions never wait for the request's lock ("database is locked" when it ran inline)."""
    from lms.jobs import background
    from tests.conftest import post_form

    launched = []
    real_launch = background.launch

    def spy(app_, name, work, *args):
        launched.append((name, work, db.scalar(select(JobRun.status).where(JobRun.id == args[0]))))
        return real_launch(app_, name, work, *args)

    monkeypatch.setattr(background, "launch", spy)
    monkeypatch.setitem(app.config, "BACKGROUND_INLINE", True)
    login_as("sys")
    resp = post_form(client, "/admin/jobs/purge-sessions/run", {}, token_from="/admin/jobs/")
    assert resp.status_code == 302
    assert launched == [("job-purge-sessions", services.finish_run, "running")]
    run = db.scalar(select(JobRun).where(JobRun.job_id == "purge-sessions", JobRun.trigger == "manual"))
    assert run.status == "ok" and run.finished_at is not None
    assert post_form(client, "/admin/jobs/no-such-job/run", {}, token_from="/admin/jobs/").status_code == 302
    assert len(launched) == 1


def test_journey_jobs_page_shows_a_running_jobs_progress_and_the_last_result(app, client, db, login_as, world):
    """Issue 17: a run in progress shows a progress bar the page polls (its status and seconds so far); a finished
    run shows how long it took and its result."""
    from lms.scheduler import load_jobs

    load_jobs()
    started = utcnow() - dt.timedelta(seconds=7)
    running = JobRun(job_id="purge-sessions", started_at=started, status="running", trigger="manual")
    db.add(running)
    db.flush()
    login_as("sys")
    html = client.get("/admin/jobs/").get_data(as_text=True)
    assert 'id="run-progress-purge-sessions"' in html and f'/admin/jobs/runs/{running.id}' in html
    status = client.get(f"/admin/jobs/runs/{running.id}").get_json()
    assert status["status"] == "running" and status["elapsed"] >= 7 and status["result"] is None
    running.status, running.finished_at, running.result = "ok", started + dt.timedelta(seconds=3), {"deleted": 2}
    db.flush()
    assert client.get(f"/admin/jobs/runs/{running.id}").get_json() == {"status": "ok", "elapsed": 3, "result": {"deleted": 2}}
    html = client.get("/admin/jobs/").get_data(as_text=True)
    assert "run-progress-purge-sessions" not in html and "用时 3 秒" in html and 'id="run-result-purge-sessions"' in html
    assert client.get("/admin/jobs/runs/999999").status_code == 404
