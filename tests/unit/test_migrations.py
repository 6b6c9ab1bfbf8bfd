"""One Alembic head, and `upgrade head` on an empty database gives exactly the models' schema."""
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lms.db import Base, make_engine
from lms.features import import_models
from tests import dbutil

ROOT = Path(__file__).resolve().parents[2]


def test_single_head():
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_upgrade_matches_models(database_url, tmp_dir):
    url = dbutil.fresh_url(database_url, "migr", tmp_dir)
    dbutil.migrate(url)
    import_models()
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], diff
