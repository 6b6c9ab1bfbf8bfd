"""A server process warms up before taking requests (gunicorn.conf.py's post_worker_init)."""
import runpy
from pathlib import Path
from types import SimpleNamespace

from lms.app import warm_up


def test_warm_up_compiles_every_page_template(app):
    warm_up(app)
    names = {name for name in app.jinja_env.list_templates() if name.endswith(".html")}
    cached = {key[1] for key in app.jinja_env.cache.keys()} if app.jinja_env.cache is not None else set()
    assert {"base.html", "courses/checkin.html", "certificates/verify.html"} <= names <= cached


def test_gunicorn_warms_the_app_in_the_master_and_forks_it(app, monkeypatch):
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert conf["preload_app"] is True
    called = []
    monkeypatch.setattr("lms.app.warm_up", lambda a: called.append(a))
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    conf["when_ready"](server)
    assert called == [app]
    # post_fork drops the master's pooled connections without closing them: right in a forked child, a leak in
    # this one process (PostgreSQL's driver warns when they are collected). Close them first.
    app.extensions["lms_db"].engine.dispose()
    conf["post_fork"](server, None)  # drops the master's pooled connections, if any
