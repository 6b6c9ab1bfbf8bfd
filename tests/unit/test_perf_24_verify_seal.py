"""Issue 20, eighth round: the issuing server's seal on a certificate's signed part (``certificates.seal``).

A scan presenting the very bytes this server signed and sealed skips the Ed25519 computation (about a third of a
process's first scan); everything else is still checked, and any part the seal does not cover goes through the full
check. Ed25519 computations are counted through a spy on the published keys, never timed.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from certificates import keys, public_answers, seal, services, signing
from certificates.models import Certificate
from certificates.services import signature_matches, signed_fields, verification
from lms.extensions import limiter
from talent.services import entries
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY
from tests.unit.test_perf_verify_fastpath import cold


class _Spy:
    """An Ed25519 public key that counts its ``verify`` calls."""

    def __init__(self, key, calls: list):
        self.key, self.calls = key, calls

    def verify(self, signature: bytes, data: bytes) -> None:
        self.calls.append(1)
        self.key.verify(signature, data)


@pytest.fixture
def ed25519(monkeypatch) -> list:
    """The Ed25519 computations made since the test began (one item each)."""
    calls: list = []
    real = verification._public_keys  # noqa: SLF001

    def spied(doc):
        return {kid: {**entry, "key": _Spy(entry["key"], calls)} for kid, entry in real(doc).items()}
    monkeypatch.setattr(verification, "_public_keys", spied)
    return calls


@pytest.fixture
def issued(db, world, cw, cert_cfg, completion_rule):  # noqa: F811
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    db.commit()
    return cert


def test_perf_24_issued_and_renewed_certificates_are_sealed(db, issued, cert_cfg, ed25519):  # noqa: F811
    """Issuing seals the part it signs; a renewal signs again and seals again; each seal is the signing key's."""
    key_dir = cert_cfg.key_dir
    private = keys.private_key(key_dir, issued.key_id)
    assert issued.seal == seal.make(private, issued.signed_part) and len(issued.seal) == seal.LENGTH
    first_part, first_seal = issued.signed_part, issued.seal
    entries.enter_pool(db, issued)
    assert entries.renew_certificates(db, issued.valid_until - dt.timedelta(days=10), cert_cfg)["renewed"] == 1
    assert issued.signed_part != first_part and issued.seal != first_seal
    assert issued.seal == seal.make(keys.private_key(key_dir, issued.key_id), issued.signed_part)
    doc = keys.public_document(key_dir)
    assert signature_matches(issued, issued.signed_part, doc, key_dir) and not ed25519
    assert not signature_matches(issued, first_part, doc, key_dir)  # the old part says the old end date


def test_perf_24_a_sealed_part_skips_only_the_ed25519_computation(db, issued, cert_cfg, ed25519):  # noqa: F811
    key_dir, doc = cert_cfg.key_dir, keys.public_document(cert_cfg.key_dir)
    assert signature_matches(issued, issued.signed_part, doc, key_dir)
    assert ed25519 == []  # sealed: no Ed25519 computation
    assert signature_matches(issued, issued.signed_part, doc)  # no key directory given: checked in full
    assert ed25519 == [1]
    # still checked with the seal: the key published, its window, the row's fields
    withdrawn = {**doc, "keys": [k for k in doc["keys"] if k["kid"] != issued.key_id]}
    assert not signature_matches(issued, issued.signed_part, withdrawn, key_dir)
    retired = {**doc, "keys": [{**k, "valid_until": "2000-01-01T00:00:00Z"} if k["kid"] == issued.key_id else k
                               for k in doc["keys"]]}
    assert not signature_matches(issued, issued.signed_part, retired, key_dir)
    db.execute(update(Certificate).where(Certificate.id == issued.id).values(holder_name="李四"))
    db.commit()
    db.refresh(issued)
    assert not signature_matches(issued, issued.signed_part, doc, key_dir)  # the row no longer says what was signed
    assert ed25519 == [1]


def test_perf_24_a_row_changed_without_the_key_is_checked_in_full_and_refused(db, issued, cert_cfg, ed25519):  # noqa: F811
    """What a database write alone can do to the row: forge a part (another key, the same kid), keep or copy a seal,
    or make one with a key of its own. None matches; each goes through the Ed25519 check and is refused."""
    key_dir, doc = cert_cfg.key_dir, keys.public_document(cert_cfg.key_dir)
    fields = {**signed_fields(issued), "holder_name": "李四"}
    forged = signing.sign(Ed25519PrivateKey.generate(), fields)
    own_seal = seal.make(Ed25519PrivateKey.generate(), forged)
    for stored in (issued.seal, own_seal, "0" * seal.LENGTH, None):
        db.execute(update(Certificate).where(Certificate.id == issued.id)
                   .values(holder_name="李四", signed_part=forged, seal=stored))
        db.commit()
        db.refresh(issued)
        before = len(ed25519)
        assert not signature_matches(issued, forged, doc, key_dir), stored
        assert len(ed25519) == before + 1, stored  # the full check ran


def test_perf_24_a_seal_of_other_bytes_falls_back_to_the_full_check(db, issued, cert_cfg, ed25519):  # noqa: F811
    key_dir, doc = cert_cfg.key_dir, keys.public_document(cert_cfg.key_dir)
    private = keys.private_key(key_dir, issued.key_id)
    other = seal.make(private, issued.signed_part + "x")
    db.execute(update(Certificate).where(Certificate.id == issued.id).values(seal=other))
    db.commit()
    db.refresh(issued)
    assert signature_matches(issued, issued.signed_part, doc, key_dir) and ed25519 == [1]  # still valid: checked
    # a key id that is not a file name never reaches the key directory
    assert not seal.matches(key_dir, "../" + issued.key_id, issued.signed_part, issued.seal)
    assert not seal.matches(key_dir, "no-such-key", issued.signed_part, seal.make(private, issued.signed_part))


def test_perf_24_scans_through_both_doors_use_the_seal(app, client, db, issued, cert_cfg, ed25519,  # noqa: F811
                                                       monkeypatch):
    """A first scan's JSON through the fast path and through Flask's view: valid without an Ed25519 computation;
    a forged part is refused after one."""
    monkeypatch.setitem(app.config, "CERT_KEY_DIR", cert_cfg.key_dir)
    cid, sig = issued.cid, issued.signed_part
    for fast in (True, False):
        monkeypatch.setitem(app.config, "CERT_VERIFY_FAST_PATH", fast)
        cold(app)
        public_answers._signatures.clear()  # noqa: SLF001
        got = client.get(f"/api/v1/verify/{cid}?sig={quote(sig, safe='')}")
        assert got.status_code == 200 and got.get_json()["signature_valid"] is True, fast
        assert ed25519 == [], fast
        body, dot, tail = sig.partition(".")
        forged = body + dot + ("A" if tail[0] != "A" else "B") + tail[1:]
        got = client.get(f"/api/v1/verify/{cid}?sig={quote(forged, safe='')}")
        assert got.get_json()["signature_valid"] is False and ed25519 == [1], fast
        ed25519.clear()
    limiter.reset()


def test_perf_24_cli_seals_what_checks_and_leaves_the_rest(app, db, issued, cert_cfg, ed25519,  # noqa: F811
                                                           monkeypatch):
    """``flask cert-keys seal``: certificates issued before seals existed are sealed once their signature checks in
    full; a part that does not check stays unsealed (and is counted)."""
    monkeypatch.setitem(app.config, "CERT_KEY_DIR", cert_cfg.key_dir)
    fields = {**signed_fields(issued), "holder_name": "李四"}
    good = issued.signed_part
    db.execute(update(Certificate).values(seal=None))
    db.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["cert-keys", "seal"])
    assert out.exit_code == 0, out.output
    assert "sealed 1 certificate(s); 0 left unsealed" in out.output
    db.expire_all()
    stored = db.scalar(select(Certificate.seal).where(Certificate.id == issued.id))
    assert stored == seal.make(keys.private_key(cert_cfg.key_dir, issued.key_id), good)
    db.execute(update(Certificate).where(Certificate.id == issued.id)
               .values(seal=None, signed_part=signing.sign(Ed25519PrivateKey.generate(), fields)))
    db.commit()
    out = runner.invoke(args=["cert-keys", "seal"])
    assert out.exit_code == 0 and "sealed 0 certificate(s); 1 left unsealed" in out.output, out.output
    db.expire_all()
    assert db.scalar(select(Certificate.seal).where(Certificate.id == issued.id)) is None
