"""One structured line per request on standard error (the ``lms.access`` logger, through the platform's log
handler: time, level, request id, then ``key=value`` fields):

    2026-12-03 09:30:00,123 INFO [3f2a…] lms.access: method=GET path=/v/… status=200 duration_ms=4.1 user=12 ip=203.0.113.9

The path only, never the query string (searches may carry an ID number or a phone); the user's id, never a
name; the visitor's address as ProxyFix gives it (TRUSTED_PROXIES). gunicorn's own access log is off
(gunicorn.conf.py), so there is one line per request, in one format.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from lms import lean

log = logging.getLogger("lms.access")
# Paths whose rest is a secret or personal data (the printed certificate link /C/<TOKEN> carries the holder's
# name and a signature): logged as the prefix and an ellipsis. Compared case-insensitively.
ELIDED_PREFIXES = ("/c/",)


def logged_path(path: str) -> str:
    """``path`` as the access log writes it."""
    for prefix in ELIDED_PREFIXES:
        if path[:len(prefix)].lower() == prefix:
            return path[:len(prefix)] + "…"
    return path


def write(method: str, path: str, status: int, started: float | None, uid, remote_addr: str | None,
          rid: str | None = None) -> None:
    """The access line of one request (``rid``: its request id, given by a request answered outside Flask's
    context, lms.fastpath; a Flask request's comes from ``g``)."""
    if not log.isEnabledFor(logging.INFO):  # LOG_LEVEL above INFO: nothing to format (cached by logging)
        return
    duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log.info("method=%s path=%s status=%s duration_ms=%.1f user=%s ip=%s", method, logged_path(path), status,
             duration, uid if uid is not None else "-", remote_addr or "-",
             extra=None if rid is None else {"request_id": rid})


def init_app(app: Flask) -> None:
    @app.before_request
    @lean.platform_hook
    def _start_clock():
        g.request_started = time.perf_counter()

    @app.after_request
    def _access_line(resp):
        if not log.isEnabledFor(logging.INFO):  # LOG_LEVEL above INFO: nothing to format (cached by logging)
            return resp
        user = g.get("_login_user")  # set by Flask-Login when the request looked at the user; never loaded here
        uid = getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", False) else None
        write(request.method, request.path, resp.status_code, g.get("request_started"), uid, request.remote_addr)
        return resp
