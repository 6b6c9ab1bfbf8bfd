"""A backup restores every record: on SQLite through the online backup API, on PostgreSQL through pg_dump."""
import datetime as dt

from sqlalchemy import delete, select

from lms import backup, demo
from lms.auth.models import User
from lms.db import Base
from lms.features import import_models
from lms.people.models import TraineeProfile
from tests import dbutil
from tests.conftest import make_app


def test_backup_then_restore_brings_back_every_record(database_url, tmp_dir):
    url = dbutil.migrated_url(database_url, "bkp", tmp_dir)
    app = make_app(url, tmp_dir / "bkp", UPLOAD_DIR=str(tmp_dir / "bkp-uploads"))
    import_models()
    engine = app.extensions["lms_db"].engine
    from lms.db import db

    with app.app_context():
        with db.job_session() as s:
            demo.seed(s, dt.date(2026, 11, 22))
    uploads = tmp_dir / "bkp-uploads"
    (uploads / "letters").mkdir(parents=True, exist_ok=True)
    (uploads / "letters" / "a.pdf").write_bytes(b"%PDF-1.4 appointment letter")
    before = backup.row_counts(engine)
    with app.app_context():
        wang_id = db.session.scalar(select(TraineeProfile.id_number).join(User).where(User.username == "trainee"))

    archive = backup.backup(engine, url, str(uploads), str(tmp_dir / "bkp-out"))
    manifest = backup.read_manifest(archive)
    files = sum(1 for p in uploads.rglob("*") if p.is_file())
    assert manifest["row_counts"] == before and manifest["revision"] and manifest["uploads"] == files >= 1

    # disaster: trainees deleted, the upload lost
    with engine.begin() as conn:
        conn.execute(delete(TraineeProfile.__table__))
    (uploads / "letters" / "a.pdf").unlink()

    backup.restore(engine, url, str(uploads), str(archive))
    assert backup.row_counts(engine) == before
    assert (uploads / "letters" / "a.pdf").read_bytes() == b"%PDF-1.4 appointment letter"
    with app.app_context():
        # encrypted fields still decrypt with the same key
        assert db.session.scalar(select(TraineeProfile.id_number).join(User).where(User.username == "trainee")) == wang_id
    engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_dir):
    import tarfile

    import pytest

    bogus = tmp_dir / "bogus.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        tar.add(__file__, arcname="x.py")
    with pytest.raises(backup.BackupError):
        backup.read_manifest(bogus)
