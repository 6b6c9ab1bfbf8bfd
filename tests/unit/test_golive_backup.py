"""Going live (issue 19): a backup restores a working system. The archive is 0600; the keys travel in a
separate archive sealed with a passphrase; restore into an empty database refuses to report success until
personal data decrypts and certificates verify, and says exactly what is missing."""
from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from lms import demo, keyarchive, pii
from lms.db import db
from lms.features import import_models
from lms.jobs.models import SchedulerLease
from lms.people.models import TraineeProfile
from tests import dbutil
from tests.conftest import TEST_KEY, make_app

PASSPHRASE = "correct horse battery staple"
OTHER_KEY = pii.generate_key()


@pytest.fixture(scope="module")
def source(database_url, tmp_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMS_INSTANCE_PATH", str(tmp_dir / "golive-src-instance"))
        mp.delenv("FIELD_ENCRYPTION_KEY", raising=False)
        yield from _source(database_url, tmp_dir)


def _source(database_url, tmp_dir):
    url = dbutil.migrated_url(database_url, "golive_bk_src", tmp_dir)
    app = make_app(url, tmp_dir, UPLOAD_DIR=str(tmp_dir / "golive-src-uploads"), CERT_KEY_DIR=str(tmp_dir / "golive-src-keys"))
    import_models()
    with app.app_context():
        with db.job_session() as s:
            demo.seed(s, dt.date(2026, 11, 22))
        wang = db.session.scalar(select(TraineeProfile.id_number).order_by(TraineeProfile.id).limit(1))
        # the scheduler was running when the backup was taken: its lease is in the archive
        from lms.jobs import services as job_services

        with db.job_session() as s:
            assert job_services.acquire_lease(s, "scheduler", "old-host:123", 90)
    out = tmp_dir / "golive-backups"
    runner = app.test_cli_runner()
    res = runner.invoke(args=["backup", "--output", str(out)])
    assert res.exit_code == 0, res.output
    archive = res.output.strip().splitlines()[-1]
    res = runner.invoke(args=["backup", "--keys", "--output", str(out)], input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert res.exit_code == 0, res.output
    keys = res.output.strip().splitlines()[-1]
    app.extensions["lms_db"].engine.dispose()
    yield {"archive": archive, "keys": keys, "wang": wang}
    pii.configure(TEST_KEY)


def _fresh_install(database_url, tmp_dir, monkeypatch, name):
    """A new machine: migrated empty database, `secrets init` (another field key), an empty key folder."""
    monkeypatch.delenv("FIELD_ENCRYPTION_KEY", raising=False)
    inst = tmp_dir / f"{name}-instance"
    inst.mkdir(exist_ok=True)
    (inst / "secrets.json").write_text(json.dumps({"SECRET_KEY": "n" * 40, "FIELD_ENCRYPTION_KEY": OTHER_KEY}))
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(inst))
    url = dbutil.migrated_url(database_url, name, tmp_dir)
    app = make_app(url, tmp_dir, FIELD_ENCRYPTION_KEY=OTHER_KEY, UPLOAD_DIR=str(tmp_dir / f"{name}-uploads"),
                   CERT_KEY_DIR=str(tmp_dir / f"{name}-keys"))
    return app, inst


def test_golive_archives_are_private(source):
    for path in (source["archive"], source["keys"]):
        assert stat.S_IMODE(__import__("os").stat(path).st_mode) == 0o600
    with pytest.raises(keyarchive.KeyArchiveError, match="wrong passphrase"):
        keyarchive.read(source["keys"], "not the passphrase")
    payload = keyarchive.read(source["keys"], PASSPHRASE)
    assert payload["FIELD_ENCRYPTION_KEY"] == TEST_KEY
    assert "keyring.json" in payload["signing_keys"] and any(n.endswith(".pem") for n in payload["signing_keys"])
    assert TEST_KEY.encode() not in Path(source["keys"]).read_bytes()


def test_golive_restore_without_the_keys_refuses_and_says_what_is_missing(source, database_url, tmp_dir, monkeypatch):
    app, _inst = _fresh_install(database_url, tmp_dir, monkeypatch, "golive_bk_nokeys")
    res = app.test_cli_runner().invoke(args=["restore", source["archive"], "--yes"])
    assert res.exit_code != 0
    assert "NOT usable" in res.output
    assert "personal data cannot be decrypted" in res.output and "--keys" in res.output
    assert "certificates signed with key(s) demo-" in res.output
    assert "restored from" not in res.output
    app.extensions["lms_db"].engine.dispose()


def test_golive_restore_with_the_keys_archive_gives_a_working_system(source, database_url, tmp_dir, monkeypatch):
    app, inst = _fresh_install(database_url, tmp_dir, monkeypatch, "golive_bk_keys")
    pw = tmp_dir / "golive-passphrase"
    pw.write_text(PASSPHRASE + "\n")
    runner = app.test_cli_runner()
    wrong = tmp_dir / "golive-wrong"
    wrong.write_text("wrong passphrase here\n")
    res = runner.invoke(args=["restore", source["archive"], "--yes", "--keys", source["keys"], "--passphrase-file", str(wrong)])
    assert res.exit_code != 0 and "wrong passphrase" in res.output and "database and uploads" not in res.output

    res = runner.invoke(args=["restore", source["archive"], "--yes", "--keys", source["keys"], "--passphrase-file", str(pw)])
    assert res.exit_code == 0, res.output
    assert "restored from" in res.output and "sampled profile(s) decrypted" in res.output
    assert json.loads((inst / "secrets.json").read_text())["FIELD_ENCRYPTION_KEY"] == TEST_KEY
    assert stat.S_IMODE((inst / "secrets.json").stat().st_mode) == 0o600
    with app.app_context():
        assert db.session.scalar(select(TraineeProfile.id_number).order_by(TraineeProfile.id).limit(1)) == source["wang"]
        assert db.session.scalar(select(SchedulerLease.holder)) is None  # a new scheduler takes over at once
    app.extensions["lms_db"].engine.dispose()


def test_golive_restore_of_a_site_with_no_records_yet_still_needs_its_keys(database_url, tmp_dir, monkeypatch):
    """Nothing to decrypt or verify yet: the manifest's key fingerprints still show the keys are not the backup's."""
    monkeypatch.delenv("FIELD_ENCRYPTION_KEY", raising=False)
    url = dbutil.migrated_url(database_url, "golive_bk_empty", tmp_dir)
    app = make_app(url, tmp_dir, CERT_KEY_DIR=str(tmp_dir / "golive-empty-keys"), UPLOAD_DIR=str(tmp_dir / "golive-e-up"))
    from certificates import keys

    keys.ensure_key(tmp_dir / "golive-empty-keys", dt.date(2026, 12, 1))
    res = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_dir / "golive-empty-out")])
    assert res.exit_code == 0, res.output
    archive = res.output.strip().splitlines()[-1]
    app.extensions["lms_db"].engine.dispose()
    try:
        target, _inst = _fresh_install(database_url, tmp_dir, monkeypatch, "golive_bk_empty_dst")
        res = target.test_cli_runner().invoke(args=["restore", archive, "--yes"])
        assert res.exit_code != 0
        assert "FIELD_ENCRYPTION_KEY is not the key this backup was made with" in res.output
        assert "signing key(s) cqo-20261201-" in res.output
        target.extensions["lms_db"].engine.dispose()
    finally:
        pii.configure(TEST_KEY)
