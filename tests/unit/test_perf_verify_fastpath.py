"""Issue 20: the verification GETs' WSGI-level path (certificates/fastpath.py) answers exactly as the Flask views do.

Each answer is asked twice, once with the fast path off (CERT_VERIFY_FAST_PATH=False: the Flask view) and once with it
on, from the same limiter state and the same clock, and compared byte for byte: status, body, every header in order
(but X-Request-ID, new each request), the verification log's row and the access line (but its duration). Which
path answered is checked too (``lms.fastpath.respond`` called or not), and its Python calls are counted, never timed.
"""
from __future__ import annotations

import difflib
import logging
import re
import types
from urllib.parse import quote

import limits.storage.memory
import werkzeug.wrappers.response
import pytest
from flask import render_template
from sqlalchemy import event, func, select
from werkzeug.http import http_date
from werkzeug.test import EnvironBuilder

import certificates.fastpath
from bench.bare import flask_app
from certificates import public_answers, services, verification_log
from certificates.models import Certificate, VerificationLog
from certificates.public_answers import bodies_of
from lms import fastpath, ratelimit
from lms.extensions import limiter
from talent.models import TalentEntry
from talent.services import sanctions
from tests.cert_factories import completion_rule, cw  # noqa: F401
from tests.conftest import TODAY
from tests.unit.test_perf_platform import calls_per_request, issued  # noqa: F401 (the fixture)

NOW = 1_900_000_000.5


@pytest.fixture
def still(monkeypatch):
    """The rate limiter's clocks held still, so that both answers carry the same X-RateLimit-Reset and Retry-After."""
    monkeypatch.setattr(limits.storage.memory, "time", types.SimpleNamespace(time=lambda: NOW))
    monkeypatch.setattr(ratelimit, "now", lambda: NOW)
    date = http_date(NOW)  # the Date header werkzeug's make_conditional adds, and the fast path
    monkeypatch.setattr(werkzeug.wrappers.response, "http_date", lambda *a: date if not a else http_date(*a))
    monkeypatch.setattr(certificates.fastpath, "http_date", lambda *a: date if not a else http_date(*a))


@pytest.fixture
def used(monkeypatch):
    """How many answers the fast path gave."""
    calls: list[int] = []
    respond = fastpath.respond

    def spy(*a, **kw):
        calls.append(1)
        return respond(*a, **kw)
    monkeypatch.setattr(fastpath, "respond", spy)
    return calls


def ask(app, client, db, caplog, path: str, fast: bool, headers: dict | None = None, fresh: bool = True):
    """One GET: (status, body, headers but X-Request-ID, the access line but its duration, the log's last row)."""
    app.config["CERT_VERIFY_FAST_PATH"] = fast
    if fresh:
        limiter.reset()
    caplog.clear()
    try:
        with caplog.at_level(logging.INFO, logger="lms.access"):
            resp = client.get(path, headers=headers or {})
    finally:
        app.config["CERT_VERIFY_FAST_PATH"] = True
    rid = resp.headers["X-Request-ID"]
    lines = [r for r in caplog.records if r.name == "lms.access"]
    assert len(lines) == 1 and lines[0].request_id == rid
    line = re.sub(r"duration_ms=[0-9.]+", "duration_ms=…", lines[0].getMessage())
    last = db.execute(select(VerificationLog.certificate_id, VerificationLog.channel, VerificationLog.result,
                             VerificationLog.signature_valid).order_by(VerificationLog.id.desc()).limit(1)).first()
    count = db.scalar(select(func.count()).select_from(VerificationLog))
    body = resp.get_data().replace(rid.encode(), b"<request id>")  # an error page shows it
    # Flask's error pages start a session with a random CSRF token (the 429): the same but for that token
    body = re.sub(rb'(name="csrf_token"[^>]*content="|value=")[^"]{40,}"', rb'\1<token>"', body)
    headers = [(k, re.sub(r"^session=[^;]+", "session=<random>", v) if k == "Set-Cookie" else v)
               for k, v in resp.headers.items() if k != "X-Request-ID"]
    return (resp.status_code, body, headers,
            line, tuple(last) if last else None, count)


def same(app, client, db, caplog, used, path: str, headers: dict | None = None, fast: bool = True):
    """The Flask view's answer and the fast path's (``fast``: whether the fast path must have answered)."""
    warm = ask(app, client, db, caplog, path, False, headers)  # the view builds and keeps the answer, as in production
    before = len(used)
    flask = ask(app, client, db, caplog, path, False, headers)
    assert len(used) == before
    quick = ask(app, client, db, caplog, path, True, headers)
    assert len(used) == before + (1 if fast else 0), path
    assert quick[2] == flask[2], "\n".join(map(str, [path, *quick[2], "-- Flask:", *flask[2]]))
    assert quick[:5] == flask[:5], path
    assert quick[5] - flask[5] == flask[5] - warm[5], path  # as many log rows each
    return quick


def cold(app) -> None:
    """The process as before its first scan of any certificate: no answer, page fragment or frame kept."""
    bodies_of(app).clear()
    app.extensions.pop("cert_public_fragments", None)
    app.extensions.pop("cert_public_frames", None)
    app.extensions.pop("cert_public_contents", None)


def first(app, client, db, caplog, used, path: str, headers: dict | None = None, fast: bool = True):
    """A process's FIRST scan of the certificate (nothing kept), through the Flask view, then through the fast path
    (``fast``: whether it must have answered, building the answer itself), compared as ``same`` compares."""
    cold(app)
    logged = db.scalar(select(func.count()).select_from(VerificationLog))
    flask = ask(app, client, db, caplog, path, False, headers)
    cold(app)
    before = len(used)
    quick = ask(app, client, db, caplog, path, True, headers)
    assert len(used) == before + (1 if fast else 0), path
    assert quick[2] == flask[2], "\n".join(map(str, [path, *quick[2], "-- Flask:", *flask[2]]))
    assert quick[1] == flask[1], "\n".join(difflib.unified_diff(flask[1].decode().splitlines(),
                                                                quick[1].decode().splitlines()))
    assert quick[:5] == flask[:5], path
    assert quick[5] - flask[5] == flask[5] - logged, path  # as many log rows each
    return quick


def pages_of(app, db, cert, lang: str, whole: tuple) -> list:
    """The certificate's page as ``page_answer`` builds it, once per item of ``whole``: the kept way (False) or the
    whole template rendered (True)."""
    headers = {"Cookie": f"lang={lang}"} if lang else {}
    pages = []
    for rendered in whole:
        with app.test_request_context(f"/v/{cert.cid}", headers=headers):
            rec = services.find_public_record(db, cert.cid)
            if rendered:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(public_answers, "framed", lambda name, context, **_: render_template(name, **context))
                    pages.append(public_answers.page_answer(db, rec, TODAY))
            else:
                pages.append(public_answers.page_answer(db, rec, TODAY))
    return pages


def framed_is_whole(app, db, cert, lang: str) -> None:
    """The page built into its kept per-language frame (``public_answers.framed``) is the whole template rendered."""
    pages = pages_of(app, db, cert, lang, (False, True, False))  # the frame made, the whole template, the frame kept
    assert pages[0] == pages[1] == pages[2], "\n".join(difflib.unified_diff(pages[1].splitlines(),
                                                                          pages[0].splitlines()))


def paths(cert) -> list[str]:
    return [f"/api/v1/verify/{cert.cid}", f"/api/v1/verify/{cert.cid}?sig={quote(cert.signed_part, safe='')}",
            f"/api/v1/verify/{cert.cid}?sig=forged", f"/v/{cert.cid}"]


def every_path(app, client, db, caplog, used, cert) -> list:
    out = []
    for lang in ("", "zh", "en"):
        if lang:
            client.set_cookie("lang", lang)
        else:
            client.delete_cookie("lang")
        for path in paths(cert):
            opened = first(app, client, db, caplog, used, path)
            answer = same(app, client, db, caplog, used, path)
            assert opened[:5] == answer[:5]
            assert answer[0] == 200 and answer[4][1] == ("page" if path.startswith("/v/") else "api")
            etag = dict(answer[2])["ETag"]
            not_modified = same(app, client, db, caplog, used, path, {"If-None-Match": etag})
            assert not_modified[0] == 304 and not_modified[1] == b""
            assert first(app, client, db, caplog, used, path, {"If-None-Match": etag})[:5] == not_modified[:5]
            out.append(answer)
        framed_is_whole(app, db, cert, lang)
    client.delete_cookie("lang")
    return out


def test_perf_fastpath_answers_as_the_views_in_every_state(app, client, db, world, issued, caplog, still, used):
    found = every_path(app, client, db, caplog, used, issued)
    assert b'"status":"valid"' in found[0][1].replace(b" ", b"") and dict(found[0][2])["X-RateLimit-Remaining"]
    assert any(b'"signature_valid":true' in a[1].replace(b" ", b"") for a in found)
    assert any(b'"signature_valid":false' in a[1].replace(b" ", b"") for a in found)
    assert any(b'<html lang="en' in a[1] for a in found)
    cert = db.get(Certificate, issued.id)
    services.change_status(db, world.city_admin, cert, "suspend", "under_investigation", "核查中", TODAY)
    db.commit()
    assert b"suspended" in every_path(app, client, db, caplog, used, issued)[0][1]
    services.change_status(db, world.province_admin, cert, "reinstate", None, "核查无问题", TODAY)
    entry = db.scalar(select(TalentEntry).where(TalentEntry.user_id == issued.holder_user_id))
    sanctions.impose(db, world.county_admin, entry, kind="warning", reason="concealed", basis="",
                     evidence="抽检不合格未上报", today=TODAY)
    db.commit()
    assert b"warning" in every_path(app, client, db, caplog, used, issued)[0][1]
    new = services.reissue(db, world.staff_nt, cert, "姓名有误，更正", services.CertConfig.from_app(app), TODAY)
    db.commit()
    assert new.number.encode() in every_path(app, client, db, caplog, used, issued)[0][1]
    every_path(app, client, db, caplog, used, new)
    services.revoke(db, world.city_admin, new, "other", "测试撤销", TODAY)
    db.commit()
    assert b"revoked" in every_path(app, client, db, caplog, used, new)[0][1]


def test_perf_fastpath_hands_the_rest_to_flask(app, client, db, issued, caplog, still, used):
    cid = issued.cid
    for path in ("/api/v1/verify/" + "A" * 20, "/v/" + "A" * 20, "/v/x", "/api/v1/verify/x",  # unknown, malformed
                 f"/v/{cid}?x=1", f"/api/v1/verify/{cid}?sig=a&sig=b", f"/api/v1/verify/{cid}?other=1",
                 f"/api/v1/verify/{cid}?sig=" + "9" * 30):
        same(app, client, db, caplog, used, path, fast=False)
        first(app, client, db, caplog, used, path, fast=False)
    for name in ("session", "remember_token"):  # any cookie but the language's
        client.set_cookie(name, "abc")
        same(app, client, db, caplog, used, f"/v/{cid}", fast=False)
        client.delete_cookie(name)
    same(app, client, db, caplog, used, f"/v/{cid}", {"If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"},
         fast=False)
    app.config["CERT_VERIFY_BODY_CACHE"], size = 0, app.config["CERT_VERIFY_BODY_CACHE"]
    try:  # an answer the process keeps none of: built every time, by the fast path as by the view
        bodies_of(app).clear()
        same(app, client, db, caplog, used, f"/v/{cid}")
        same(app, client, db, caplog, used, f"/api/v1/verify/{cid}")
    finally:
        app.config["CERT_VERIFY_BODY_CACHE"] = size
    app.config["PUBLIC_BASE_URL"], base = "https://verify.example.cn", app.config["PUBLIC_BASE_URL"]
    try:  # served over TLS: HSTS too
        answer = same(app, client, db, caplog, used, f"/api/v1/verify/{cid}")
        assert dict(answer[2])["Strict-Transport-Security"]
        for path in (f"/api/v1/verify/{cid}", f"/v/{cid}"):  # a first scan too
            assert dict(first(app, client, db, caplog, used, path)[2])["Strict-Transport-Security"]
    finally:
        app.config["PUBLIC_BASE_URL"] = base
    assert client.head(f"/v/{cid}").status_code == 200 and client.post(f"/v/{cid}").status_code == 200


def test_perf_fastpath_over_the_limit_is_flasks_429_counted_once(app, client, db, issued, caplog, still, used):
    app.config["CERT_VERIFY_RATE_LIMIT"], limit = "2 per hour", app.config["CERT_VERIFY_RATE_LIMIT"]
    try:
        for path in (f"/api/v1/verify/{issued.cid}", f"/v/{issued.cid}"):
            answers = {}
            for fast, kept in ((False, True), (True, True), (True, False)):  # kept: False, every scan a first
                client.delete_cookie("session")  # the 429 page's base.html starts a session (its CSRF token)
                ask(app, client, db, caplog, path, False)  # the answer kept
                limiter.reset()
                before = len(used)
                seen = []
                for _ in range(4):
                    if not kept:
                        cold(app)
                    seen.append(ask(app, client, db, caplog, path, fast, fresh=False))
                answers[fast if kept else "first"] = seen
                assert len(used) - before == (2 if fast else 0)  # the 429s are Flask's
            assert [a[0] for a in answers[True]] == [200, 200, 429, 429], path
            assert [a[:4] for a in answers["first"]] == [a[:4] for a in answers[True]], path
            for q, f in zip(answers[True], answers[False]):
                assert q[2] == f[2], "\n".join(map(str, [path, *q[2], "-- Flask:", *f[2]]))
                assert q[3] == f[3], (q[3], f[3])
                assert q[1] == f[1], "\n".join(difflib.unified_diff(f[1].decode().splitlines(), q[1].decode().splitlines()))
            assert [a[:4] for a in answers[True]] == [a[:4] for a in answers[False]], path
            assert [dict(a[2])["X-RateLimit-Remaining"] for a in answers[True]] == ["1", "0", "0", "0"]
    finally:
        app.config["CERT_VERIFY_RATE_LIMIT"] = limit


def test_perf_fastpath_calls_per_request(app, client, db, issued, monkeypatch):
    """A kept answer through the fast path against the Flask view and a bare Flask request (~310 Python calls,
    cProfile's count), on each database: with its SELECT, under 1 / 1.6 of the view's calls (about half); without it (the record
    it read handed back, so that the driver's calls, ~300 on SQLite and ~800 with psycopg, do not count), fewer
    than 1.5 × bare Flask. Through Flask it was ~1,800 (JSON) and ~1,700 (page) on SQLite."""
    monkeypatch.setattr(logging.getLogger("lms.access"), "level", logging.WARNING)  # as the benchmark runs
    monkeypatch.setitem(app.config, "CERT_VERIFY_LOG_BATCHED", True)  # production's batch writer, held here
    rows: list[dict] = []
    monkeypatch.setattr(verification_log.writer, "add", lambda engine, row: rows.append(row))
    bare = calls_per_request(flask_app, "/")
    counts = {}
    paths = (f"/api/v1/verify/{issued.cid}", f"/v/{issued.cid}")
    for path in paths:
        client.get(path)  # kept by the view
        counts[path] = calls_per_request(app, path)
        app.config["CERT_VERIFY_FAST_PATH"] = False
        try:
            counts["flask " + path] = calls_per_request(app, path)
        finally:
            app.config["CERT_VERIFY_FAST_PATH"] = True
    read = services.read_public_record
    records = {}
    monkeypatch.setattr(services, "read_public_record",
                        lambda bind, cid: records[cid] if cid in records else records.setdefault(cid, read(bind, cid)))
    for path in paths:
        counts["own " + path] = calls_per_request(app, path)
    assert len(rows) > 6 * 20 and {r["channel"] for r in rows} == {"api", "page"}  # every scan logged
    for path in paths:
        assert counts[path] * 1.6 < counts["flask " + path], counts
        assert counts["own " + path] < 1.5 * bare, (counts, bare)


def test_perf_fastpath_first_scan_is_one_statement_and_fewer_calls(app, client, db, issued, monkeypatch):
    """A process's first scan of a certificate (wrk's random walk, and most real scans) is answered by the fast path
    itself: one statement, the answer built by the views' own functions and kept, so that the next scan is a kept
    answer. With nothing kept (CERT_VERIFY_BODY_CACHE=0: every request a first scan), its Python calls (cProfile's
    count, never time) against the Flask view's: the JSON under 0.7 × (measured ~1,190 against ~2,200 on SQLite),
    the page fewer (its template's rendering, ~4,000 calls, is the same)."""
    engine = app.extensions["lms_db"].engine
    statements: list[str] = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731 (before_cursor_execute's statement)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        for path in (f"/api/v1/verify/{issued.cid}", f"/v/{issued.cid}"):
            cold(app)
            environ = EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
            statements.clear()
            assert certificates.fastpath.handle(app, environ, lambda *a: None) is not None
            assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
            assert len(bodies_of(app)) == 1  # kept for the next scan
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    monkeypatch.setattr(logging.getLogger("lms.access"), "level", logging.WARNING)  # as the benchmark runs
    monkeypatch.setitem(app.config, "CERT_VERIFY_LOG_BATCHED", True)
    monkeypatch.setattr(verification_log.writer, "add", lambda engine, row: None)
    monkeypatch.setitem(app.config, "CERT_VERIFY_BODY_CACHE", 0)
    counts = {}
    for path in (f"/api/v1/verify/{issued.cid}", f"/v/{issued.cid}"):
        cold(app)
        counts[path] = calls_per_request(app, path)
        assert len(bodies_of(app)) == 0  # nothing kept: each request was a first scan
        monkeypatch.setitem(app.config, "CERT_VERIFY_FAST_PATH", False)
        counts["flask " + path] = calls_per_request(app, path)
        monkeypatch.setitem(app.config, "CERT_VERIFY_FAST_PATH", True)
    assert counts[f"/api/v1/verify/{issued.cid}"] < 0.7 * counts[f"flask /api/v1/verify/{issued.cid}"], counts
    assert counts[f"/v/{issued.cid}"] < counts[f"flask /v/{issued.cid}"], counts
