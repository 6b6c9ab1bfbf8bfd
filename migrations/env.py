"""Alembic environment. The URL comes from lms.config (or ``-x url=...`` / the connection a caller passes);
every model module is imported so autogenerate sees the whole schema."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from lms import config as lms_config
from lms.db import Base, make_engine
from lms.features import import_models

import_models()
target_metadata = Base.metadata
config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_, obj, autogen_context):
    """Write custom column types as their plain SQL type, so revisions never import application code."""
    from sqlalchemy.types import TypeDecorator

    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl if not isinstance(obj.impl, type) else obj.impl()
        return f"sa.{impl!r}"
    return False


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or lms_config.load()["DATABASE_URL"]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                      compare_type=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode recreates tables where needed.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
