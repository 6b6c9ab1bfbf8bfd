"""After ``flask restore``: prove the restored system can be used before saying it was restored.

``verify`` decrypts a sample of the personal data with the field-encryption key now configured and runs the
checks features add (``add_check``; certificates verifies a sample of certificates with the signing keys in
``CERT_KEY_DIR``). Each problem says exactly what is missing and how to supply it; ``flask restore`` then
exits with an error instead of reporting success.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lms import features, pii
from lms.db import db
from lms.jobs.models import SchedulerLease
from lms.people.models import TraineeProfile

SAMPLE = 20
# fn(session, config) -> (what was checked, [problems]); the problems name what is missing.
Check = Callable[[Session, dict], tuple[str, list[str]]]
_checks: list[Check] = []


def add_check(fn: Check) -> Check:
    if fn not in _checks:
        _checks.append(fn)
    return fn


def personal_data(session: Session, _config: dict) -> tuple[str, list[str]]:
    ids = session.scalars(select(TraineeProfile.id).order_by(TraineeProfile.id.desc()).limit(SAMPLE)).all()
    failed = 0
    for pid in ids:
        try:
            session.execute(select(TraineeProfile.id_number, TraineeProfile.phone).where(TraineeProfile.id == pid)).one()
        except RuntimeError:  # lms.pii: wrong key
            failed += 1
    if failed:
        return (f"personal data: {failed} of {len(ids)} sampled profiles", [
            f"personal data cannot be decrypted ({failed} of {len(ids)} sampled trainee profiles): FIELD_ENCRYPTION_KEY "
            "is not the key this backup was made with. Restore again with --keys <the cqo-keys-….cqokeys archive "
            "made by `flask backup --keys`> (or put the original key in instance/secrets.json)"])
    return f"personal data: {len(ids)} sampled profile(s) decrypted", []


def key_fingerprints(config: dict) -> dict:
    """What a backup's manifest records of the keys (never the keys): the field-encryption key's SHA-256 and the
    signing keys' ids, so a restore can say which keys it lacks even before any record needs them."""
    ring = Path(config["CERT_KEY_DIR"]) / "keyring.json"
    kids = [k["kid"] for k in json.loads(ring.read_text(encoding="utf-8"))["keys"]] if ring.exists() else []
    return {"keys": {"field_key_sha256": hashlib.sha256(config["FIELD_ENCRYPTION_KEY"].encode()).hexdigest(),
                     "signing_kids": kids}}


def _against_manifest(config: dict, manifest: dict) -> tuple[str, list[str]]:
    recorded = (manifest or {}).get("keys")
    if not recorded:
        return "keys: the backup records none (made before issue 19)", []
    now = key_fingerprints(config)["keys"]
    problems = []
    if recorded["field_key_sha256"] != now["field_key_sha256"]:
        problems.append("FIELD_ENCRYPTION_KEY is not the key this backup was made with: personal data would not "
                        "decrypt and new records would be encrypted with another key. Restore again with --keys <the "
                        "cqo-keys-….cqokeys archive made by `flask backup --keys`>")
    missing = [k for k in recorded["signing_kids"] if k not in now["signing_kids"]]
    if missing:
        problems.append(f"signing key(s) {', '.join(missing)} are not in {config['CERT_KEY_DIR']}: certificates they "
                        "signed would be 'unknown key'. Restore again with --keys <the keys archive>")
    return "keys: field-encryption key and signing keys compared with the backup's", problems


def verify(app: Flask, manifest: dict | None = None) -> tuple[list[str], list[str]]:
    """(what was checked, problems). Empty problems: the restored system works with the keys present."""
    features.import_setup()  # feature checks register in their setup modules (certificates.setup)
    what, problems = _against_manifest(app.config, manifest or {})
    checked = [what]
    with app.app_context():
        with db.job_session() as session:
            for check in [personal_data, *_checks]:
                try:
                    what, found = check(session, app.config)
                except Exception as exc:  # noqa: BLE001 - reported as a problem, never swallowed
                    what, found = check.__name__, [f"{check.__name__} failed: {type(exc).__name__}: {exc}"]
                checked.append(what)
                problems += found
    return checked, problems


def clear_leases(app: Flask) -> int:
    """A backup taken while the scheduler ran holds its lease, still valid for up to 90 s: give it back, so
    the scheduler started after the restore takes over and catches up at once."""
    with app.app_context():
        with db.job_session() as session:
            return session.execute(delete(SchedulerLease)).rowcount


def use_field_key(app: Flask, key: str) -> None:
    """Use a field-encryption key just installed from a keys archive in this process too."""
    app.config["FIELD_ENCRYPTION_KEY"] = key
    pii.configure(key)
