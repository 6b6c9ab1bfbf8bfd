"""Going live (issue 19): production start-up checks and `flask doctor`; one structured log line per request;
an unhandled database error logged once, without its SQL parameters."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from lms import doctor
from lms.errors import DomainError
from tests.conftest import make_app

PRODUCTION = {"LMS_ENV": "production", "PUBLIC_BASE_URL": "https://cqo.amr.example.gov.cn", "SESSION_COOKIE_SECURE": True,
              "TRUSTED_PROXIES": 1, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "WEB_WORKERS": 5}

# what an app can be built with here (no Redis client installed): memory storage, one worker
APP_PRODUCTION = {**PRODUCTION, "RATELIMIT_STORAGE_URI": "memory://", "WEB_WORKERS": 1}


@pytest.fixture(autouse=True)
def _trust_demo_keys_again():
    """A production app stops trusting demo signing keys process-wide; the tests after these need them."""
    yield
    from certificates import keys

    keys.configure(trust_demo_keys=True)


def _names(findings, level):
    return {f.name for f in findings if f.level == level}


def test_golive_start_up_checks_in_production(tmp_dir):
    base = {**PRODUCTION, "DATABASE_URL": "postgresql+psycopg://x@h/db", "CERT_KEY_DIR": str(tmp_dir)}
    clean = doctor.config_checks(base)
    assert not _names(clean, doctor.ERROR) - {"fonts"}
    assert not _names(clean, doctor.WARNING) - {"fonts", "backups", "CERT_KEY_DIR"}

    unsafe = doctor.config_checks({**base, "PUBLIC_BASE_URL": "", "SESSION_COOKIE_SECURE": False, "TRUSTED_PROXIES": 0,
                                   "RATELIMIT_STORAGE_URI": "lms-memory://"})
    assert "PUBLIC_BASE_URL" in _names(unsafe, doctor.ERROR)
    cookie = doctor.config_checks({**base, "SESSION_COOKIE_SECURE": False})
    assert "SESSION_COOKIE_SECURE" in _names(cookie, doctor.WARNING)
    memory = doctor.config_checks({**base, "RATELIMIT_STORAGE_URI": "lms-memory://"}, workers=5)
    assert "RATELIMIT_STORAGE_URI" in _names(memory, doctor.WARNING)
    assert "RATELIMIT_STORAGE_URI" not in _names(doctor.config_checks({**base, "RATELIMIT_STORAGE_URI": "memory://"},
                                                                      workers=1), doctor.WARNING)
    proxy = doctor.config_checks({**base, "TRUSTED_PROXIES": 0})
    assert "TRUSTED_PROXIES" in _names(proxy, doctor.WARNING)


def test_golive_missing_cjk_fonts_are_reported(monkeypatch, tmp_dir):
    monkeypatch.setattr(doctor, "cjk_font_present", lambda: False)
    found = doctor.config_checks({**PRODUCTION, "CERT_KEY_DIR": str(tmp_dir)})
    assert "fonts" in _names(found, doctor.ERROR)
    assert "fonts-noto-cjk" in next(f.message for f in found if f.name == "fonts")


def test_golive_production_has_no_default_address_and_refuses_certificates(monkeypatch):
    from lms import config

    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert config.load()["PUBLIC_BASE_URL"] == ""
    monkeypatch.setenv("LMS_ENV", "development")
    assert config.load()["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"  # the demo keeps its address

    from certificates import services

    with pytest.raises(DomainError, match="PUBLIC_BASE_URL"):
        services.create_certificate(None, None, None, services.CertConfig(key_dir="/nonexistent", base_url=""), None)


def test_golive_the_factory_logs_each_finding_once_and_doctor_prints_them(database_url, tmp_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="lms.doctor"):
        app = make_app(database_url, tmp_dir, **{**APP_PRODUCTION, "PUBLIC_BASE_URL": "", "SESSION_COOKIE_SECURE": False})
    logged = [r.getMessage() for r in caplog.records if r.name == "lms.doctor"]
    assert sum("PUBLIC_BASE_URL" in m for m in logged) == 1
    assert any("[ERROR" in m and "PUBLIC_BASE_URL" in m for m in logged)
    res = app.test_cli_runner().invoke(args=["doctor", "--workers", "5"])
    assert res.exit_code == 1
    assert "[ERROR  ] PUBLIC_BASE_URL" in res.output and "error(s)" in res.output
    ok = make_app(database_url, tmp_dir, **APP_PRODUCTION).test_cli_runner().invoke(args=["doctor"])
    assert "PUBLIC_BASE_URL: https://cqo.amr.example.gov.cn" in ok.output


def test_golive_a_forwarded_request_without_trusted_proxies_is_reported_once(database_url, tmp_dir, caplog):
    app = make_app(database_url, tmp_dir)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="lms.doctor"):
        for _ in range(3):
            client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    assert sum("TRUSTED_PROXIES" in r.getMessage() for r in caplog.records) == 1


def test_golive_one_structured_access_line_per_request(database_url, tmp_dir, caplog):
    app = make_app(database_url, tmp_dir)
    with caplog.at_level(logging.INFO, logger="lms.access"):
        resp = app.test_client().get("/healthz?q=320681198304051352", headers={"X-Request-ID": "req-golive-0001"})
    lines = [r for r in caplog.records if r.name == "lms.access"]
    assert len(lines) == 1
    msg = lines[0].getMessage()
    assert lines[0].request_id == "req-golive-0001" == resp.headers["X-Request-ID"]
    assert "method=GET path=/healthz status=200 duration_ms=" in msg and "user=-" in msg
    assert "320681198304051352" not in msg  # the query string is never logged
    handler = next(h for h in logging.getLogger("lms").handlers if h.filters)
    line = handler.format(lines[0])
    assert line.startswith("20") and "[req-golive-0001] lms.access:" in line  # time, request id, then the fields


def test_golive_an_unhandled_database_error_is_logged_once_without_parameters(database_url, tmp_dir, caplog):
    app = make_app(database_url, tmp_dir, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    secret = "320681198304051352"

    @app.route("/_golive_boom")
    def _boom():
        from lms.db import db

        db.session.execute(text("SELECT * FROM no_such_table WHERE id_number = :v AND phone = :p"),
                           {"v": secret, "p": "13912345678"})
        return "unreachable"

    with caplog.at_level(logging.INFO):
        resp = app.test_client().get("/_golive_boom")
    assert resp.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    handler = next(h for h in logging.getLogger("lms").handlers if h.filters)
    everything = "\n".join(handler.format(r) for r in caplog.records)
    assert "no_such_table" in everything  # the error itself is there
    assert secret not in everything and "13912345678" not in everything
    assert "hidden due to hide_parameters" in everything
    assert sum(r.name == "lms.access" and "status=500" in r.getMessage() for r in caplog.records) == 1


def test_golive_demo_certificates_use_a_demo_key_that_production_never_trusts(tmp_dir):
    import datetime as dt

    from certificates import keys

    key_dir = tmp_dir / "golive-demo-keys"
    real = keys.ensure_key(key_dir, dt.date(2026, 1, 1))[0]
    demo_kid = keys.ensure_demo_key(key_dir, dt.date(2026, 1, 2))
    assert demo_kid.startswith(keys.DEMO_PREFIX) and keys.ensure_demo_key(key_dir, dt.date(2026, 1, 3)) == demo_kid
    assert {k["kid"] for k in keys.public_document(key_dir)["keys"]} == {real, demo_kid}
    assert keys.signing_key(key_dir)[0] == demo_kid

    keys.configure(trust_demo_keys=False)  # what an app with LMS_ENV=production does
    assert {k["kid"] for k in keys.public_document(key_dir)["keys"]} == {real}
    with pytest.raises(keys.NoSigningKey):
        keys.signing_key(key_dir)


def test_golive_a_production_app_stops_trusting_demo_keys(database_url, tmp_dir):
    from certificates import keys

    make_app(database_url, tmp_dir, **APP_PRODUCTION)
    assert keys._trust_demo is False
    make_app(database_url, tmp_dir)
    assert keys._trust_demo is True
