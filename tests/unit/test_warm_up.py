"""A server process warms up before taking requests (gunicorn.conf.py's post_worker_init)."""
import runpy
from pathlib import Path
from types import SimpleNamespace

from lms import warm_up


def test_warm_up_compiles_every_page_template(app):
    warm_up(app)
    names = {name for name in app.jinja_env.list_templates() if name.endswith(".html")}
    cached = {key[1] for key in app.jinja_env.cache.keys()} if app.jinja_env.cache is not None else set()
    assert {"base.html", "courses/checkin.html", "certificates/verify.html"} <= names <= cached


def test_gunicorn_calls_it_for_each_worker(app, monkeypatch):
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    called = []
    monkeypatch.setattr("lms.warm_up", lambda a: called.append(a))
    conf["post_worker_init"](SimpleNamespace(wsgi=app))
    assert called == [app]
