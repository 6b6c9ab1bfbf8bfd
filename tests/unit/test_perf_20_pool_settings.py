"""Issue 20 — PostgreSQL's pool without a pre-ping round trip per checkout (运维设置 DB_POOL_PRE_PING, off by
default, DB_POOL_RECYCLE): a connection found dead answers 503 with Retry-After, never 500."""
from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tests import dbutil
from tests.conftest import make_app


class _Gone(Exception):
    pass


def test_perf_20_lost_connection_answers_503(database_url, tmp_dir):
    papp = make_app(database_url, tmp_dir, DB_RETRY_AFTER=4, WTF_CSRF_ENABLED=False)

    def lost():
        raise OperationalError("SELECT 1", {}, _Gone("server closed the connection unexpectedly"),
                               connection_invalidated=True)

    def other():
        raise OperationalError("SELECT 1", {}, _Gone("some other failure"))

    papp.add_url_rule("/_probe/lost", "probe_lost", lost)
    papp.add_url_rule("/_probe/other", "probe_other", other)
    papp.config["PROPAGATE_EXCEPTIONS"] = False
    client = papp.test_client()
    resp = client.get("/_probe/lost")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "4"
    assert client.get("/_probe/other").status_code == 500  # only a lost connection is "try again"
    papp.extensions["lms_db"].engine.dispose()


def test_perf_20_pool_settings_reach_postgresql_engine(database_url, tmp_dir):
    papp = make_app(database_url, tmp_dir)
    ppapp = make_app(database_url, tmp_dir, DB_POOL_PRE_PING=True, DB_POOL_RECYCLE=60)
    pool, ppool = papp.extensions["lms_db"].engine.pool, ppapp.extensions["lms_db"].engine.pool
    if dbutil.is_postgres(database_url):
        assert (pool._pre_ping, pool._recycle) == (False, 1800)
        assert (ppool._pre_ping, ppool._recycle) == (True, 60)
    else:  # SQLite: a local file, nothing to ping; the writers queue instead (test_perf_20_sqlite_write_queue)
        assert papp.extensions["lms_db"].engine.lms_write_queue is not None or ":memory:" in database_url
    papp.extensions["lms_db"].engine.dispose()
    ppapp.extensions["lms_db"].engine.dispose()
