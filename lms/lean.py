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

import hmac
import time

from flask import Flask, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from werkzeug.wsgi import get_host


# Session values that cannot be changed in place: a session holding only these may be opened from a kept copy.
_IMMUTABLE = frozenset((str, bool, int, float, type(None)))
VERIFIED_MAX = 4_096  # session cookies whose signature a process has checked, kept; emptied when full


class LeanSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the serializer built once per key set, and no work at all for a
    request that carries no session cookie (the session is created empty, and saved only if a view writes it).

    Issue 20, sixth round: a signed-in request's cookie is the same string request after request, yet Flask
    checked its HMAC and decoded its tagged JSON each time (~220 of a pool page's ~4,500 Python calls). A cookie
    whose signature was checked is kept with its signing time and its values (only when each is a string,
    number, bool or None: nothing a view could change in place); it opens from the copy while it is younger than
    the session's lifetime, as itsdangerous counts age, else through Flask as before (which expires it). Kept per
    key set: a changed key or fallback empties it."""

    def __init__(self) -> None:
        self._serializer = None
        self._serializer_keys: tuple | None = None
        self._verified: dict[str, tuple[int, dict]] = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        keys = (tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        if keys != self._serializer_keys:  # built again only if the key (or its fallbacks) changed
            self._serializer = super().get_signing_serializer(app)
            self._serializer_keys = keys
            self._verified = {}
        return self._serializer

    def save_session(self, app: Flask, session, response) -> None:
        # Flask's own, without reading six cookie settings for the commonest case: an empty session nobody
        # emptied (what Flask's does then: Vary: Cookie if it was read, nothing else)
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def open_session(self, app: Flask, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        kept = self._verified.get(val)
        if kept is not None and 0 <= int(time.time()) - kept[0] <= max_age:  # itsdangerous's age check, unchanged
            return self.session_class(kept[1])
        try:
            data, signed_at = serializer.loads(val, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(type(v) in _IMMUTABLE for v in data.values()):
            if len(self._verified) >= VERIFIED_MAX:
                self._verified.clear()
            self._verified[val] = (int(signed_at.timestamp()), dict(data))
        return self.session_class(data)


class _CsrfSerializer:
    """Flask-WTF's token serializer (``validate_csrf``: the key, the salt), built once per key instead of per request
    (its key derivation was ~10 % of an autosave)."""

    def __init__(self) -> None:
        self.key, self.serializer = None, None

    def __call__(self, key) -> URLSafeTimedSerializer:
        if key != self.key:
            self.serializer, self.key = URLSafeTimedSerializer(key, salt="wtf-csrf-token"), key
        return self.serializer


_csrf_serializer = _CsrfSerializer()


def csrf_passes(app: Flask, environ, session) -> bool:
    """Flask-WTF's ``CSRFProtect.protect`` would let this JSON request through, for a WSGI-level path
    (``lms.fastpath``) that answers before Flask: the token of its first configured header (a JSON body has no form
    field) loads with the CSRF key and salt within the time limit and equals the session's; over HTTPS with
    ``WTF_CSRF_SSL_STRICT`` the referrer is of the same origin. False means "let Flask-WTF decide", never "refuse":
    a path hands such a request to Flask (tests/web/test_perf_23_autosave.py compares every refusal with Flask's)."""
    config = app.config
    token = None
    for name in config["WTF_CSRF_HEADERS"]:
        token = environ.get("HTTP_" + name.upper().replace("-", "_"))
        if token:
            break
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    if not token or field not in session:
        return False
    key = config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    try:
        signed = _csrf_serializer(key).loads(token, max_age=config.get("WTF_CSRF_TIME_LIMIT", 3600))
    except BadData:
        return False
    if not hmac.compare_digest(session[field], signed):
        return False
    if environ.get("wsgi.url_scheme") == "https" and config["WTF_CSRF_SSL_STRICT"]:
        referrer = environ.get("HTTP_REFERER")
        return bool(referrer) and same_origin(referrer, f"https://{get_host(environ, config.get('TRUSTED_HOSTS'))}/")
    return True


def limiter_has_work(limiter, endpoint: str) -> bool:
    """Flask-Limiter's per-request hook would check something for ``endpoint``: a default, application or blueprint
    limit, a meta limit, a dead storage, or an endpoint hinted by a decorated helper (Flask-Limiter's own state, pinned
    in requirements.txt: lists built at configuration, read here as is). ``guard_limiter`` skips the hook otherwise;
    a WSGI-level path answers only when this is False."""
    if not limiter.enabled:
        return False
    manager = limiter.limit_manager
    return bool(manager._application_limits or manager._default_limits or manager._blueprint_limits  # noqa: SLF001
                or limiter._meta_limits or limiter._storage_dead or manager.has_hints(endpoint))  # noqa: SLF001


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

    def check_request_limit() -> None:
        if limiter_has_work(limiter, request.endpoint or ""):
            check()

    funcs[i] = check_request_limit
    guard_limiter_after(app, limiter)


def guard_limiter_after(app: Flask, limiter) -> None:
    """Flask-Limiter's after-request hook (its X-RateLimit headers, conditional deductions) and teardown (its
    per-request state reset) on a request that never touched the limiter: both would create that state, empty, to
    find nothing in it. Skipped when the request context carries none (Flask-Limiter's ``_limiter_request_context``,
    created by the first use of the limiter in a request)."""
    after = app.after_request_funcs.get(None, [])
    for i, fn in enumerate(after):
        if getattr(fn, "func", None) is getattr(type(limiter), "_Limiter__inject_headers", None):
            inject = fn

            def inject_headers(response):
                if hasattr(request_ctx._get_current_object(), "_limiter_request_context"):  # noqa: SLF001
                    return inject(response)
                return response
            after[i] = inject_headers
    teardown = app.teardown_request_funcs.get(None, [])
    for i, fn in enumerate(teardown):
        if getattr(fn, "__func__", None) is getattr(type(limiter), "_Limiter__release_context", None):
            release = fn

            def release_context(exc=None):
                if hasattr(request_ctx._get_current_object(), "_limiter_request_context"):  # noqa: SLF001
                    release(exc)
            teardown[i] = release_context


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


class DatabaseCheck:
    """``/healthz``'s question "is the database reachable?", asked at most once in ``HEALTHZ_DB_CHECK_SECONDS``
    per process (issue 20: a ``SELECT 1`` on every probe made /healthz 0.33 × bare Flask on PostgreSQL, while a
    load balancer needs the answer once a second at most). Only a success is remembered: a failure is answered
    (503) at once and the database asked again on the next probe, so a host that lost its database leaves the
    pool on the first probe after the last success expired, and rejoins on the first probe after it is back."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine, self.seconds = engine, float(seconds)
        self._ok_until = 0.0
        self.clock = time.monotonic

    def reachable(self) -> bool:
        now = self.clock()
        if now < self._ok_until:
            return True
        try:
            ping(self.engine)
        except Exception:
            self._ok_until = 0.0
            return False
        self._ok_until = now + self.seconds
        return True


def database_check(app: Flask) -> DatabaseCheck:
    """The app's ``DatabaseCheck`` (one per app and engine: tests build many apps in one process)."""
    ext = app.extensions
    state = ext.get("lms_healthz")
    engine = ext["lms_db"].engine
    if state is None or state.engine is not engine:
        state = ext["lms_healthz"] = DatabaseCheck(engine, app.config.get("HEALTHZ_DB_CHECK_SECONDS", 0))
    return state


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


def platform_hook(fn):
    """Mark a before-request hook of the platform's own (no return value unless it answers the request) that
    ``fuse_hooks`` may run together with its marked neighbours."""
    fn.lms_platform_hook = True
    return fn


def fuse_hooks(app: Flask) -> None:
    """Run each run of adjacent marked before-request hooks as one hook, in the same order (Flask's dispatch of a
    hook, per hook and request: a lookup, a wrapper check, a call). The first hook that returns a value answers
    the request, as in Flask. Called once the hooks are registered (the end of ``create_app``)."""
    funcs = app.before_request_funcs.get(None, [])
    fused: list = []
    run: list = []

    def close_run():
        if len(run) == 1:
            fused.append(run[0])
        elif run:
            hooks = tuple(run)

            def platform_before_request():
                for hook in hooks:
                    rv = hook()
                    if rv is not None:
                        return rv
                return None
            platform_before_request.lms_fused = hooks
            fused.append(platform_before_request)
        run.clear()

    for fn in funcs:
        if getattr(fn, "lms_platform_hook", False):
            run.append(fn)
        else:
            close_run()
            fused.append(fn)
    close_run()
    funcs[:] = fused


def guard_csrf(app: Flask) -> None:
    """Flask-WTF's hook looks up the endpoint and its exemptions before it looks at the method, and returns for a
    method it does not check (GET, HEAD, OPTIONS, TRACE) whatever it found: ask the method first."""
    funcs = app.before_request_funcs.get(None, [])
    for i, fn in enumerate(funcs):
        if getattr(fn, "__name__", "") == "csrf_protect" and fn.__module__ == "flask_wtf.csrf":
            protect = fn

            def csrf_protect():
                if request.method in app.config["WTF_CSRF_METHODS"]:
                    return protect()
                return None
            funcs[i] = csrf_protect


def init_app(app: Flask, limiter) -> None:
    app.session_interface = LeanSessionInterface()
    guard_limiter(app, limiter)
    guard_csrf(app)
    cache_ensure_sync(app)
