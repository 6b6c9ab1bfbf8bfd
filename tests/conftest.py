"""Fixture chain: app → db session (rolled back after each test) → client → logged-in clients."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import werkzeug.test
from sqlalchemy.orm import sessionmaker

import lms.db
from lms.app import create_app
from lms.db import Base
from lms.features import import_models
from tests import dbutil, world_snapshot

# werkzeug's test EnvironBuilder encodes a multipart body over 500 KB into a TemporaryFile that nothing closes (its
# close() closes only the files passed in), a ResourceWarning in tests that upload large files. Keep test bodies in
# memory instead; the application's own request parsing is unchanged.
_encode_multipart = werkzeug.test.stream_encode_multipart
werkzeug.test.stream_encode_multipart = lambda data, use_tempfile=True, threshold=0, boundary=None: _encode_multipart(
    data, use_tempfile=False, boundary=boundary)

# Every app a test builds has an engine with a connection pool. An app dropped mid-run leaves its pooled psycopg
# connections to the garbage collector, which warns ("deleted while still open") in whatever test runs then. Keep
# every app engine alive and dispose of them all when the session ends.
_app_engines: list = []
_make_engine = lms.db.make_engine


def _tracked_engine(url: str, **kwargs):
    engine = _make_engine(url, **kwargs)
    _app_engines.append(engine)
    return engine


lms.db.make_engine = _tracked_engine


@pytest.fixture(scope="session", autouse=True)
def _dispose_app_engines():
    yield
    for engine in _app_engines:
        if getattr(engine, "lms_changes", None) is not None:  # a listener a scan started (lms/changes.py)
            engine.lms_changes.stop()
        engine.dispose()


TEST_KEY = "mSxv0n3a2PHnYTnLlKX7o3X8y5w9zJY6X5Zg4p8c0bQ="
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(scope="session")
def tmp_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("lms")


@pytest.fixture(scope="session")
def database_url(tmp_dir):
    return dbutil.suite_url(tmp_dir)


def make_app(database_url: str, tmp_dir, **extra):
    cfg = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "FIELD_ENCRYPTION_KEY": TEST_KEY,
        "UPLOAD_DIR": str(tmp_dir / "uploads"),
        "CERT_KEY_DIR": str(tmp_dir / "keys"),
        "SERVER_NAME": None,
        # Argon2id's cheapest cost (8 KiB, one lane: ~0.05 ms a hash instead of ~5 ms with four threads) for the
        # ~10 accounts of every `world` and each login; production's cost is config's default, checked by
        # tests/unit/test_ci_suite_costs.py, which also hashes once at that cost.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        "MAIL_BACKEND": "none",  # a test that wants mail sets "folder" (MAIL_FOLDER) or "smtp"
        "MAIL_FOLDER": str(tmp_dir / "mail"),
    }
    cfg.update(extra)
    return create_app(cfg)


@pytest.fixture(scope="session")
def app(database_url, tmp_dir):
    app = make_app(database_url, tmp_dir)
    import_models()
    engine = app.extensions["lms_db"].engine
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield app
    engine.dispose()


@pytest.fixture
def db(app):
    """A session whose work is undone after the test. Requests made by the test client during the test use
    the same connection, so they see the test's data and their commits become savepoints."""
    state = app.extensions["lms_db"]
    conn = state.engine.connect()
    outer = conn.begin()
    maker = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    original = state.sessionmaker
    state.sessionmaker = maker
    session = maker()
    from lms.extensions import limiter

    limiter.reset()
    # No app context is pushed here: the test client's requests must each get their own (and so their own
    # ``g`` and database session), exactly as in production.
    try:
        yield session
    finally:
        session.close()
        state.sessionmaker = original
        if outer.is_active:
            outer.rollback()
        conn.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str = "/auth/login") -> str:
    html = client.get(url).get_data(as_text=True)
    m = _CSRF_RE.search(html)
    assert m, f"no CSRF token on {url}"
    return m.group(1)


def post_form(client, url: str, data: dict, token_from: str | None = None, **kw):
    data = dict(data)
    data["csrf_token"] = csrf_token(client, token_from or url)
    return client.post(url, data=data, **kw)


def login(client, username: str, password: str = "Passw0rd!cqo"):
    resp = post_form(client, "/auth/login", {"username": username, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


@pytest.fixture
def world(request, db):
    """A small region tree with bureaus, institutions, enterprises and one user per role: built through the
    services by a module's first test, then the same rows copied back into each later test's transaction
    (tests/world_snapshot.py)."""
    from tests import factories

    return world_snapshot.world(request, db, factories.World)


@pytest.fixture
def login_as(client, world):
    def _login(username: str):
        login(client, username)
        return client

    return _login
