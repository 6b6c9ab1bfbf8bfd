"""The platform over HTTP: health, headers, errors, language, anonymous refusal, CSRF."""
import re

import pytest

from tests.conftest import make_app, post_form

# Endpoints anyone may open without logging in. Everything else must refuse an anonymous request.
PUBLIC_ENDPOINTS = {
    "static", "bootstrap.static", "core.index", "core.healthz", "core.set_language", "auth.login",
    "people.register", "api.openapi", "courses.static",
}
PUBLIC_PREFIXES = ("certificates.public_", "api.public_", "courses.public_", "talent.public_", "published.public_",
                   "auth.public_")  # features mark public endpoints by name


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_security_headers(client):
    resp = client.get("/auth/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


def test_pages_have_no_inline_script(client, login_as):
    login_as("nt_admin")
    for url in ["/home", "/manage/institutions", "/manage/enterprises", "/manage/users", "/auth/tokens"]:
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html, url


def test_default_language_is_chinese_and_english_is_available(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "登录" in html
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    resp = client.post("/lang/en", data={"csrf_token": token, "next": "/auth/login"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Log in" in html


def test_404_page_is_chinese_with_request_id(client):
    resp = client.get("/no/such/page")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "页面不存在" in html
    assert resp.headers["X-Request-ID"] in html


def test_500_page_hides_the_stack_trace(database_url, tmp_dir):
    app = make_app(database_url, tmp_dir, TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals 320600198506150246")

    resp = app.test_client().get("/boom")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500 and "服务器内部错误" in html
    assert "Traceback" not in html and "secret internals" not in html
    assert resp.headers["X-Request-ID"] in html
    api = app.test_client().get("/api/v1/nope")
    assert api.status_code == 404 and api.get_json()["status"] == 404


def _fill(rule):
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(r"<(?:[a-z]+:)?%s>" % arg, "1" if "int:" in rule.rule else "x", url)
    return url


def test_every_non_public_endpoint_refuses_anonymous_requests(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if (rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_PREFIXES)
                or rule.endpoint.endswith(".static")):  # a blueprint's own CSS and JS
            continue
        url = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method)
            if url.startswith("/api/"):
                assert resp.status_code == 401, (method, url, resp.status_code)
            elif method == "GET":
                assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], (method, url)
            else:  # a POST without a session fails CSRF or login first; never 2xx
                assert resp.status_code in (302, 400, 401, 403), (method, url, resp.status_code)
            checked += 1
    assert checked > 20


def test_forms_require_csrf(client, world):
    resp = client.post("/auth/login", data={"username": "nt_admin", "password": "Passw0rd!cqo"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # not logged in


def test_safe_redirect_after_login(client, world):
    resp = post_form(client, "/auth/login?next=//evil.example/x", {"username": "nt_admin", "password": "Passw0rd!cqo"})
    assert resp.headers["Location"] == "/home"
