"""Request bodies capped per route, before anything reads them (issue 18: an 11 MB evidence file was read
whole before a form error, and anonymous POSTs were parsed up to the site-wide 64 MB).

A view that takes a file declares its cap with ``@body_limit(n)`` (the upload's own limit plus room for the
form around it); every other route gets the small form cap (``FORM_MAX_BYTES``), the API's JSON cap
(``API_MAX_BYTES``) or, for a visitor who is not signed in, the tiny anonymous cap
(``ANON_FORM_MAX_BYTES``). The check runs first among the request hooks (before CSRF parses the form): a
declared ``Content-Length`` over the cap is answered 413 at once, and ``request.max_content_length`` is set so
that a body without a length (chunked) is cut off by the stream at the cap. ``MAX_CONTENT_LENGTH`` stays the
site-wide ceiling."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

from lms import lean

F = TypeVar("F", bound=Callable)
FORM_ROOM = 256 * 1024  # the form fields and multipart framing around an uploaded file


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Declare the largest body ``view`` accepts (put it under ``@bp.route``)."""
    def mark(view: F) -> F:
        view.body_limit = max_bytes  # type: ignore[attr-defined]
        return view
    return mark


def limit_for_request() -> int:
    """The cap of the current request's route."""
    config = current_app.config
    view = current_app.view_functions.get(request.endpoint or "")
    declared = getattr(view, "body_limit", None)
    if declared is not None:
        return min(declared, config["MAX_CONTENT_LENGTH"])
    if request.blueprint == "api":
        return config["API_MAX_BYTES"]
    if not current_user.is_authenticated:
        return config["ANON_FORM_MAX_BYTES"]
    return config["FORM_MAX_BYTES"]


def check_body() -> None:
    """Refuse a body over its route's cap before it is read (413), and bound the stream to the cap."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    cap = limit_for_request()
    if request.content_length is not None and request.content_length > cap:
        abort(413)
    request.max_content_length = cap


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, lean.platform_hook(check_body))
