"""The application factory.

``create_app`` wires configuration, extensions and blueprints. It never queries the database, migrates,
generates secrets or starts the scheduler: those are separate steps (see the README).
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import configure_mappers
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import audit, bodylimit, bureaus, cli, core_views, doctor, features, pii, published, requestlog, settingbasis, templating, web
from lms import fastpath, lean, multihost
from lms import config as config_module
from lms.api import api_bp
from lms.api import endpoints as _api_endpoints  # noqa: F401  (the API's own routes: the document and the caller)
from lms.auth import services as auth_services
from lms.auth import views as auth_views
from lms.db import db as database  # not ``db``: that would hide the module lms.db behind ``lms.db``
from lms.extensions import babel, bootstrap, csrf, limiter, login_manager, select_locale
from lms.jobs import views as jobs_views
from lms.notifications import views as notifications_views
from lms.orgs import api as _orgs_api  # noqa: F401  (the organisations' API routes)
from lms.orgs import views as orgs_views
from lms.orgs import tier_views  # the tier-organisation page (issue 15): its routes are on the orgs blueprint
from lms.people import api as _people_api  # noqa: F401  (the trainee profiles' API routes)
from lms.people import views as people_views


def create_app(config: dict | None = None, **overrides) -> Flask:
    """Build one application: configuration, extensions, the platform's blueprints and every feature's."""
    app = Flask("lms", instance_path=str(config_module.instance_path()), instance_relative_config=False)
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.load())
    if config:
        app.config.update(config)
    app.config.update(overrides)
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        if not app.config.get(name):
            raise config_module.MissingSecret(name)
    multihost.check(app.config)  # several hosts: no per-process rate limits, no host-local files (issue 21)

    pii.configure(app.config["FIELD_ENCRYPTION_KEY"])
    fastpath.install(app)  # features' WSGI-level paths in front of Flask, inside ProxyFix (issue 20)
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    database.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    limiter.init_app(app)
    lean.init_app(app, limiter)  # the cookie session and the limiter's hook, without per-request set-up (issue 20)
    web.init_app(app)
    bodylimit.init_app(app)  # first of the request hooks: a body over its route's cap is refused unread
    audit.set_request_id_provider(web.current_request_id)
    auth_services.configure_hasher(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
                                   app.config["ARGON2_PARALLELISM"])
    auth_views.init_login(app, login_manager)
    _register_blueprints(app)
    cli.init_app(app)
    doctor.init_app(app)  # production start-up checks, logged once; `flask doctor`
    requestlog.init_app(app)  # one access line per request
    templating.init_app(app)
    settingbasis.init_app(app)  # the basis label of every province setting (issue 15)
    tier_views.register_settings()  # a tier's bureau level is such a setting
    lean.fuse_hooks(app)  # the platform's adjacent request hooks run as one (issue 20)
    return app


def warm_up(app: Flask) -> None:
    """Do once, before a server process takes requests, what the first requests would otherwise pay for:
    configuring the ORM mappers (~120 ms) and compiling the templates. A gunicorn worker starting cold answered
    its first ~20 requests in 1-2.5 s; with 5 workers that was the whole first burst of a check-in (and
    ``max_requests`` restarts workers in production). gunicorn.conf.py calls it in the master (``when_ready``),
    before the workers are forked from it."""
    configure_mappers()
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)


def _register_blueprints(app: Flask) -> None:
    for module in (core_views, auth_views, people_views, orgs_views, jobs_views, notifications_views):
        app.register_blueprint(module.bp)
    for nav in (orgs_views.nav, jobs_views.nav, notifications_views.nav):
        templating.add_nav(nav)
    for panel in (core_views.platform_panels, notifications_views.home_panel):
        core_views.add_home_panel(panel)
    published.init_app(app)
    bureaus.init_app(app)
    features.init_app(app)  # feature blueprints, and their API routes added to api_bp before it is registered
    app.register_blueprint(api_bp)
