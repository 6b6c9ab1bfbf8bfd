"""The CQO training platform: the application factory.

``create_app`` wires configuration, extensions and blueprints. It never queries the database, migrates,
generates secrets or starts the scheduler: those are separate steps (see the README).
"""
from __future__ import annotations

from flask import Flask

from lms import config as config_module


def create_app(config: dict | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_path=str(config_module.instance_path()), instance_relative_config=False)
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.load())
    if config:
        app.config.update(config)
    app.config.update(overrides)
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        if not app.config.get(name):
            raise config_module.MissingSecret(name)

    from lms import pii

    pii.configure(app.config["FIELD_ENCRYPTION_KEY"])
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from lms import web
    from lms.db import db
    from lms.extensions import babel, bootstrap, csrf, limiter, login_manager, select_locale

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    limiter.init_app(app)
    web.init_app(app)

    from lms import audit

    audit.set_request_id_provider(web.current_request_id)

    from lms.auth import services as auth_services
    from lms.auth import views as auth_views

    auth_services.configure_hasher(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"])
    auth_views.init_login(app, login_manager)

    _register_blueprints(app)

    from lms import cli, doctor

    cli.init_app(app)
    doctor.init_app(app)  # production start-up checks, logged once; `flask doctor`
    from lms import requestlog

    requestlog.init_app(app)  # one access line per request
    from lms import templating

    templating.init_app(app)
    return app


def warm_up(app: Flask) -> None:
    """Do once, before a server process takes requests, what the first requests would otherwise pay for:
    configuring the ORM mappers (~120 ms) and compiling the templates. A gunicorn worker starting cold answered
    its first ~20 requests in 1-2.5 s; with 5 workers that was the whole first burst of a check-in (and
    ``max_requests`` restarts workers in production). gunicorn.conf.py calls it in the master (``when_ready``),
    before the workers are forked from it."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)


def _register_blueprints(app: Flask) -> None:
    from lms import features
    from lms.api import api_bp
    from lms.api import endpoints  # noqa: F401  (the API's own routes: the document and the caller)
    from lms.auth.views import bp as auth_bp
    from lms.core_views import bp as core_bp
    from lms.jobs.views import bp as jobs_bp
    from lms.notifications.views import bp as notifications_bp
    from lms.orgs import api as _orgs_api  # noqa: F401
    from lms.orgs.views import bp as orgs_bp
    from lms.people import api as _people_api  # noqa: F401
    from lms.people.views import bp as people_bp
    from lms import bureaus, published

    for bp in (core_bp, auth_bp, people_bp, orgs_bp, jobs_bp, notifications_bp):
        app.register_blueprint(bp)
    published.init_app(app)
    bureaus.init_app(app)
    features.init_app(app)  # feature blueprints, and their API routes added to api_bp before it is registered
    app.register_blueprint(api_bp)
