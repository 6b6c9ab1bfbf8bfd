"""WSGI-level fast paths in front of Flask (issue 20): the platform's hook, the features' handlers.

A Flask request of this application pays ~800 Python calls before and after any view (the request context, the
session, sixteen hooks, the response object); a public verification GET answered from its per-process cache
needs a handful of them. ``Dispatcher`` sits between ProxyFix and Flask and offers each request whose method a
route was registered for (GET unless told: the verification's GETs, the exam's autosave POST) and whose path starts
with a registered prefix to that prefix's handler, which either answers it completely — the same status, bytes
and headers as the Flask view, through ``respond`` — or returns None, and the request goes to Flask as if the
dispatcher were not there. A handler must return None before any side effect it cannot hand over (what it has
counted, it records in the environ for the Flask path to reuse: ``lms.ratelimit``'s ``PRECOUNTED``).

``respond`` adds what the platform adds to every Flask response (``lms.web``'s security headers and request id,
``lms.requestlog``'s access line), so a handler only states its own status, headers and body.
"""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask

from lms import requestlog, web

log = logging.getLogger("lms")


class Dispatcher:
    """The WSGI app ``create_app`` installs in front of Flask's own ``wsgi_app`` (inside ProxyFix)."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        self.routes: list[tuple[str, object, frozenset]] = []
        self.methods: frozenset = frozenset()  # the methods some route takes

    def __call__(self, environ, start_response):
        if self.routes and environ.get("REQUEST_METHOD") in self.methods:
            path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
            for prefix, handler, methods in self.routes:
                if method in methods and path.startswith(prefix):
                    try:
                        answer = handler(self.app, environ, start_response)
                    except Exception:  # anything unexpected: Flask answers it (and reports it) as always
                        log.debug("fast path %s failed; handing the request to Flask", prefix, exc_info=True)
                        answer = None
                    if answer is not None:
                        return answer
                    break
        return self.wsgi_app(environ, start_response)


def install(app: Flask) -> Dispatcher:
    """Put the dispatcher in front of Flask's ``wsgi_app`` (before ProxyFix wraps it: handlers see the visitor's
    address as the views do)."""
    dispatcher = Dispatcher(app, app.wsgi_app)
    app.wsgi_app = dispatcher
    app.extensions["lms_fastpath"] = dispatcher
    return dispatcher


def register(app: Flask, prefix: str, handler, methods=("GET",)) -> None:
    """``handler(app, environ, start_response)`` gets the requests of ``methods`` (GETs unless told) whose path
    starts with ``prefix``; it returns the WSGI answer (from ``respond``), or None for Flask to answer. A handler
    of a method with a body that reads it puts it back (``environ["wsgi.input"]``) before it returns None."""
    dispatcher = app.extensions["lms_fastpath"]
    dispatcher.routes.append((prefix, handler, frozenset(methods)))
    dispatcher.methods = dispatcher.methods | frozenset(methods)


def request_id(environ) -> str:
    """``lms.web``'s request id: the caller's X-Request-ID if well formed, else a new one."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if web._RID_RE.fullmatch(incoming) else uuid.uuid4().hex  # noqa: SLF001 (the platform's own)


def respond(app: Flask, environ, start_response, status: str, headers: list, body: bytes, *, rid: str,
            started: float, after: tuple = (), uid: int | None = None) -> list[bytes]:
    """Send a complete answer with the platform's headers appended as ``lms.web._headers`` appends them (the
    handler's ``headers`` name neither the security headers nor X-Request-ID), then ``after`` (what Flask appends
    later: ``lms.web``'s Cache-Control of a view's answer, the session's Vary), and write the access line as
    ``lms.requestlog`` writes it (``uid``: the signed-in user's, as Flask-Login's ``g._login_user`` gives it)."""
    out = list(headers)
    out.extend(web._DEFAULTS)  # noqa: SLF001
    out.extend(web._ALWAYS)  # noqa: SLF001
    out.append(("X-Request-ID", rid))
    if app.config["PUBLIC_BASE_URL"].startswith("https://"):
        out.append(web._HSTS)  # noqa: SLF001
    out.extend(after)
    start_response(status, out)
    requestlog.write(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), int(status[:3]), started,
                     uid, environ.get("REMOTE_ADDR"), rid)
    return [body]


def clock() -> float:
    """The access line's clock (``lms.requestlog``'s)."""
    return time.perf_counter()
