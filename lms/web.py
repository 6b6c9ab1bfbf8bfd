"""Cross-cutting web behaviour: request ids, security headers, error pages, log scrubbing, helpers."""
from __future__ import annotations

import io
import logging
import random
import re
import time
import uuid
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, g, jsonify, make_response, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import wrap_file

from lms import audit, lean
from lms.db import db, is_retryable, is_serialization_conflict
from lms.errors import DomainError
from lms.pii import scrub
from lms import storage

_RID_RE = re.compile(r"[A-Za-z0-9-]{8,64}")  # fullmatch: no trailing newline

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ScrubFilter(logging.Filter):
    """Masks anything that looks like an ID or phone number before it reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = scrub(msg), ()
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" in record.__dict__:  # given by the caller (a request answered outside Flask: lms.fastpath)
            return True
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:
            record.request_id = "-"
        return True


def configure_logging(app: Flask) -> None:
    """Log to standard error with the request id, masking ID and phone numbers."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(ScrubFilter())
    root = logging.getLogger("lms")
    if not any(isinstance(h, logging.StreamHandler) and any(isinstance(f, ScrubFilter) for f in h.filters) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Werkzeug's access log prints the path and query; paths never carry personal data by design, but
    # scrub anyway.
    logging.getLogger("werkzeug").addFilter(ScrubFilter())


def current_request_id() -> str:
    """This request's id (logs, audit events, error pages), or '' outside a request."""
    try:
        return g.get("request_id", "")
    except RuntimeError:
        return ""


def wants_json() -> bool:
    """Should an error be answered as JSON (the API, or a client that asks for JSON only)?"""
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    )


def init_app(app: Flask) -> None:
    """Install the cross-cutting behaviour: logging, request ids, security headers, error pages."""
    configure_logging(app)
    app.before_request(lean.platform_hook(_request_id))
    app.before_request(lean.platform_hook(_integers_in_range))
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unhandled)
    _retry_conflicts(app)


def _retry_conflicts(app: Flask) -> None:
    """Run a request's view again (at most DB_CONFLICT_RETRIES times) when PostgreSQL aborts its transaction
    with a serialization failure or a deadlock: the rolled-back transaction, run again, usually gets through.
    What is still in conflict after that answers 503 with Retry-After (``_unhandled``). SQLite's "database is
    locked" is not rerun here: it comes after the whole lock timeout has been waited already."""
    dispatch = app.dispatch_request

    def dispatch_request():
        tries = int(app.config.get("DB_CONFLICT_RETRIES", 3))
        for i in range(tries + 1):
            try:
                return dispatch()
            except DBAPIError as exc:
                if not is_serialization_conflict(exc) or i == tries:
                    raise
                db.session.rollback()
                g.pop("denied_events", None)
                logging.getLogger("lms").warning("database conflict on %s %s, running it again (%d)",
                                                 request.method, request.path, i + 1)
                time.sleep(0.02 * (2 ** i) + random.random() * 0.03)
        raise AssertionError("unreachable")

    app.dispatch_request = dispatch_request


def _request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _RID_RE.fullmatch(incoming) else uuid.uuid4().hex


INT64_MAX = 2**63 - 1
_DIGITS_RE = re.compile(r"^[+-]?\d+$")


def _integers_in_range() -> None:
    """Integers beyond 64 bits in a path (404) or a query string (400) are refused before any view runs, for pages
    and the API alike: the database cannot hold them, and they used to surface as a 500 (OverflowError)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not -INT64_MAX <= value <= INT64_MAX:
            abort(404)
    if not request.environ.get("QUERY_STRING"):  # nothing to parse (issue 20: request.args was ~7 % of /healthz)
        return
    for value in request.args.values():
        if len(value) > 18 and _DIGITS_RE.match(value.strip()) and abs(int(value)) > INT64_MAX:
            abort(400)


# The security headers every response carries, built once (issue 20: ten ``Headers.set`` calls a request were
# ~8 % of /healthz). ``_ALWAYS`` replace what a view set; ``_DEFAULTS`` only fill in what it did not.
_ALWAYS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
           ("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)"))
_DEFAULTS = (("Content-Security-Policy", CSP), ("Referrer-Policy", "same-origin"))  # a view may be stricter (/C/)
_HSTS = ("Strict-Transport-Security", "max-age=31536000")
_NO_STORE = ("Cache-Control", "no-store")


_ALWAYS_LOWER = tuple(k.lower() for k, _v in _ALWAYS)
_DEFAULTS_LOWER = tuple(k.lower() for k, _v in _DEFAULTS)


def _headers(resp):
    headers = resp.headers
    present = {k.lower() for k in headers.keys()}
    add = [pair for pair, low in zip(_DEFAULTS, _DEFAULTS_LOWER) if low not in present]
    for pair, low in zip(_ALWAYS, _ALWAYS_LOWER):
        if low in present:
            del headers[pair[0]]
        add.append(pair)
    if "x-request-id" in present:
        del headers["X-Request-ID"]
    add.append(("X-Request-ID", g.get("request_id", "")))
    # HSTS only where the site is served over TLS
    if "strict-transport-security" not in present and current_app.config["PUBLIC_BASE_URL"].startswith("https://"):
        add.append(_HSTS)
    if "cache-control" not in present and request.endpoint and request.endpoint != "static":
        add.append(_NO_STORE)
    if type(headers) is Headers:  # the pairs are constants and a checked id: appended as Headers.add would
        headers._list.extend(add)  # noqa: SLF001 (Werkzeug 3's list of pairs; ~50 calls a request fewer)
    else:
        headers.extend(add)
    return resp


def cache_publicly(resp: Response, max_age: int, etag: str | None = None) -> Response:
    """A public answer that carries no session (issue 20: the certificate verification page and JSON): a proxy
    or browser may keep it ``max_age`` seconds and then revalidate it by its ETag, a digest of the body, so any
    change shown (a revocation, a reissue, a standing) is a new ETag; ``If-None-Match`` with the current one
    answers 304. The language comes from a cookie, hence ``Vary: Cookie``. GET and HEAD only; never with a
    Set-Cookie (a response that sets one stays ``no-store``). ``etag``: the view's own, computed from what the
    answer depends on (certificates.public_answers), instead of a digest of the body."""
    if request.method not in ("GET", "HEAD") or "Set-Cookie" in resp.headers:
        return resp
    resp.headers["Cache-Control"] = f"public, max-age={int(max_age)}"
    resp.vary.add("Cookie")
    if etag is None:
        resp.add_etag()
    else:
        resp.set_etag(etag)
    return resp.make_conditional(request)


MESSAGES = {
    400: (_l("请求有误"), _l("提交的内容无法处理，请检查后重试。")),
    401: (_l("需要登录"), _l("请先登录。")),
    403: (_l("无权访问"), _l("您没有执行此操作的权限。")),
    404: (_l("页面不存在"), _l("您访问的页面或记录不存在，或您无权查看。")),
    405: (_l("请求方式不被允许"), _l("此地址不支持该请求方式。")),
    413: (_l("文件过大"), _l("上传的文件超过了允许的大小。")),
    422: (_l("内容有误"), _l("提交的内容未通过校验。")),
    429: (_l("请求过于频繁"), _l("请稍后再试。")),
    503: (_l("系统繁忙"), _l("数据库正忙，您的操作没有保存。请稍候几秒再提交一次。")),
    500: (_l("服务器内部错误"), _l("系统出现了问题，我们已记录。请把页面上的请求编号告诉管理员。")),
}


def _render(status: int, title: str, message: str, fields: dict | None = None, problems: list | None = None):
    if wants_json():
        body = {"error": title, "message": message, "status": status, "request_id": g.get("request_id", "")}
        if fields:
            body["fields"] = fields
        if problems:  # a refused spreadsheet or table: each problem's row, column, value and message
            body["problems"] = [p.as_json() for p in problems]
        return jsonify(body), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _flush_denied() -> None:
    if "denied_events" in g:
        audit.flush_denied(db.session)


def _http_error(exc: HTTPException):
    _flush_denied()
    title, message = MESSAGES.get(exc.code or 500, (exc.name, exc.description))
    if exc.code == 400 and "CSRF" in (exc.description or ""):
        message = _("页面已过期或来源不明（CSRF 校验失败），请刷新页面后重新提交。")
    resp = make_response(_render(exc.code or 500, str(title), str(message)))
    if exc.code == 429 and getattr(exc, "retry_after", None):
        resp.headers["Retry-After"] = str(exc.retry_after)
    if exc.code == 405 and getattr(exc, "valid_methods", None):  # RFC 9110: a 405 names the methods allowed
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


def _domain_error(exc: DomainError):
    _flush_denied()
    title, _m = MESSAGES.get(exc.status, MESSAGES[400])
    return _render(exc.status, str(title), exc.message, getattr(exc, "errors", None), getattr(exc, "problems", None))


def _busy(exc: DBAPIError):
    """Past the lock timeout, or still in conflict after the reruns: nothing of the request is kept (its
    transaction is rolled back) and the client is told to try again later."""
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the teardown closes the session anyway
        logging.getLogger("lms").debug("rollback after a database conflict failed", exc_info=True)
    g.pop("denied_events", None)
    logging.getLogger("lms").warning("database busy on %s %s: %s", request.method, request.path,
                                     type(exc.orig).__name__)
    title, message = MESSAGES[503]
    resp = make_response(_render(503, str(title), str(message)))
    resp.headers["Retry-After"] = str(int(current_app.config.get("DB_RETRY_AFTER", 5)))
    return resp


def _unhandled(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, DBAPIError) and (is_retryable(exc) or exc.connection_invalidated):
        # A lost connection (PostgreSQL restarted; the pool does not test connections first, DB_POOL_PRE_PING):
        # its transaction is gone, SQLAlchemy replaces the pool's connections, the client tries again.
        return _busy(exc)
    # Logged once (app.logger is this same "lms" logger); SQL parameters never appear (hide_parameters).
    logging.getLogger("lms").exception("unhandled error on %s %s", request.method, request.path)
    title, message = MESSAGES[500]
    return _render(500, str(title), str(message))


def send_upload(rel_path: str, mimetype: str, download_name: str):
    """Send a stored upload as an attachment, or 404 if it is missing or its key escapes UPLOAD_DIR. The
    caller has already loaded the owning record through the scoping helper. The file is read whole and its
    checksums checked here (such uploads are at most ``lms.uploads.MAX_BYTES``), so nothing stays open after
    the response; a file that fails its checksum is logged and refused (500), never sent damaged."""
    try:
        data = storage.read_bytes(db.session, current_app.extensions["lms_db"].sessionmaker,
                                  current_app.config["UPLOAD_DIR"], rel_path)
    except storage.ChecksumMismatch:
        logging.getLogger("lms").error("stored file %s failed its checksum", rel_path)
        abort(500)
    except (FileNotFoundError, IsADirectoryError):
        abort(404)
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=download_name)


def stream_stored(key: str, mimetype: str, *, etag: str, download_name: str, max_age: int) -> Response:
    """Stream a stored file (a lesson's video or PDF) inline, answering Range requests (206) so a video can be
    scrubbed, from whichever backend holds it; each piece is checked against its digest before it is sent.
    404 if the file is missing."""
    try:
        reader = storage.open_object(db.session, current_app.extensions["lms_db"].sessionmaker,
                                     current_app.config["UPLOAD_DIR"], key)
    except (FileNotFoundError, IsADirectoryError):
        abort(404)
    resp = Response(wrap_file(request.environ, reader, buffer_size=storage.PIECE), mimetype=mimetype,
                    direct_passthrough=True)
    resp.set_etag(etag)
    resp.cache_control.max_age = max_age
    # RFC 6266: the UTF-8 name (lesson files are named in Chinese), and a plain fallback for old clients
    resp.headers["Content-Disposition"] = f"inline; filename=\"file\"; filename*=UTF-8''{quote(download_name)}"
    return resp.make_conditional(request, accept_ranges=True, complete_length=reader.size)
