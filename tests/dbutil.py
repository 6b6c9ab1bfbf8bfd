"""Databases for tests: the suite's own (TEST_DATABASE_URL, else a temporary SQLite file) and fresh empty
ones for the migration and browser tests (a new file, or a new PostgreSQL database beside the suite's)."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def suite_url(tmp_dir: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'suite.sqlite3'}"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def fresh_url(base_url: str, suffix: str, tmp_dir: Path) -> str:
    """An empty database named after ``suffix``: dropped and created anew."""
    if not is_postgres(base_url):
        path = tmp_dir / f"{suffix}.sqlite3"
        for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
            p.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["skip_logging"] = True
    from lms.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    engine.dispose()
