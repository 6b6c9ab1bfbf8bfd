"""Behind a reverse proxy the visitor's address comes from X-Forwarded-For, only when configured."""
from tests.conftest import make_app


def _addr_app(database_url, tmp_dir, **cfg):
    app = make_app(database_url, tmp_dir, **cfg)

    @app.route("/_addr")
    def _addr():
        from flask import request

        return request.remote_addr or ""

    return app


def test_forwarded_for_trusted_only_when_configured(database_url, tmp_dir):
    h = {"X-Forwarded-For": "203.0.113.9"}
    direct = _addr_app(database_url, tmp_dir).test_client().get("/_addr", headers=h)
    proxied = _addr_app(database_url, tmp_dir, TRUSTED_PROXIES=1).test_client().get("/_addr", headers=h)
    assert direct.get_data(as_text=True) == "127.0.0.1"
    assert proxied.get_data(as_text=True) == "203.0.113.9"
