"""Public verification: the record a QR code leads to, what anyone may see of it, the signature check,
the holder check, and the verification log."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import string
import time
import weakref
from collections import namedtuple
from dataclasses import dataclass
from typing import Callable

from flask_babel import get_translations
from sqlalchemy import Enum as SAEnum, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from certificates import compact, seal, signing, verification_log
from certificates import keys as keystore
from certificates.models import Certificate, CertificateStatus, ReasonCategory, VerificationLog
from certificates.services.issuing import iso_or_none, printed_fields, printed_path, signed_fields
from certificates.services.status import effective_status
from lms.domain import Tier
from lms.lru import LRU
from lms.rawsql import KeptSelect
from lms.people.services import holder_matches
from lms.pii import mask_name
from lms.templating import SHANGHAI


_CID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# Who adds the holder's standing beside the certificate's status (issue 14: 有效 · 人才库状态：警示): talent registers
# ``fn(session, holder_user_id, today) -> dict | None`` in its wiring; the answer goes under ``pool``.
_STANDING_SOURCES: list = []


def add_standing_source(fn) -> None:
    """Register a source of the holder's standing for the public view (idempotent)."""
    if fn not in _STANDING_SOURCES:
        _STANDING_SOURCES.append(fn)


# What public verification reads: every scan runs this, so it selects plain columns (a row with the same
# attribute names as a Certificate) instead of building an ORM object. ``public_view``, ``signed_fields``,
# ``effective_status``, ``holder_check`` and ``log_verification`` accept either.
_PUBLIC_TABLE = Certificate.__table__
_PUBLIC_COLUMNS = [_PUBLIC_TABLE.c[name] for name in (
    "id", "cid", "number", "holder_user_id", "holder_name", "tier", "issued_on", "valid_until", "snapshot", "key_id",
    "status", "status_changed_at", "status_reason", "superseded_by_id", "status_list_index", "seal")]


# The standing joined into the verification's one statement (issue 20: the certificate, then the standing, were two
# statements a scan). Talent registers one ``StandingJoin``; its rows are the certificate's rows (one per sanction).
@dataclass(frozen=True)
class StandingJoin:
    columns: tuple  # labelled columns, their labels unlike the certificate's column names
    join: Callable  # (from clause, the certificate's holder_user_id column) -> the from clause outer-joined
    order_by: tuple  # the order ``read`` expects the rows in
    read: Callable  # (rows) -> the standing as ``pool`` shows it, or None (not in the pool)


_STANDING_JOIN: list[StandingJoin] = []
_PUBLIC_NAMES = tuple(c.name for c in _PUBLIC_COLUMNS)
# The successor's columns: what its link and its status need. Not its seal: no scan checks the successor's signature.
_SUCC_NAMES = tuple(name for name in _PUBLIC_NAMES if name != "seal")
_Successor = namedtuple("_Successor", _SUCC_NAMES)
_SUCC = _PUBLIC_TABLE.alias("succ")
_public_stmt: list = []  # the statement, built once the standing's join is known
ETAG_FORMAT = "1"  # bumped when the answers' shape changes, so that kept copies are not revalidated across it


def add_standing_join(join: StandingJoin) -> None:
    """Register the standing's join (one at most: two would multiply each other's rows); idempotent."""
    if _STANDING_JOIN and _STANDING_JOIN[0] != join:
        raise ValueError("a standing join is registered already")
    if not _STANDING_JOIN:
        _STANDING_JOIN.append(join)
        _public_stmt.clear()


def _public_statement():
    if not _public_stmt:
        cols = list(_PUBLIC_COLUMNS) + [_SUCC.c[n].label("succ_" + n) for n in _SUCC_NAMES]
        frm = _PUBLIC_TABLE.outerjoin(_SUCC, _SUCC.c.id == _PUBLIC_TABLE.c.superseded_by_id)
        order: tuple = ()
        for j in _STANDING_JOIN:
            cols += list(j.columns)
            frm = j.join(frm, _PUBLIC_TABLE.c.holder_user_id)
            order = j.order_by
        _public_stmt.append(select(*cols).select_from(frm).where(_PUBLIC_TABLE.c.cid == bindparam("cid"))
                            .order_by(*order))
    return _public_stmt[0]


# The standing as a scan shows it, kept per language (Flask-Babel's translations) and the standing's stored fields
# (``PublicRecord.standing_key``: every column ``read`` reads, of every row), since it is a pure function of them
# (issue 20: a first scan of a pool holder translated three or four sanction labels, ~25 Python calls each through
# Flask-Babel; most holders share the one key of "not in the pool"). A sanction added, lifted or reworded, a status
# change, is another key.
_STANDINGS_KEPT = 4096
_standings_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # translations -> {(read, key): standing}
_MISSING = object()


@dataclass
class PublicRecord:
    """A certificate as public verification reads it, in one statement: its columns (``cert``: a row with a
    Certificate's attribute names), its successor's (``successor``, if reissued), and the stored fields of the
    holder's standing (``standing_key``); ``standing`` (its labels translated) is made only when an answer is built."""
    cert: object
    successor: object | None
    rows: list
    standing_key: tuple

    @property
    def standing(self) -> dict | None:
        """The standing's ``read`` of the rows, kept per language and ``standing_key`` (shared: read, never changed)."""
        if not _STANDING_JOIN:
            return None
        translations = get_translations()
        kept = _standings_kept.get(translations)
        if kept is None:
            kept = _standings_kept.setdefault(translations, {})
        read = _STANDING_JOIN[0].read
        key = (read, self.standing_key)
        hit = kept.get(key, _MISSING)
        if hit is _MISSING:
            hit = read(self.rows)
            if len(kept) >= _STANDINGS_KEPT:  # bounded: a process's pool holders, then start again
                kept.clear()
            kept[key] = hit
        return hit

    def etag(self, today: dt.date, *variant) -> str:
        """The answer's ETag from the stored fields it depends on, not from the answer: the certificate's status,
        its date and reason, validity and key (renewal), the status shown today (expiry), the successor's, the
        standing's rows, and ``variant`` (the language, the page or the JSON, the signature's result). A
        revocation, reinstatement, reissue, suspension or standing change is a new ETag."""
        c, s = self.cert, self.successor
        key = (ETAG_FORMAT, variant, c.id, c.cid, c.number, c.status.value, effective_status(c, today).value,
               c.status_changed_at, c.status_reason.value if c.status_reason else None, c.valid_until, c.key_id,
               c.superseded_by_id,
               None if s is None else (s.id, s.cid, effective_status(s, today).value, s.valid_until, s.key_id),
               self.standing_key)
        return hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()


def find_public_record(session: Session, cid: str) -> PublicRecord | None:
    """``find_public`` with the successor and the standing, in one statement; None as ``find_public``."""
    if not _CID_RE.match(cid or ""):
        return None
    return _record(session.connection().execute(_public_statement(), {"cid": cid}).all())


def _raw_statement(stmt, dialect) -> KeptSelect:
    """``_public_statement()`` compiled once for a dialect, to run on a DB-API connection (issue 20: through the ORM
    session the one SELECT cost ~370 Python calls a scan on SQLite and ~780 with psycopg, more than the fast path's
    own work; ``lms.rawsql``): its rows read through the result processors SQLAlchemy itself would apply, the Enums
    tabulated, into a named tuple with the same keys as SQLAlchemy's row: the same values, hence the same answers
    and ETags."""
    row = namedtuple("PublicRow", [c.key for c in stmt.selected_columns])
    return KeptSelect(stmt, dialect, lookup=_tabulated, make=row._make)


def _tabulated(impl, dialect, coltype):
    """``impl``'s result processor; for an Enum, its answers for every value the column can hold, looked up (issue 20:
    ten Enum columns a scan, two Python calls each through SQLAlchemy's processor): the very members it returns, and
    for a value it does not know a KeyError (a LookupError, as SQLAlchemy raises)."""
    process = impl.result_processor(dialect, coltype)
    if process is None or not isinstance(impl, SAEnum):
        return process
    table = {value: process(value) for value in impl.enums}
    table[None] = process(None)
    return table.__getitem__


_raw_statements: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dialect -> (statement, KeptSelect)


def read_public_record(bind, cid: str) -> PublicRecord | None:
    """``find_public_record`` without a session (``certificates.fastpath``): the same statement, compiled once a
    dialect, run on a DB-API connection. ``bind`` is what the application's sessions are bound to: an Engine (in
    production), whose ``lms_reader`` gives this thread's own read-only autocommit connection (``lms.db.ThreadReader``:
    one round trip a scan, no pool checkout; discarded after an error, so that the next scan opens another), or for an
    engine without one (an in-memory SQLite database) the pool's, given back on every path; or a Connection (the
    tests' outer transaction), whose DB-API connection is used as it is. The ``before_cursor_execute`` /
    ``after_cursor_execute`` listeners (statement counters: the tests', the bench's) hear the statement, with the
    Connection or None, and no execution context. A driver's error is raised (the fast path hands the request to
    Flask)."""
    if not _CID_RE.match(cid or ""):
        return None
    dialect = bind.dialect
    stmt = _public_statement()
    kept = _raw_statements.get(dialect)
    if kept is None or kept[0] is not stmt:
        kept = _raw_statements[dialect] = (stmt, _raw_statement(stmt, dialect))
    raw = kept[1]
    params = raw.params({"cid": cid})
    if not isinstance(bind, Engine):
        return _record(_read_closing(bind, bind.dispatch, bind.connection.cursor(), raw, params))
    reader = getattr(bind, "lms_reader", None)
    if reader is None:
        return _record(_read_lent(bind, raw, params))
    try:
        return _record(raw.read(reader.cursor(), params, bind.dispatch))
    except BaseException:  # the connection's state is unknown (dead, interrupted): the next scan opens another
        reader.discard()
        raise


class KeptRecords:
    """The public records one process read, kept for its next scans of the same certificates while the database's
    change feed (``lms.changes``: PostgreSQL's notifications of any change to certificates, talent_entries and
    sanctions, the tables a record is read from) says nothing they were read from has changed since (issue 20: on
    PostgreSQL the read was one round trip a scan, ~130 µs of the server's CPU and ~130 µs of the worker's, the
    larger part of what the verification cost beyond SQLite). ``read(engine, cid)`` is ``read_public_record``:

    - a record is kept under the feed's generation taken before its read, and used only while the generation is
      still that (a change committed after the read began has moved it), and no longer than ``max_age`` seconds;
    - without a listening feed (SQLite, the feed not yet or no longer listening) every scan reads, as before;
    - an unknown number is not kept (a first scan of a new certificate reads it);
    - at most ``size`` records (least recently used first out); a new generation lets go of them all.
    """

    def __init__(self, feed, size: int, max_age: float) -> None:
        self.feed, self.size, self.max_age = feed, size, max_age
        self._kept = LRU(size)
        self._gen: int | None = None
        self.reads = 0  # reads made (tests, the bench)

    def read(self, engine: Engine, cid: str) -> PublicRecord | None:
        gen = self.feed.generation() if self.feed is not None and self.size > 0 else None
        now = time.monotonic()
        if gen is not None:
            if gen != self._gen:
                self._kept.clear()
                self._gen = gen
            hit = self._kept.get(cid)
            if hit is not None and hit[0] == gen and now - hit[1] < self.max_age:
                return hit[2]
        self.reads += 1
        rec = read_public_record(engine, cid)
        if gen is not None and rec is not None:
            self._kept.put(cid, (gen, now, rec))
        return rec


def _read_closing(target, dispatch, cursor, raw: KeptSelect, params) -> list:
    """``raw.read`` on ``cursor``, closed after."""
    try:
        return raw.read(cursor, params, dispatch, target)
    finally:
        cursor.close()


def _read_lent(engine: Engine, raw: KeptSelect, params) -> list:
    """``raw.read`` on a connection the pool lends, given back on every path (a lost one invalidated)."""
    conn = engine.raw_connection()
    try:
        return _read_closing(None, engine.dispatch, conn.cursor(), raw, params)
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, conn.dbapi_connection, None):
            conn.invalidate(exc)
        raise
    finally:
        conn.close()


def _record(rows) -> PublicRecord | None:
    if not rows:
        return None
    first, n, end = rows[0], len(_PUBLIC_NAMES), len(_PUBLIC_NAMES) + len(_SUCC_NAMES)
    succ = _Successor._make(first[n:end]) if first[n] is not None else None
    key = tuple(tuple(r[end:]) for r in rows) if _STANDING_JOIN else ()
    return PublicRecord(first, succ, rows, key)


def find_public(session: Session, cid: str):
    """The public record of the certificate with this QR id, or None (also for a malformed id)."""
    if not _CID_RE.match(cid or ""):
        return None
    return session.connection().execute(select(*_PUBLIC_COLUMNS).where(_PUBLIC_TABLE.c.cid == cid)).first()


def find_by_token(session: Session, token: str, key_doc: dict):
    """The public record that a printed token ``/C/<TOKEN>`` stands for, or None: for a malformed token, a bad
    signature, an unknown key, a certificate dated outside its key's window, no certificate with that number, or
    signed fields that differ from the record (the caller shows all of these as "not found": no detail leaks).
    A version 1 token (printed before the status index) has no ``status_index``: its other fields must match."""
    res = compact.verify((token or "").upper(), signing.public_keys_from_document(key_doc))
    if not res.ok:
        return None
    cert = session.connection().execute(
        select(*_PUBLIC_COLUMNS).where(_PUBLIC_TABLE.c.number == res.fields["number"])).first()
    if cert is None:
        return None
    expected = printed_fields(cert)
    if "status_index" not in res.fields:
        expected.pop("status_index", None)
    return cert if res.fields == expected else None


def signature_matches(cert: Certificate, signed_part: str, key_doc: dict, key_dir: str | None = None) -> bool:
    """The signed part checks with a published key and says exactly what this certificate says. ``key_dir``: where
    this server's signing keys are, so that a part carrying the row's seal (``certificates.seal``: this server signed
    these very bytes) is not put through the Ed25519 computation again; without it, or without a matching seal,
    the signature is checked in full."""
    known = key_dir is not None and seal.matches(key_dir, cert.key_id, signed_part, getattr(cert, "seal", None))
    res = signing.check(signed_part, _public_keys(key_doc), signature_known_good=known)
    return res.ok and res.fields == signed_fields(cert)


def seal_unsealed(session: Session, key_dir: str, chunk: int = 500):
    """Seal the certificates that have no seal yet (issued before revision 0020t) once their signed part checks in
    full with the published keys and this server holds the signing key: yields ``(sealed, refused)`` so far after
    each chunk, committed (``flask cert-keys seal``). A part that does not check is left unsealed, and counted."""
    key_doc = keystore.public_document(key_dir)
    sealed = refused = 0
    last_id = 0
    while True:
        certs = session.scalars(select(Certificate).where(Certificate.seal.is_(None), Certificate.id > last_id)
                                .order_by(Certificate.id).limit(chunk)).all()
        if not certs:
            return
        for cert in certs:
            last_id = cert.id
            try:
                private = keystore.private_key(key_dir, cert.key_id)
            except (OSError, ValueError, TypeError):
                private = None
            if private is None or not signature_matches(cert, cert.signed_part, key_doc):
                refused += 1
                continue
            cert.seal = seal.make(private, cert.signed_part)
            sealed += 1
        session.commit()
        yield sealed, refused


_parsed_keys: dict = {}  # the key documents' contents -> their parsed keys (a handful a process: rotations)


def _public_keys(key_doc: dict) -> dict:
    """``signing.public_keys_from_document(key_doc)`` kept per document's content: each key's every field the parse
    reads (issue 20: a first scan with a signature made both Ed25519 key objects from their base64 again, ~a third of
    the signature check's CPU). Keyed by content, not identity, so a document changed in place or rotated is parsed
    again; the key objects are immutable."""
    content = tuple((k.get("kty"), k.get("crv"), k.get("kid"), k.get("x"), k.get("valid_from"), k.get("valid_until"))
                    for k in key_doc.get("keys", ()))
    parsed = _parsed_keys.get(content)
    if parsed is None:
        parsed = signing.public_keys_from_document(key_doc)
        if len(_parsed_keys) >= 16:
            _parsed_keys.clear()
        _parsed_keys[content] = parsed
    return parsed


def public_view(session: Session, cert: Certificate, today: dt.date, key_dir: str | None = None,
                record: PublicRecord | None = None) -> dict:
    """What anyone may see: no ID number, phone, score or photo (only the printed photo's fingerprint, to compare
    with the paper); the holder's name masked. ``key_dir``: link a
    successor by its printed ``/C/`` path (else its old ``/v/<cid>``). ``record``: what ``find_public_record``
    read (``cert`` is its certificate): no further statement."""
    status = effective_status(cert, today)
    snap = cert.snapshot or {}
    labels = _labels()
    out = {
        "status": status.value, "status_label": labels[status], "number": cert.number,
        "holder_name": mask_name(cert.holder_name), "tier": cert.tier.value, "tier_label": labels[cert.tier],
        "programme": snap.get("programme", ""), "institution": snap.get("institution", ""),
        "bureau": snap.get("bureau", ""), "issuer": snap.get("issuer", ""),
        "issued_on": cert.issued_on.isoformat(), "valid_until": iso_or_none(cert.valid_until),
    }
    if snap.get("photo_fp"):  # the fingerprint only: the photo is personal data, never shown publicly (issue 16)
        out["photo_fingerprint"] = snap["photo_fp"]
    if status in (CertificateStatus.revoked, CertificateStatus.suspended):
        out["status_changed_on"] = _local_date(cert.status_changed_at)
        out["reason_category"] = cert.status_reason.value if cert.status_reason else None
        out["reason_label"] = labels[cert.status_reason] if cert.status_reason else ""
    succ = None
    if record is not None:
        succ = record.successor if status == CertificateStatus.superseded else None
    elif status == CertificateStatus.superseded and cert.superseded_by_id is not None:
        succ = session.connection().execute(
            select(*_PUBLIC_COLUMNS).where(_PUBLIC_TABLE.c.id == cert.superseded_by_id)).first()
    if succ is not None:
        out["superseded_on"] = _local_date(cert.status_changed_at)
        path = printed_path(succ, key_dir) if key_dir else f"/v/{succ.cid}"
        out["superseded_by"] = {"number": succ.number, "verify_path": path,
                                "status": effective_status(succ, today).value}
    if record is not None:
        standing = record.standing
        if standing is not None:
            out["pool"] = standing
        return out
    for source in _STANDING_SOURCES:
        standing = source(session, cert.holder_user_id, today)
        if standing is not None:
            out["pool"] = standing
    return out


# The labels ``public_view`` shows, translated once per language a process (issue 20: ``LabelledEnum.label`` makes its
# enum's lazy strings and translates one on every call, ~25 Python calls a label, two or three a scan), under the
# translations Flask-Babel gives the current language: each the very string ``.label`` gives there.
_LABELLED = (CertificateStatus, Tier, ReasonCategory)
_labels_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # translations -> {member: label}


def _labels() -> dict:
    translations = get_translations()
    labels = _labels_kept.get(translations)
    if labels is None:
        labels = _labels_kept[translations] = {m: m.label for enum in _LABELLED for m in enum}
    return labels


def _local_date(value: dt.datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).date().isoformat() if value else None


def log_verification(session: Session | None, cert: Certificate | None, channel: str, result: str,
                     signature_valid: bool | None = None, batched: bool = False, *, bind=None) -> None:
    """Record that a verification happened and its answer; nothing about who asked. ``batched``: hand the row
    to the process's batch writer (``certificates.verification_log``) instead of this transaction, so that the
    public pages do not write (the production setting; tests write in the transaction to see the row); then a
    caller without a session (``certificates.fastpath``) gives what its sessions are bound to as ``bind``."""
    if batched:
        verification_log.log_verification(session.get_bind() if bind is None else bind, cert.id if cert else None,
                                          channel, result, signature_valid)
        return
    session.add(VerificationLog(certificate_id=cert.id if cert else None, channel=channel, result=result,
                                signature_valid=signature_valid))
    session.flush()


def holder_check(session: Session, cert: Certificate, id_number: str) -> bool:
    """Does the typed ID number belong to the holder? Answers only yes or no."""
    cleaned = (id_number or "").strip().upper()
    ok = len(cleaned) == 18 and all(c in string.digits + "X" for c in cleaned) and holder_matches(
        session, cert.holder_user_id, cleaned)
    log_verification(session, cert, "holder_check", "match" if ok else "mismatch")
    return ok
