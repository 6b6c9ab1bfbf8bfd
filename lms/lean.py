"""The platform's per-request floor (issue 20): what every request pays before and after its view.

cProfile of ``/healthz`` against a one-route Flask app returning the same JSON (``bench/bare.py``'s ``flask_app``)
showed the platform spending several times a bare Flask request on work most requests do not need:

- the session: Flask's cookie session builds a new signing serializer (key derivation included) on every
  request, even when the request carries no session cookie at all. ``LeanSessionInterface`` builds it once per
  secret key, and a request without the cookie gets an empty session without touching it;
- the rate limiter: Flask-Limiter's ``before_request`` hook resolves the limits of every request, although this
  application has no default or application-wide limits: only decorated views (and the endpoints their decorated
  helpers hint) are limited, and those decorators check their own limits. ``guard_limiter`` skips the hook for
  an endpoint with nothing to check, so an unlimited route never touches the storage, and a limited one touches it
  once (in its decorator);
- the database session: ``/healthz`` asks the engine directly (``ping``), not an ORM session.

``tests/unit/test_perf_platform.py`` counts the calls a request makes (Python function calls under a profiler,
SQL statements, storage hits, cookies) and fails when the floor grows back.
"""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.engine import Engine


class LeanSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the serializer built once per key set, and no work at all for a
    request that carries no session cookie (the session is created empty, and saved only if a view writes it)."""

    def __init__(self) -> None:
        self._serializer = None
        self._serializer_keys: tuple | None = None

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        keys = (tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        if keys != self._serializer_keys:  # built again only if the key (or its fallbacks) changed
            self._serializer = super().get_signing_serializer(app)
            self._serializer_keys = keys
        return self._serializer

    def open_session(self, app: Flask, request):
        if not app.secret_key:
            return None
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def guard_limiter(app: Flask, limiter) -> None:
    """Skip Flask-Limiter's per-request hook where it has nothing to check (see the module's text). Its own
    decorators still check the decorated views and helpers; an endpoint hinted by a decorated helper, and any
    default, application or blueprint limit configured later, still go through the hook."""
    funcs = app.before_request_funcs.get(None, [])
    for i, fn in enumerate(funcs):
        if getattr(fn, "__func__", None) is type(limiter)._check_request_limit and getattr(fn, "__self__", None) is limiter:
            break
    else:  # limiter disabled (RATELIMIT_ENABLED=False): no hook to guard
        return
    check = funcs[i]
    manager = limiter.limit_manager

    def check_request_limit() -> None:
        endpoint = request.endpoint or ""
        # Flask-Limiter's own state (pinned in requirements.txt): lists built at configuration, read here as is.
        if (manager._application_limits or manager._default_limits or manager._blueprint_limits  # noqa: SLF001
                or limiter._meta_limits or limiter._storage_dead or manager.has_hints(endpoint)):  # noqa: SLF001
            check()

    funcs[i] = check_request_limit


def ping(engine: Engine) -> None:
    """One ``SELECT 1`` on a pooled DB-API connection, without an ORM session or a transaction of SQLAlchemy's
    (``/healthz``: is the database reachable?). The pool rolls the connection back when it is returned."""
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cur.fetchall()
        cur.close()
    finally:
        conn.close()


def cache_ensure_sync(app: Flask) -> None:
    """Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request (~100 calls a request
    with the platform's 16 hooks); the answer never changes for a function, so remember it."""
    original = app.ensure_sync
    known: dict = {}

    def ensure_sync(func):
        try:
            return known[func]
        except KeyError:
            known[func] = wrapped = original(func)
            return wrapped
        except TypeError:  # not hashable: ask Flask every time
            return original(func)

    app.ensure_sync = ensure_sync


def init_app(app: Flask, limiter) -> None:
    app.session_interface = LeanSessionInterface()
    guard_limiter(app, limiter)
    cache_ensure_sync(app)
