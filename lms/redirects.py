"""The one check of redirect targets (issue 18): only same-origin relative paths are followed.

A target from the user (login ``next``, the language switch's ``next`` or referrer, a ``back`` parameter) is
accepted only if it is a path on this site: it starts with one ``/``, has no scheme or host, and — after
percent-decoding, repeatedly — no second leading slash, no backslash and no control or whitespace character
(``/%09/evil.example`` and ``%0D%0A`` included). Anything else goes to the home page.
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import request


def _decoded_forms(target: str):
    seen = target
    for _ in range(4):  # double- and triple-encoded tricks decode to the same thing
        yield seen
        nxt = unquote(seen)
        if nxt == seen:
            return
        seen = nxt
    yield seen


def safe_target(target: str | None) -> str | None:
    """``target`` if it is a same-origin relative path, else None."""
    if not target or not isinstance(target, str) or len(target) > 2048:
        return None
    for form in _decoded_forms(target):
        if not form.startswith("/") or form.startswith("//") or "\\" in form:
            return None
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in form):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return target


def safe_referrer() -> str | None:
    """The referrer as a relative path if it is a page of this site, else None."""
    ref = request.referrer or ""
    if not ref.startswith(request.host_url):
        return None
    return safe_target("/" + ref[len(request.host_url):])

