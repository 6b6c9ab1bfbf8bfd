"""Issue 20: the nightly ``sqlite-optimize`` job gives SQLite's planner its statistics (``sqlite_stat1``) after
the night's jobs; on PostgreSQL (autovacuum analyses) it does nothing."""
from sqlalchemy import text

from lms.jobs import services
from lms.jobs.builtin import sqlite_optimize


def test_perf_20p_sqlite_optimize_job_writes_the_planners_statistics(app, db, world):
    assert "sqlite-optimize" in services.REGISTRY and sqlite_optimize.__doc__
    out = services.run_job(app.extensions["lms_db"].sessionmaker, "sqlite-optimize", trigger="manual")
    assert out.status == "ok", out.result
    if db.get_bind().dialect.name != "sqlite":
        assert out.result == {"skipped": "postgresql"}
        return
    assert out.result == {"analysed": True}
    tables = {r[0] for r in db.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert {"users", "regions", "job_runs"} <= tables, tables  # every table with rows
