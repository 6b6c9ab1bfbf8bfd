"""Going live (issue 19): every downgrade keeps the data or refuses, before changing anything, with a message
that says to restore the backup instead. The demo database goes from the first revision to head, down as far
as its data allows, and up again with the same rows."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from lms import backup, demo
from lms.db import db, make_engine
from lms.features import import_models
from tests import dbutil, golive_util
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]


def _config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["skip_logging"] = True
    return cfg


def _run(url: str, fn, target: str) -> None:
    cfg = _config()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, target)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    with engine.connect() as conn:
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return rev


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]  # first … head


def test_golive_empty_database_goes_down_to_nothing_and_up_again(database_url, tmp_dir):
    url = golive_util.fresh_url(database_url, "golive_migr_empty", tmp_dir)
    _run(url, command.upgrade, "head")
    _run(url, command.downgrade, "base")
    _run(url, command.upgrade, "head")
    assert _revision(url) == _revisions()[-1]


def test_golive_demo_database_round_trip_keeps_every_row(database_url, tmp_dir):
    revisions = _revisions()
    url = golive_util.fresh_url(database_url, "golive_migr_demo", tmp_dir)
    for rev in revisions:  # from the first revision to head, one step at a time
        _run(url, command.upgrade, rev)
        assert _revision(url) == rev
    app = make_app(url, tmp_dir, CERT_KEY_DIR=str(tmp_dir / "golive-migr-keys"))
    import_models()
    with app.app_context():
        with db.job_session() as s:
            demo.seed(s, dt.date(2026, 11, 22))
    engine = app.extensions["lms_db"].engine
    before = backup.row_counts(engine)
    engine.dispose()
    assert before["users"] > 30 and before["certificates"] > 0

    went_down, refused = [], None
    for rev in reversed(revisions[1:]):
        try:
            _run(url, command.downgrade, "-1")
        except RuntimeError as exc:
            refused = (rev, str(exc))
            break
        went_down.append(rev)
        assert _revision(url) != rev
    # Issue 14's revision (the basis beside targets and key industries) refuses on the demo's data itself.
    assert went_down or refused[0] == revisions[-1], "the newest revision's downgrade keeps the demo's data, so it must run"
    assert refused is not None, "the demo's data reaches back to the first revisions: some downgrade must refuse"
    rev, message = refused
    assert _revision(url) == rev  # refused before changing anything
    assert "restore the backup" in message
    engine = make_engine(url)
    counts = {t: n for t, n in backup.row_counts(engine).items() if t in before}
    engine.dispose()
    assert counts == {t: n for t, n in before.items() if t in counts}

    _run(url, command.upgrade, "head")
    engine = make_engine(url)
    assert backup.row_counts(engine) == before
    engine.dispose()


def test_golive_a_downgrade_that_would_drop_rows_refuses(database_url, tmp_dir):
    url = golive_util.fresh_url(database_url, "golive_migr_refuse", tmp_dir)
    _run(url, command.upgrade, "head")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO published_texts (kind, version, title, body, published_at) "
                          "VALUES ('privacy', 'P-1', 't', 'b', CURRENT_TIMESTAMP)"))
    engine.dispose()
    _run(url, command.downgrade, "0008")  # the revisions after the one that made published_texts hold no rows here
    with pytest.raises(RuntimeError, match=r"published_texts.*restore the backup"):
        _run(url, command.downgrade, "0007")  # below the revision that made published_texts (0008)
    assert _revision(url) == "0008"  # refused before changing anything
