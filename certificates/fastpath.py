"""The verification GETs' WSGI-level path (issue 20), in front of Flask through the platform's ``lms.fastpath``.

``/api/v1/verify/<cid>`` and ``/v/<cid>`` are answered here when the answer can be exactly the Flask view's
(``certificates.api.public_verify``, ``certificates.views.public_verify``): the same record in one statement
(``services.read_public_record``: ``find_public_record``'s statement compiled once, on the thread's own DB-API
connection), the same ETag, the same bytes from the per-process cache the views fill
(``public_answers.bodies``), the verification limit counted once on Flask-Limiter's key (``lms.ratelimit.count``),
the scan logged as the view logs it, the same headers and the same access line. A process's first scan of a
certificate (no answer kept for its current state) is answered here too: the answer is built by the views' own
functions (``public_answers.json_answer`` in an application context with the visitor's language,
``public_answers.page_answer`` under a pushed, undispatched request context) and kept for the next. Everything else
goes to Flask, before any side effect:

- a setting off (``CERT_VERIFY_FAST_PATH``), an application mounted under a prefix, another method (POST, HEAD);
- a query string other than the JSON's one ``sig``, any cookie but ``lang`` (a session may carry a message to
  show, and a signed-in user's session is kept alive by Flask's hooks), a conditional header other than
  ``If-None-Match``, an X-Forwarded-* header ProxyFix did not consume;
- an unknown or malformed certificate number (Flask renders the red page and its 404);
- past the limit: the request is counted here and handed over with its count (``lms.ratelimit.PRECOUNTED``), so
  Flask answers the same 429 without counting it again;
- any error.

``tests/unit/test_perf_verify_fastpath.py`` compares each answer with the Flask view's, byte for byte.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

from flask import Flask
from flask_babel import force_locale
from flask_limiter.util import get_remote_address
from werkzeug.http import http_date, parse_cookie, parse_etags

from certificates import public_answers, services
from certificates.services.verification import _CID_RE  # the views' own test of a number
from certificates.verification_log import batched_log_of
from lms import fastpath, ratelimit
from lms.extensions import limiter
from lms.templating import today_local

API = "/api/v1/verify/"
PAGE = "/v/"
_DIGITS = re.compile(r"^[+-]?\d+$")
_REFUSED = frozenset(("HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE",
                      "HTTP_IF_RANGE"))


def _language(environ) -> str | None:
    """``lms.extensions.select_locale`` from the cookies, or None when a cookie other than ``lang`` is sent."""
    header = environ.get("HTTP_COOKIE")
    if not header:
        return "zh_Hans_CN"
    cookies = parse_cookie(header)
    if any(name != "lang" for name in cookies):
        return None
    return "en" if cookies.get("lang") == "en" else "zh_Hans_CN"


def _sig(query: str) -> tuple[bool, str | None]:
    """(handled, sig) of the JSON's query string: empty, or ``sig=`` once and nothing else."""
    if not query:
        return True, None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False, None
    if len(pairs) != 1 or pairs[0][0] != "sig" or "&" in query or ";" in query:
        return False, None
    value = pairs[0][1]
    if len(value) > 18 and _DIGITS.match(value.strip()):  # lms.web._integers_in_range's 400: Flask's to answer
        return False, None
    return True, value


def handle(app: Flask, environ, start_response):
    config = app.config
    if not config["CERT_VERIFY_FAST_PATH"] or environ.get("SCRIPT_NAME"):
        return None
    path = environ.get("PATH_INFO", "")
    if path.startswith(API):
        channel, cid = "api", path[len(API):]
        handled, sig = _sig(environ.get("QUERY_STRING", ""))
        if not handled:
            return None
    elif path.startswith(PAGE):
        channel, cid, sig = "page", path[len(PAGE):], None
        if environ.get("QUERY_STRING"):
            return None
    else:
        return None
    if not _CID_RE.match(cid) or limiter._key_func is not get_remote_address:  # noqa: SLF001
        return None
    if not _REFUSED.isdisjoint(environ):
        return None
    if "HTTP_X_FORWARDED_FOR" in environ and not config.get("TRUSTED_PROXIES"):  # lms.doctor's warning: Flask's
        return None
    locale = _language(environ)
    if locale is None:
        return None
    started = fastpath.clock()
    state = app.extensions["lms_db"]
    # no session: the statement on a DB-API connection of what the sessions are bound to (an Engine's thread-owned
    # read connection, or the tests' Connection), and the answer's functions take the record read here
    bind = state.sessionmaker.kw.get("bind") or state.engine
    if bind is state.engine:  # the records this process read, kept while the change feed says they are current
        rec = kept_records_of(app).read(bind, cid)
    else:
        rec = services.read_public_record(bind, cid)
    return _answer(app, environ, start_response, state, bind, channel, cid, sig, locale, started, rec)


def _answer(app, environ, start_response, state, bind, channel, cid, sig, locale, started, rec):
    config = app.config
    environ[public_answers.HANDED] = (cid, rec)  # if Flask answers after all, it reads no record again
    if rec is None:
        return None
    today = today_local()
    sig_valid = None if sig is None else public_answers.signature_matches(rec.cert, sig, config["CERT_KEY_DIR"])
    if channel == "api":
        etag = rec.etag(today, "json", locale, sig_valid)
        cache_key = etag
    else:
        etag = rec.etag(today, "page", locale)
        cache_key = (etag, "")
    inm = environ.get("HTTP_IF_NONE_MATCH")
    not_modified = bool(inm) and parse_etags(inm).contains(etag)
    body = b""
    if not not_modified:
        kept = public_answers.bodies_of(app).get(cache_key)
        if kept is None:  # a first scan: built here by the views' own functions, and kept for the next
            kept = _build(app, environ, channel, rec, today, sig_valid, locale, cache_key)
        body = kept if isinstance(kept, bytes) else kept.encode()
    counted = ratelimit.count(limiter, verify_limit_of(app), "cert-verify", environ.get("REMOTE_ADDR") or "127.0.0.1")
    if counted is None:
        return None
    item, n, reset = counted
    if n > item.amount:  # Flask answers the 429, with this count
        environ[ratelimit.PRECOUNTED] = ("cert-verify", item, n, reset)
        return None
    rid = fastpath.request_id(environ)
    _log(app, state, bind, rec, channel, services.effective_status(rec.cert, today).value, sig_valid)
    max_age = f"public, max-age={int(config['CERT_VERIFY_CACHE_SECONDS'])}"
    quoted = f'"{etag}"'
    # werkzeug's make_conditional drops the entity headers of a 304 (Content-Type, Content-Length)
    entity = [] if not_modified else [("Content-Type", "application/json" if channel == "api" else
                                       "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    cors = [("Access-Control-Allow-Origin", "*")] if channel == "api" else []
    headers = entity + cors + [("Cache-Control", max_age), ("Vary", "Cookie"), ("ETag", quoted)]
    headers.append(("Date", http_date()))  # werkzeug's make_conditional adds it
    headers += ratelimit.headers(item, n, reset)
    return fastpath.respond(app, environ, start_response, "304 NOT MODIFIED" if not_modified else "200 OK",
                            headers, body, rid=rid, started=started)


def _log(app, state, bind, rec, channel, status: str, sig_valid) -> None:
    """The scan logged as the views log it: by the batch writer (production: no session needed; a session a scan
    was ~17 Python calls, issue 20), or in a transaction of its own (tests, which read the row at once)."""
    if batched_log_of(app):
        services.log_verification(None, rec.cert, channel, status, signature_valid=sig_valid, batched=True, bind=bind)
        return
    session = state.sessionmaker()
    try:
        services.log_verification(session, rec.cert, channel, status, signature_valid=sig_valid)
        session.commit()
    finally:
        session.close()


def _build(app, environ, channel, rec, today, sig_valid, locale, cache_key):
    """A first scan's answer, with the views' functions and kept as they keep it (``public_answers.keep``). The
    JSON needs only the visitor's language: an application context with Flask-Babel's locale forced. The page
    needs a request's context (url_for, the language selector, the form): pushed, not dispatched — no hooks, no
    session saved (the fast path took no request with a cookie but ``lang``). No database session: given the
    record, the public view makes no statement."""
    size = app.config["CERT_VERIFY_BODY_CACHE"]
    if channel == "api":
        with app.app_context(), force_locale(locale):
            return public_answers.keep(app, cache_key, lambda: public_answers.json_answer(
                app, None, rec, today, sig_valid), size)
    with app.request_context(environ):
        return public_answers.keep(app, cache_key, lambda: public_answers.page_answer(None, rec, today), size)


def verify_limit_of(app: Flask) -> str:
    """``certificates.limits.verify_limit`` of ``app`` (no application context here)."""
    return app.config["CERT_VERIFY_RATE_LIMIT"]


def kept_records_of(app: Flask) -> services.KeptRecords:
    """``app``'s kept public records (``services.KeptRecords``) on its engine's change feed, made on first use."""
    kept = app.extensions.get("cert_kept_records")
    if kept is None:
        engine = app.extensions["lms_db"].engine
        kept = app.extensions.setdefault("cert_kept_records", services.KeptRecords(
            getattr(engine, "lms_changes", None), int(app.config["CERT_VERIFY_RECORD_CACHE"]),
            float(app.config["CERT_VERIFY_RECORD_SECONDS"])))
    return kept


def init_app(app: Flask) -> None:
    fastpath.register(app, API, handle)
    fastpath.register(app, PAGE, handle)

