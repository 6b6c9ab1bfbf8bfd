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
  document (a key rotation replaces the document, and with it the answers). A process's first check of a signature
  still verifies it (Ed25519, ~105 µs CPU, about two bare Flask requests: the largest share of a first JSON scan);
  the keys it verifies with are parsed once a document (``services.verification._public_keys``);
- ``fragment``: the page's parts that depend only on the language (the holder check's empty form), rendered once;
- a request whose ``If-None-Match`` is the current ETag gets its 304 without the answer being built.

The verification is still logged and rate limited on every request, hit or not."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import before_render_template, current_app, render_template, request, session, template_rendered, url_for
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup, escape

from certificates import keys, services
from lms.lru import LRU
from certificates.forms import HolderCheckForm
from certificates.verification_log import batched_log
from lms.db import db
from lms.extensions import select_locale
from lms.templating import today_local


_signatures = LRU(4096)


def bodies() -> LRU:
    """The current application's answers (each app its own: tests build many apps in one process)."""
    return bodies_of(current_app)


def bodies_of(app) -> LRU:
    """``bodies`` of ``app`` (certificates.fastpath reads them outside Flask's context)."""
    return _kept(app, "cert_public_answers")


def _kept(app, name: str, size: int = 1000) -> LRU:
    """``app``'s map ``name`` of kept answers, frames or fragments (each app its own), made on first use."""
    cache = app.extensions.get(name)
    if cache is None:
        cache = app.extensions.setdefault(name, LRU(size))
    return cache


def signature_matches(cert, sig: str, key_dir: str) -> bool:
    """``services.signature_matches`` against the keys ``key_dir`` publishes (a part this server sealed skips the
    Ed25519 computation), remembered per certificate's signed fields, signature and key document."""
    key_doc = keys.public_document(key_dir)
    key = (sig, cert.id, cert.key_id, cert.valid_until, cert.holder_name, cert.number)
    hit = _signatures.get(key)
    if hit is not None and hit[0] is key_doc:
        return hit[1]
    ok = services.signature_matches(cert, sig, key_doc, key_dir)
    _signatures.put(key, (key_doc, ok))
    return ok


# The record certificates.fastpath read before handing a request to Flask (past the limit, an error): (cid, record),
# read a moment before in its own transaction, so that a first scan is still one statement.
HANDED = "certificates.public_record"


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
    handed = request.environ.pop(HANDED, None)  # read by certificates.fastpath, which did not answer
    rec = handed[1] if handed is not None and handed[0] == cid else services.find_public_record(db.session, cid)
    if rec is None:
        services.log_verification(db.session, None, channel, "unknown", batched=batched_log())
        db.session.commit()
        return None
    today = today_local()
    sig_valid = None if sig is None else signature_matches(rec.cert, sig, current_app.config["CERT_KEY_DIR"])
    services.log_verification(db.session, rec.cert, channel, services.effective_status(rec.cert, today).value,
                              signature_valid=sig_valid, batched=batched_log())
    db.session.commit()
    return Scan(rec, today, sig_valid)


def body(key, build, size: int) -> bytes:
    """The answer's bytes kept under ``key`` (its ETag and what else it depends on), built by ``build()`` once."""
    return keep(current_app, key, build, size)


def keep(app, key, build, size: int) -> bytes:
    """``body`` of ``app`` (certificates.fastpath builds a first scan's answer outside Flask's request)."""
    cache = bodies_of(app)
    data = cache.get(key)
    if data is None:
        data = build()
        cache.put(key, data, size)
    return data


def json_answer(app, session, rec: services.PublicRecord, today: dt.date, sig_valid: bool | None) -> bytes:
    """The JSON's bytes (``certificates.api.public_verify`` and ``certificates.fastpath``: one serialiser): the
    public view of the record, the signature's result when a signature was given, Flask's JSON provider. Needs an
    application context whose locale is the visitor's (the labels). ``session`` may be None (the fast path): given
    the record, the public view makes no statement."""
    out = services.public_view(session, rec.cert, today, app.config["CERT_KEY_DIR"], record=rec)
    if sig_valid is not None:
        out["signature_valid"] = sig_valid
    provider = app.json
    if type(provider) is DefaultJSONProvider and (provider.compact is True or (provider.compact is None
                                                                               and not app.debug)):
        # ``DefaultJSONProvider.response``'s compact text (its separators and final newline), without the Response
        # object it is wrapped in and unwrapped from (issue 20: ~60 of a first JSON's ~670 Python calls);
        # tests/unit/test_perf_23_verify_first_scan.py compares the two
        return f"{provider.dumps(out, separators=(',', ':'))}\n".encode()
    return provider.response(out).get_data()


PAGE = "certificates/verify.html"
_MARK = "\x00cert-verify-content\x00"  # where the certificate's part goes in the kept frame (never in a page)


def page_answer(db_session, rec: services.PublicRecord, today: dt.date) -> str:
    """The verification page of a GET (``certificates.views.public_verify`` and ``certificates.fastpath``): the
    public view in ``verify.html`` with an empty holder check. Needs the request's context (its language, links).
    ``db_session`` may be None (the fast path): given the record, the public view makes no statement.

    Only the template's ``content`` block depends on the certificate; the rest (base.html's head, header, footer
    and scripts) depends on the language and the prefix the application is mounted under, and is rendered once a
    process into a frame (``_frame``). A visitor with a message waiting (flashed, shown by base.html outside the
    block) gets the whole template rendered, as before."""
    view = services.public_view(db_session, rec.cert, today, current_app.config["CERT_KEY_DIR"], record=rec)
    context = dict(cert=rec.cert, view=view, form=Deferred(HolderCheckForm), holder_result=None,
                   api_url=url_for("api.public_verify", cid=rec.cert.cid), signature_checked=False,
                   fragment=fragment)
    if session.get("_flashes"):
        return render_template(PAGE, **context)
    return framed(PAGE, context, holes=("view", "api_url"))


class Deferred:
    """``make()``, made when the template first reads one of its attributes. The GET page's holder check form is read
    only inside ``fragment("holder")``, which is rendered once a language: a first scan built a WTForms form it never
    read (issue 20: ~65 Python calls of a first page's ~1,270, cProfile)."""

    def __init__(self, make) -> None:
        self._make, self._made = make, None

    def __getattr__(self, name: str):
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


def framed(name: str, context: dict, holes: tuple = ()) -> str:
    """``render_template(name, **context)`` with everything outside the ``content`` block kept per language and
    prefix: the same context processors and signals, the block rendered alone into the kept frame (``holes``: the
    block's fixed text kept too, see ``_content``). tests/unit/test_perf_verify_fastpath.py checks it equals the
    whole template's rendering."""
    app = current_app._get_current_object()  # noqa: SLF001 (Flask's own idiom for the signals' sender)
    template = app.jinja_env.get_or_select_template(name)
    app.update_template_context(context)
    before_render_template.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    key = (name, select_locale(), request.script_root)
    frames = _kept(app, "cert_public_frames", 64)
    frame = frames.get(key)
    if frame is None:
        outer = template.new_context(context)
        outer.blocks["content"] = [lambda _ctx: iter((_MARK,))]
        frame = tuple(app.jinja_env.concat(template.root_render_func(outer)).split(_MARK))
        if len(frame) != 2:  # the block not exactly once: nothing to fill, render the whole template
            frame = None
        else:
            frames.put(key, frame)
    if frame is None:
        page = template.render(context)
    else:
        page = frame[0] + _content(app, template, context, key, holes) + frame[1]
    template_rendered.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    return page


def fragment(name: str, caller) -> Markup:
    """A part of the verification page that depends only on the language (and the prefix the application is
    mounted under), rendered once a process: ``{% call fragment("holder") %}…{% endcall %}``. Only a GET's page
    passes this one (the holder check's form is empty there); the POST's page passes ``uncached``."""
    key = (name, select_locale(), request.script_root)
    cache = _kept(current_app, "cert_public_fragments", 64)
    html = cache.get(key)
    if html is None:
        html = Markup(caller())
        cache.put(key, html)
    return html


def uncached(name: str, caller) -> Markup:
    """``fragment`` without keeping anything (a page that shows what was typed, or its result)."""
    return Markup(caller())


# The content block's fixed text (issue 20: ~1,500 Python calls a first render, 18 of them translations), kept per
# language, prefix and shape; a render fills in the certificate's values. The values of ``holes`` (the context's
# names: the public view, the API link) are replaced by markers, each leaf its own, and the block rendered once; its
# output split at the markers is the kept text, the leaves escaped as Jinja escapes them go in between. What the
# template tests or compares cannot be a marker: a falsy leaf (``{% if view.reason_label %}``) is kept as it is,
# and so is every leaf under ``_COMPARED`` (``view.status == 'revoked'``); both are part of the shape. The first
# fill of a shape is checked against the block rendered with the real values, and a shape whose fill differs (a
# leaf the template transforms) is remembered as such and always rendered: never a page other than the template's.
_COMPARED = frozenset({("view", "status"), ("view", "pool", "status")})
_MARKER = re.compile("\x00h([0-9]+)\x00")
_UNFILLABLE = object()


def _holes(value, path: tuple, leaves: list):
    """(the marked copy of ``value``, its shape); ``leaves`` gets the values the markers stand for."""
    if isinstance(value, dict):
        marked, shape = {}, []
        for k, v in value.items():
            marked[k], sub = _holes(v, path + (k,), leaves)
            shape.append((k, sub))
        return marked, ("d", tuple(shape))
    if isinstance(value, list):
        pairs = [_holes(v, path, leaves) for v in value]
        return [m for m, _ in pairs], ("l", tuple(sh for _, sh in pairs))
    if not value or path in _COMPARED or isinstance(value, (bool, int, float)):
        return value, ("=", type(value).__name__, value if isinstance(value, (bool, int, float, str)) or value is None
                       else repr(value))
    leaves.append(value)
    return f"\x00h{len(leaves) - 1}\x00", ("*", type(value).__name__)


def _render_block(app, template, context) -> str:
    return app.jinja_env.concat(template.blocks["content"](template.new_context(context)))


def _content(app, template, context: dict, key: tuple, holes: tuple) -> str:
    """The ``content`` block of ``template`` in ``context``: rendered, or (``holes``) filled into its kept text."""
    if not holes:
        return _render_block(app, template, context)
    leaves: list = []
    marked = dict(context)
    shape = []
    for name in holes:
        marked[name], sub = _holes(context[name], (name,), leaves)
        shape.append(sub)
    kept = _kept(app, "cert_public_contents", 256)
    ckey = key + (tuple(shape),)
    parts = kept.get(ckey)
    if parts is _UNFILLABLE:
        return _render_block(app, template, context)
    if parts is None:
        pieces = _MARKER.split(_render_block(app, template, marked))
        parts = (tuple(pieces[0::2]), tuple(int(i) for i in pieces[1::2]))
        page = _fill(parts, leaves)
        whole = _render_block(app, template, context)
        if page != whole:  # a leaf the template transforms or tests: this shape is always rendered
            kept.put(ckey, _UNFILLABLE)
            return whole
        kept.put(ckey, parts)
        return page
    return _fill(parts, leaves)


def _fill(parts: tuple, leaves: list) -> str:
    texts, slots = parts
    out = [texts[0]]
    for i, text in zip(slots, texts[1:]):
        out.append(escape(leaves[i]))
        out.append(text)
    return "".join(out)
