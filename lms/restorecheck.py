"""After ``flask restore``: prove the restored system can be used before saying it was restored.

``verify`` decrypts a sample of the personal data with the field-encryption key now configured and runs the
checks features add (``add_check``; certificates verifies a sample of certificates with the signing keys in
``CERT_KEY_DIR``). Each problem says exactly what is missing and how to supply it; ``flask restore`` then
exits with an error instead of reporting success.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import features, pii
from lms.db import db
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


def verify(app: Flask) -> tuple[list[str], list[str]]:
    """(what was checked, problems). Empty problems: the restored system works with the keys present."""
    features.import_setup()  # feature checks register in their setup modules (certificates.setup)
    checked, problems = [], []
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


def use_field_key(app: Flask, key: str) -> None:
    """Use a field-encryption key just installed from a keys archive in this process too."""
    app.config["FIELD_ENCRYPTION_KEY"] = key
    pii.configure(key)
