"""The public verification answers' per-process caches (issue 20).

Every scan reads the certificate, its successor and the holder's standing in one statement
(``services.find_public_record``) and derives the answer's ETag from those stored fields
(``PublicRecord.etag``: status, its date and reason, validity, key, the status shown today, the successor, the
standing's rows, the language, the page or the JSON and the signature's result). The answer is then a pure function
of that ETag, so its bytes are kept per process under it:

- ``bodies()``: the rendered page or JSON, at most ``CERT_VERIFY_BODY_CACHE`` answers a process (least recently used
  dropped). A revocation, reinstatement, reissue, suspension, renewal or standing change gives a new ETag, hence a new
  entry; nothing is ever served from a stale one, since the ETag is computed from the database on every request;
- ``signature_matches``: the signature check of a ``sig`` against the published keys, per certificate and key
  document (a key rotation replaces the document, and with it the answers);
- ``fragment``: the page's parts that depend only on the language (the holder check's empty form), rendered once;
- a request whose ``If-None-Match`` is the current ETag gets its 304 without the answer being built.

The verification is still logged and rate limited on every request, hit or not."""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app, request
from markupsafe import Markup

from certificates import keys, services
from certificates.verification_log import batched_log
from lms.db import db
from lms.extensions import select_locale
from lms.templating import today_local


class LRU:
    """A small thread-safe least-recently-used map (gunicorn's threads share a worker's)."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value, size: int | None = None) -> None:
        limit = self.size if size is None else size
        if limit <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > limit:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_signatures = LRU(4096)


def bodies() -> LRU:
    """The current application's answers (each app its own: tests build many apps in one process)."""
    ext = current_app.extensions
    cache = ext.get("cert_public_answers")
    if cache is None:
        cache = ext["cert_public_answers"] = LRU()
    return cache


def signature_matches(cert, sig: str, key_doc: dict) -> bool:
    """``services.signature_matches``, remembered per certificate's signed fields, signature and key document."""
    key = (sig, cert.id, cert.key_id, cert.valid_until, cert.holder_name, cert.number)
    hit = _signatures.get(key)
    if hit is not None and hit[0] is key_doc:
        return hit[1]
    ok = services.signature_matches(cert, sig, key_doc)
    _signatures.put(key, (key_doc, ok))
    return ok


@dataclass(frozen=True)
class Scan:
    """A logged scan of a known certificate: its record, the day it was judged on and the signature's result
    (None when no signature was given)."""
    record: services.PublicRecord
    today: dt.date
    sig_valid: bool | None


def scan(cid: str, channel: str, sig: str | None = None) -> Scan | None:
    """One scan of the verification page or JSON (``channel``: "page" or "api"), the step both doors share: the
    record in one statement, the signature checked when given (remembered per key document), the scan logged with
    the status shown today (by the batch writer) and the read transaction ended. None (logged as unknown) for a
    certificate number that does not exist."""
    rec = services.find_public_record(db.session, cid)
    if rec is None:
        services.log_verification(db.session, None, channel, "unknown", batched=batched_log())
        db.session.commit()
        return None
    today = today_local()
    sig_valid = None if sig is None else signature_matches(
        rec.cert, sig, keys.public_document(current_app.config["CERT_KEY_DIR"]))
    services.log_verification(db.session, rec.cert, channel, services.effective_status(rec.cert, today).value,
                              signature_valid=sig_valid, batched=batched_log())
    db.session.commit()
    return Scan(rec, today, sig_valid)


def body(key, build, size: int) -> bytes:
    """The answer's bytes kept under ``key`` (its ETag and what else it depends on), built by ``build()`` once."""
    cache = bodies()
    data = cache.get(key)
    if data is None:
        data = build()
        cache.put(key, data, size)
    return data


def fragment(name: str, caller) -> Markup:
    """A part of the verification page that depends only on the language (and the prefix the application is
    mounted under), rendered once a process: ``{% call fragment("holder") %}…{% endcall %}``. Only a GET's page
    passes this one (the holder check's form is empty there); the POST's page passes ``uncached``."""
    key = (name, select_locale(), request.script_root)
    cache = current_app.extensions.get("cert_public_fragments")
    if cache is None:
        cache = current_app.extensions["cert_public_fragments"] = LRU(64)
    html = cache.get(key)
    if html is None:
        html = Markup(caller())
        cache.put(key, html)
    return html


def uncached(name: str, caller) -> Markup:
    """``fragment`` without keeping anything (a page that shows what was typed, or its result)."""
    return Markup(caller())
