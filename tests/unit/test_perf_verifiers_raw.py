"""Issue 20, the verification GETs' last per-scan costs (counted, never timed): the fast path reads the record with
the statement compiled once on a DB-API connection (``services.read_public_record``), not through an ORM session,
and returns a pooled connection on every path; its rows are SQLAlchemy's own values (the same answers and ETags);
a first scan's page fills the certificate's values into the content block's kept text (``public_answers._content``),
exactly the template's output in every state and language."""
from __future__ import annotations

import cProfile
import difflib
import logging
import pstats

import pytest
from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from certificates import public_answers, services, verification_log
from certificates.forms import HolderCheckForm
from certificates.models import Certificate
from lms.rawsql import ResultColumns
from talent.models import TalentEntry
from talent.services import sanctions
from tests.cert_factories import completion_rule, cw  # noqa: F401
from tests.conftest import TODAY
from tests.unit.test_perf_platform import calls_per_request, issued  # noqa: F401 (the fixture)
from tests.unit.test_perf_verify_fastpath import cold, pages_of


def _bind(app):
    state = app.extensions["lms_db"]
    return state.sessionmaker.kw.get("bind") or state.engine


def _same_record(app, db, cid: str) -> None:
    raw = services.read_public_record(_bind(app), cid)
    orm = services.find_public_record(db, cid)
    assert raw is not None and orm is not None
    assert [tuple(r) for r in raw.rows] == [tuple(r) for r in orm.rows]
    assert [[type(v) for v in r] for r in raw.rows] == [[type(v) for v in r] for r in orm.rows]
    assert [r._fields for r in raw.rows] == [tuple(r._fields) for r in orm.rows]
    assert raw.standing_key == orm.standing_key and raw.successor == orm.successor
    for variant in (("json", "en", True), ("page", "zh_Hans_CN")):
        assert raw.etag(TODAY, *variant) == orm.etag(TODAY, *variant)


def _page_is_template(app, db, cert, lang: str) -> None:
    """The first scan's page (kept text made, then filled for the same shape) is the whole template rendered."""
    pages = pages_of(app, db, cert, lang, (False, False, True))  # the kept text made, then filled; the template
    assert pages[0] == pages[1] == pages[2], "\n".join(difflib.unified_diff(pages[2].splitlines(),
                                                                          pages[1].splitlines()))
    kept = app.extensions["cert_public_contents"]
    assert len(kept) and all(v is not public_answers._UNFILLABLE for v in kept._data.values())  # noqa: SLF001


def _every_language(app, db, cert) -> None:
    _same_record(app, db, cert.cid)
    for lang in ("", "en"):
        cold(app)
        _page_is_template(app, db, cert, lang)


def test_perf_verifiers_raw_record_and_filled_page_equal_the_orms_in_every_state(app, db, world, issued):
    _every_language(app, db, issued)
    cert = db.get(Certificate, issued.id)
    services.change_status(db, world.city_admin, cert, "suspend", "under_investigation", "核查中", TODAY)
    db.commit()
    _every_language(app, db, issued)
    services.change_status(db, world.province_admin, cert, "reinstate", None, "核查无问题", TODAY)
    entry = db.scalar(select(TalentEntry).where(TalentEntry.user_id == issued.holder_user_id))
    for reason in ("concealed", "concealed"):  # a history of two
        sanctions.impose(db, world.county_admin, entry, kind="warning", reason=reason, basis="",
                         evidence="抽检不合格未上报", today=TODAY)
    db.commit()
    _every_language(app, db, issued)
    new = services.reissue(db, world.staff_nt, cert, "姓名有误，更正", services.CertConfig.from_app(app), TODAY)
    db.commit()
    _every_language(app, db, issued)
    services.revoke(db, world.city_admin, new, "other", "测试撤销 <b>&", TODAY)
    db.commit()
    _every_language(app, db, new)


def test_perf_verifiers_fill_refuses_a_shape_it_cannot_fill(app, db, issued, monkeypatch):
    """A leaf the template compares or transforms cannot be a marker: with ``view.status`` made one (no longer
    among the compared leaves), its first fill differs from the block rendered, the shape is remembered as
    unfillable and the block rendered, so the page is still the template's."""
    monkeypatch.setattr(public_answers, "_COMPARED", frozenset())
    with app.test_request_context(f"/v/{issued.cid}"):
        rec = services.find_public_record(db, issued.cid)
        cold(app)
        page = public_answers.page_answer(db, rec, TODAY)
        again = public_answers.page_answer(db, rec, TODAY)
        whole = render_template(public_answers.PAGE, cert=rec.cert, **_context(db, rec))
    assert page == again == whole
    assert list(app.extensions["cert_public_contents"]._data.values()) == [public_answers._UNFILLABLE]  # noqa: SLF001


def _context(db, rec) -> dict:
    view = services.public_view(db, rec.cert, TODAY, current_app.config["CERT_KEY_DIR"], record=rec)
    return dict(view=view, form=HolderCheckForm(), holder_result=None, signature_checked=False,
                api_url=url_for("api.public_verify", cid=rec.cert.cid), fragment=public_answers.fragment)


def test_perf_verifiers_scan_reads_without_a_session(app, client, db, issued, monkeypatch):
    """The fast path answers first and kept scans without the ORM session's connection: one SELECT, heard by the
    engine's statement listeners."""
    def refuse(*_a, **_k):
        raise AssertionError("the fast path read through a session")
    statements: list[str] = []
    engine = app.extensions["lms_db"].engine
    listen = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    monkeypatch.setattr(Session, "connection", refuse)
    monkeypatch.setattr(Session, "execute", refuse)
    monkeypatch.setitem(app.config, "CERT_VERIFY_LOG_BATCHED", True)
    monkeypatch.setattr(verification_log.writer, "add", lambda engine, row: None)
    try:
        for path in (f"/api/v1/verify/{issued.cid}", f"/v/{issued.cid}"):
            for _kept in (False, True):
                statements.clear()
                resp = client.get(path)
                assert resp.status_code == 200, path
                assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_perf_verifiers_pooled_connection_returned_on_every_path(app, monkeypatch):
    """From the engine's pool (production): the connection is back after a found, an unknown and a failing read."""
    engine = app.extensions["lms_db"].engine
    before = engine.pool.checkedout()
    assert services.read_public_record(engine, "x" * 24) is None
    assert engine.pool.checkedout() == before
    def broken(self, cursor, make=tuple):
        raise engine.dialect.loaded_dbapi.OperationalError("broken")
    monkeypatch.setattr(ResultColumns, "rows", broken)
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        services.read_public_record(engine, "y" * 24)
    assert engine.pool.checkedout() == before


READ_SQLITE, READ_PSYCOPG = 150, 300  # the read's own calls: measured ~71 and ~145 (through the session ~360 and ~600)


def test_perf_verifiers_calls_per_scan(app, client, db, issued, monkeypatch):
    """cProfile's count (never time): a kept answer's read (its calls less the same request's with the record
    handed back; on the tests' connection, no pool checkout) under 150 Python calls on SQLite and 300 with
    psycopg; a first scan's page costs over a kept one under 0.55 × what it cost with the content block rendered
    (measured ~1,150 against ~2,900 on SQLite: the block's fixed text is kept, the certificate's values filled)."""
    monkeypatch.setattr(logging.getLogger("lms.access"), "level", logging.WARNING)  # as the benchmark runs
    monkeypatch.setitem(app.config, "CERT_VERIFY_LOG_BATCHED", True)
    monkeypatch.setattr(verification_log.writer, "add", lambda engine, row: None)
    paths = (f"/api/v1/verify/{issued.cid}", f"/v/{issued.cid}")
    counts = {}
    for path in paths:
        client.get(path)
        counts[path] = calls_per_request(app, path)
    read = services.read_public_record
    records: dict = {}
    with monkeypatch.context() as mp:  # the record handed back: the path without its read
        mp.setattr(services, "read_public_record",
                   lambda bind, cid: records[cid] if cid in records else records.setdefault(cid, read(bind, cid)))
        for path in paths:
            counts["own " + path] = calls_per_request(app, path)
    monkeypatch.setitem(app.config, "CERT_VERIFY_BODY_CACHE", 0)  # every scan a first scan
    page = paths[1]
    cold(app)  # the answers kept above gone; frames and kept text are made again by the first requests
    counts["first " + page] = calls_per_request(app, page)
    with monkeypatch.context() as mp:  # the content block rendered on every first scan (before)
        mp.setattr(public_answers, "_content", lambda app_, template, context, key, holes:
                   public_answers._render_block(app_, template, context))  # noqa: SLF001
        cold(app)
        counts["rendered first " + page] = calls_per_request(app, page)
    sqlite = app.extensions["lms_db"].engine.dialect.name == "sqlite"
    for path in paths:
        assert counts[path] - counts["own " + path] < (READ_SQLITE if sqlite else READ_PSYCOPG), counts
    filled, rendered = (counts[k + page] - counts[page] for k in ("first ", "rendered first "))
    assert filled < 0.55 * rendered, counts


def _label_calls(fn) -> int:
    """How many times ``public_view`` itself runs ``LabelledEnum.label`` in ``fn()`` (cProfile's count; the holder's
    standing is talent's to label)."""
    prof = cProfile.Profile()
    prof.runcall(fn)
    return sum(n for (path, _line, name), (*_counts, callers) in pstats.Stats(prof).stats.items()
               if name == "label" and path.endswith("lms/domain.py")
               for (caller, _l, caller_name), (n, *_c) in callers.items()
               if caller_name == "public_view" and caller.endswith("certificates/services/verification.py"))


def test_perf_verifiers_labels_translated_once_per_language(app, db, world, issued):
    """``public_view``'s labels (status, tier, reason) are each language's ``.label``, translated once a process per
    language and kept: a second view in the same language runs ``LabelledEnum.label`` no more (before: two or three
    a view, ~25 Python calls each)."""
    cert = db.get(Certificate, issued.id)
    services.change_status(db, world.city_admin, cert, "suspend", "under_investigation", "核查中", TODAY)
    db.commit()
    rec = services.find_public_record(db, issued.cid)
    for lang in ("zh_Hans_CN", "en", "zh_Hans_CN"):
        with app.app_context(), force_locale(lang):
            view = services.public_view(db, rec.cert, TODAY, None, record=rec)
            expected = [rec.cert.status.label, rec.cert.tier.label, rec.cert.status_reason.label]
            assert [view["status_label"], view["tier_label"], view["reason_label"]] == expected
            assert all(type(v) is str for v in expected)
            assert _label_calls(lambda: services.public_view(db, rec.cert, TODAY, None, record=rec)) == 0
    with app.app_context(), force_locale("en"):
        assert view["status_label"] != services.public_view(db, rec.cert, TODAY, None, record=rec)["status_label"]


def test_perf_verifiers_enum_columns_looked_up(app, db, issued):
    """The record's Enum columns (ten a scan with the successor and the standing) are looked up in their
    processor's answers, tabulated once: a read calls SQLAlchemy's Enum processor no more (before: two Python calls
    a column a scan), and the values are its own (``_same_record``)."""
    _same_record(app, db, issued.cid)
    prof = cProfile.Profile()
    rec = prof.runcall(services.read_public_record, _bind(app), issued.cid)
    assert rec is not None and rec.cert.status.value == "valid"
    enum_lookups = [n for (path, _line, name), (n, *_rest) in pstats.Stats(prof).stats.items()
                    if path.endswith("sqlalchemy/sql/sqltypes.py") and name == "_object_value_for_elem"]
    assert enum_lookups == []
