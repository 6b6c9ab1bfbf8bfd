"""Databases for tests: the suite's own (TEST_DATABASE_URL, else a temporary SQLite file) and fresh empty
ones for the migration and browser tests (a new file, or a new PostgreSQL database beside the suite's)."""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
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


# One database migrated to head per test session and base URL, the template of every migrated_url (CI time, issue
# "CI under 15 minutes"): running the whole chain of migrations for each test that wants an empty installed database
# cost seconds apiece. The chain itself is still run from nothing by test_migrations and test_golive_migrations.
_templates: dict[tuple[str, str], str] = {}


def migrated_url(base_url: str, suffix: str, tmp_dir: Path) -> str:
    """A new database named after ``suffix``, at the migrations' head and otherwise empty, as ``fresh_url`` then
    ``migrate`` would leave it: a copy of a template migrated once per session (CREATE DATABASE … TEMPLATE on
    PostgreSQL, SQLite's online backup of the file on SQLite)."""
    key = (base_url, str(tmp_dir))
    template = _templates.get(key)
    if template is None:
        template = fresh_url(base_url, "head_template", tmp_dir)
        migrate(template)
        if is_postgres(base_url):
            # no connections to it (autovacuum's included), so that CREATE DATABASE may copy it at any time
            admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{make_url(template).database}" WITH ALLOW_CONNECTIONS false'))
            admin.dispose()
        _templates[key] = template
    if not is_postgres(base_url):
        path = tmp_dir / f"{suffix}.sqlite3"
        for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
            p.unlink(missing_ok=True)
        src = sqlite3.connect(make_url(template).database)
        dst = sqlite3.connect(path)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return f"sqlite:///{path}"
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(20):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"'))
                break
            except DBAPIError:  # a database a previous run left may still be busy a moment (see golive_util)
                if attempt == 19:
                    raise
                time.sleep(1)
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
