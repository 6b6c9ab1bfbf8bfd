"""The exam's autosave at the WSGI level (issue 20), in front of Flask through the platform's ``lms.fastpath``.

With the save's own work down to two kept statements (``attempts.save_answer_signed_in``), a save still paid ~1,900
Python calls of Flask around its view (bench.profile_exam on SQLite: the request context, the session opened, eight
hooks before and four after the view, CSRF re-deriving its signing key, the form parsed to look for a token, the
response object): with 64 trainees on 2 cores the p99 is queueing for a core, so that was the save's p99 too.

``POST /exams/attempts/<id>/answer`` is answered here when the answer is exactly the view's happy path (the signed-in
save, ``exams.views.trainee.save_answer``) and everything Flask would check before the view passes, checked the same
way: the signed cookie session opened by the application's own session interface, Flask-WTF's token rule (a token from
the configured headers, signed with the CSRF key and salt, not expired, equal to the session's; over HTTPS the
referrer of the same origin), the route's declared body cap, the login checked in the guard statement (the session
loader's rule: ``lms.auth.services.live_session_users``), the answer committed before the reply. The answer's bytes are
the view's (``trainee.answer_json``), its headers the platform's (``lms.fastpath.respond``), the access line the same.

Everything else goes to Flask, before any side effect (a body read is put back): the setting off
(``EXAM_SAVE_FAST_PATH``, on unless set), another method, path, query string or
content type; no session cookie, a session Flask would re-send (permanent, a remember-me operation pending) or a token
that does not pass; a length missing or over the cap; Flask-Login's "strong" protection; the limiter with anything
to check; a body Flask parses differently; the guard matching nothing (no live trainee login owning this open attempt:
its write transaction committed nothing) and every refusal of the save (rolled back), which Flask answers as always.

``tests/web/test_perf_23_autosave.py`` compares the answers with the view's, byte for byte, and each refusal.
"""
from __future__ import annotations

import io
import json
import re

from flask import Flask
from werkzeug.http import parse_cookie

from exams.views import trainee
from lms import fastpath, lean
from lms.extensions import limiter
from lms.web import _NO_STORE  # noqa: PLC2701 (the platform's own Cache-Control of a view's answer)

PREFIX = "/exams/attempts/"
ENDPOINT = "exams.save_answer"
SETTING = "EXAM_SAVE_FAST_PATH"  # False: every save through Flask (the tests compare both)
_PATH = re.compile(r"/exams/attempts/([1-9][0-9]{0,17})/answer\Z")  # an int in range (``lms.web``), no zeros first
_VARY_COOKIE = ("Vary", "Cookie")  # the session was read: Flask's save_session adds it


class _Cookies:
    """What the session interface reads of a request: its cookies, parsed as Werkzeug's ``Request.cookies``."""

    __slots__ = ("cookies",)

    def __init__(self, environ) -> None:
        self.cookies = parse_cookie(environ)


def _session(app: Flask, environ):
    """The request's cookie session opened by the application's interface, or None when Flask should answer: no
    session cookie or a bad one, a session Flask would send back (permanent and refreshed, a remember-me cookie to
    set or clear), or a platform hook with something to do (a proxy warning to log)."""
    config = app.config
    if not environ.get("HTTP_COOKIE") or not isinstance(app.session_interface, lean.LeanSessionInterface):
        return None
    if config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST") or (
            environ.get("HTTP_X_FORWARDED_FOR") and not config.get("TRUSTED_PROXIES")):
        return None
    session = app.session_interface.open_session(app, _Cookies(environ))
    if not session or session.permanent or "_remember" in session:
        return None
    return session


def _body(app: Flask, environ) -> bytes | None:
    """The JSON body when its declared length is within the route's cap (``lms.bodylimit``), else None (unread)."""
    if environ.get("CONTENT_TYPE") != "application/json" or environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdigit():
        return None
    cap = min(getattr(app.view_functions.get(ENDPOINT), "body_limit", 0), app.config["MAX_CONTENT_LENGTH"])
    if int(length) > cap:
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)  # for Flask, should it answer after all
    return body if len(body) == int(length) else None  # cut short: Flask answers as it does


def save_answer(app: Flask, environ, start_response):
    """The autosave's happy path, answered completely; None for Flask to answer (see the module's text)."""
    started = fastpath.clock()
    match = _PATH.match(environ.get("PATH_INFO", ""))
    if match is None or environ.get("QUERY_STRING") or environ.get("SCRIPT_NAME") or not app.config[SETTING]:
        return None
    session = _session(app, environ)
    if session is None or trainee.strong_protection(app) or lean.limiter_has_work(limiter, ENDPOINT):
        return None
    session_id = session.get("_user_id")
    if not isinstance(session_id, str) or not lean.csrf_passes(app, environ, session):
        return None
    body = _body(app, environ)
    if body is None:
        return None
    try:
        fields = trainee.answer_fields(json.loads(body))
    except Exception:  # not JSON, or not the save's shape: Flask answers (and explains)
        return None
    with app.app_context():
        found = trainee.save_signed_in(session_id, int(match.group(1)), *fields)
        if found is None:
            return None
        answer = trainee.answer_json(found[1])
    return fastpath.respond(app, environ, start_response, answer.status, list(answer.headers.items()),
                            answer.get_data(), rid=fastpath.request_id(environ), started=started,
                            after=(_NO_STORE, _VARY_COOKIE), uid=found[0])


def init_app(app: Flask) -> None:
    fastpath.register(app, PREFIX, save_answer, methods=("POST",))
