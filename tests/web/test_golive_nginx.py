"""Going live (issue 19): Debian's nginx with the README's site file (deploy/nginx/cqo-lms.conf, only its paths
and ports rewritten) and a self-signed certificate, in front of gunicorn run as in production (LMS_ENV=production,
gunicorn.conf.py). Checks sign-in through TLS, CSRF, Secure cookies, the visitor's address as the rate limiter
sees it, and the cache headers of the verification GETs.

In CI (CI=true) a missing nginx fails the test: .ci/run installs it. Elsewhere it is skipped with the reason.
"""
from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from lms import demo
from lms.db import db
from lms.features import import_models
from tests import dbutil
from tests.conftest import TEST_KEY, make_app

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "cqo-lms.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, pem = directory / "site.crt", directory / "site.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    os.chmod(pem, 0o600)
    return crt, pem


def site_config(upstream: int, http_port: int, https_port: int, crt: Path, key: Path, cache: Path) -> str:
    """The shipped site with this machine's ports and paths: nothing else changes."""
    text = SITE.read_text(encoding="utf-8")
    replacements = [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/ssl/certs/cqo-lms.crt", str(crt)),
        ("/etc/ssl/private/cqo-lms.key", str(key)),
        ("/var/cache/nginx/cqo-verify", str(cache)),
    ]
    for old, new in replacements:
        assert old in text, f"the site file no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    # no IPv6 on some CI machines
    return "\n".join(line for line in text.splitlines() if "listen [::]" not in line) + "\n"


def main_config(prefix: Path, site: Path) -> str:
    temp = {n: prefix / n for n in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for p in temp.values():
        p.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix / 'access.log'};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {site};
}}
"""


class Browser:
    """Just enough of a browser over TLS: cookies, and the source address it connects from."""

    def __init__(self, port: int, ca: Path, source: str = "127.0.0.1"):
        self.port, self.source, self.cookies = port, source, {}
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.origin = f"https://127.0.0.1:{port}"

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30,
                                           source_address=(self.source, 0))
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        set_cookies = resp.headers.get_all("Set-Cookie") or []
        for c in set_cookies:
            name, _, rest = c.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return resp, data, set_cookies

    def csrf(self, path: str = "/auth/login") -> str:
        _resp, html, _c = self.request("GET", path)
        return CSRF_RE.search(html).group(1)

    def login(self, username: str, password: str, **headers):
        from urllib.parse import urlencode

        token = self.csrf()
        body = urlencode({"csrf_token": token, "username": username, "password": password})
        return self.request("POST", "/auth/login", body, {"Referer": self.origin + "/auth/login", **headers})


def _printed_path(key_dir: Path) -> str:
    """The printed /C/ path of a valid demo certificate, re-signed with a production key (the site runs with
    LMS_ENV=production, which publishes no demo key), as the QR holds it."""
    from certificates import keys as keystore
    from certificates import services, signing
    from certificates.models import Certificate

    kid = keystore.create_key(key_dir, dt.date(2020, 1, 1))
    cert = db.session.scalars(select(Certificate).where(Certificate.status == "valid").order_by(Certificate.id)).first()
    cert.key_id = kid
    cert.signed_part = signing.sign(keystore.private_key(key_dir, kid), services.signed_fields(cert))
    db.session.commit()
    return services.printed_path(cert, str(key_dir))


@pytest.fixture(scope="module")
def site(database_url, tmp_dir):
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: .ci/run must apt-get install it")
        pytest.skip("nginx is not installed (apt-get install nginx); CI installs it")
    work = tmp_dir / "golive-nginx"
    work.mkdir(exist_ok=True)
    url = dbutil.migrated_url(database_url, "golive_nginx", tmp_dir)
    keys = work / "keys"
    app = make_app(url, tmp_dir, CERT_KEY_DIR=str(keys), UPLOAD_DIR=str(work / "uploads"))
    import_models()
    with app.app_context():
        with db.job_session() as s:
            demo.seed(s, dt.date(2026, 11, 22))
        from certificates.models import Certificate

        cid = db.session.scalar(select(Certificate.cid).order_by(Certificate.id).limit(1))
        printed = _printed_path(keys)
    app.extensions["lms_db"].engine.dispose()

    upstream, http_port, https_port = _free_port(), _free_port(), _free_port()
    crt, key = _self_signed(work)
    cache = work / "cache"
    cache.mkdir(exist_ok=True)
    (work / "site.conf").write_text(site_config(upstream, http_port, https_port, crt, key, cache))
    (work / "nginx.conf").write_text(main_config(work, work / "site.conf"))
    check = subprocess.run([NGINX, "-t", "-c", str(work / "nginx.conf"), "-p", str(work)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "k" * 40, "FIELD_ENCRYPTION_KEY": TEST_KEY,
           "LMS_INSTANCE_PATH": str(work / "instance"), "CERT_KEY_DIR": str(keys), "UPLOAD_DIR": str(work / "uploads"),
           "LMS_ENV": "production", "PUBLIC_BASE_URL": f"https://127.0.0.1:{https_port}", "SESSION_COOKIE_SECURE": "1",
           "TRUSTED_PROXIES": "1", "RATELIMIT_STORAGE_URI": "memory://", "GUNICORN_WORKERS": "1",
           "GUNICORN_BIND": f"127.0.0.1:{upstream}"}
    env.pop("RUNTIME_DIRECTORY", None)
    log = open(work / "gunicorn.log", "w")
    gunicorn = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    nginx = subprocess.Popen([NGINX, "-c", str(work / "nginx.conf"), "-p", str(work)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    browser = Browser(https_port, crt)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if browser.request("GET", "/healthz")[0].status == 200:
                    break
            except OSError:
                pass
            assert gunicorn.poll() is None, (work / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "nginx → gunicorn never answered"
            time.sleep(0.3)
        yield {"https": https_port, "http": http_port, "crt": crt, "cid": cid, "log": work / "gunicorn.log",
               "printed": printed}
    finally:
        for p in (nginx, gunicorn):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_golive_nginx_sign_in_over_tls_with_csrf_and_secure_cookies(site):
    b = Browser(site["https"], site["crt"])
    resp, _html, cookies = b.request("GET", "/auth/login")
    assert resp.status == 200
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie

    # no token: refused
    bad, html, _c = b.request("POST", "/auth/login", "username=admin&password=Demo2026!cqo",
                              {"Referer": b.origin + "/auth/login"})
    assert bad.status == 400 and "CSRF" in html

    resp, _html, cookies = b.login("nt_staff", "Demo2026!cqo")
    assert resp.status == 302, _html[:500]
    assert all("Secure" in c for c in cookies if c.startswith("session="))
    home, _html, _c = b.request("GET", "/home")
    assert home.status == 200

    # plain HTTP is sent to https
    conn = http.client.HTTPConnection("127.0.0.1", site["http"], timeout=10)
    conn.request("GET", "/auth/login", headers={"Host": "127.0.0.1"})
    plain = conn.getresponse()
    assert plain.status == 301 and plain.headers["Location"].startswith("https://")
    conn.close()


def test_golive_nginx_the_rate_limiter_sees_each_visitor_not_the_proxy(site):
    # Failed sign-ins of an account from one address delay that account there (issue 18: per account AND address);
    # a visitor elsewhere still signs in.
    noisy = Browser(site["https"], site["crt"], source="127.0.0.2")
    for _i in range(4):
        resp, _html, _c = noisy.login("trainee", "wrong-password")
        assert resp.status == 200
    locked, _html, _c = noisy.login("trainee", "Demo2026!cqo")
    assert locked.status == 429
    # a forged X-Forwarded-For does not help: nginx replaces it with the real address
    forged, _html, _c = noisy.login("trainee", "Demo2026!cqo", **{"X-Forwarded-For": "198.51.100.7"})
    assert forged.status == 429
    other = Browser(site["https"], site["crt"], source="127.0.0.3")
    ok, _html, _c = other.login("trainee", "Demo2026!cqo")
    assert ok.status == 302
    log = site["log"].read_text()
    assert re.search(r"lms\.access: method=POST path=/auth/login status=429 .* ip=127\.0\.0\.2", log)
    assert "ip=198.51.100.7" not in log
    assert re.search(r"lms\.access: method=POST path=/auth/login status=302 .* user=\d+ ip=127\.0\.0\.3", log) or \
        re.search(r"lms\.access: method=POST path=/auth/login status=302 .* ip=127\.0\.0\.3", log)


def test_golive_nginx_caches_the_verification_gets_briefly(site):
    b = Browser(site["https"], site["crt"], source="127.0.0.4")
    first, body, _c = b.request("GET", f"/api/v1/verify/{site['cid']}")
    assert first.status == 200 and '"status"' in body
    assert first.headers["X-Cache-Status"] in ("MISS", "EXPIRED")
    assert first.headers["Cache-Control"] == "public, max-age=30"  # the app's (CERT_VERIFY_CACHE_SECONDS)
    second, body2, _c = b.request("GET", f"/api/v1/verify/{site['cid']}")
    assert second.headers["X-Cache-Status"] == "HIT" and body2 == body
    keys, _body, _c = b.request("GET", "/.well-known/cqo-certificate-keys.json")
    assert keys.status == 200 and keys.headers["Cache-Control"] == "public, max-age=3600"
    # issue 20: the page carries no session either, so nginx keeps it too, and answers a revalidation itself
    page, html, cookies = b.request("GET", f"/v/{site['cid']}")
    assert page.status == 200 and page.headers["X-Cache-Status"] in ("MISS", "EXPIRED") and not cookies
    assert page.headers["Cache-Control"] == "public, max-age=30" and page.headers["ETag"]
    assert 'name="csrf_token"' not in html
    again, html2, _c = b.request("GET", f"/v/{site['cid']}")
    assert again.headers["X-Cache-Status"] == "HIT" and html2 == html
    same, empty, _c = b.request("GET", f"/v/{site['cid']}", headers={"If-None-Match": page.headers["ETag"]})
    assert same.status == 304 and empty == ""
    # the holder check (POST) always reaches the app and is never stored
    check, _html, _c = b.request("POST", f"/v/{site['cid']}", "id_number=110101199003077777")
    assert check.status == 200 and "X-Cache-Status" not in check.headers and "no-store" in check.headers["Cache-Control"]


def test_verifiers_upper_case_link_through_nginx(site):
    """The printed QR says HTTPS://HOST/C/<TOKEN> (upper case: QR alphanumeric mode). Browsers lower-case scheme
    and host before sending; a scanner that passes the host as printed still reaches the site (server_name and
    Host are case-insensitive), the token's path is proxied unchanged in either case of /C/ and of the token,
    and plain HTTP is sent to https with the path kept exactly."""
    printed = site["printed"]
    assert printed.startswith("/C/")
    b = Browser(site["https"], site["crt"], source="127.0.0.5")
    for path, host in ((printed, None), (printed, "CQO.EXAMPLE.GOV.CN"),
                       ("/c/" + printed[3:], None), ("/C/" + printed[3:].lower(), None)):
        resp, html, _c = b.request("GET", path, headers={"Host": host} if host else None)
        assert resp.status == 200, (path, resp.status)
        assert 'id="sig-result" data-state="valid"' in html and resp.headers["Referrer-Policy"] == "no-referrer"
    conn = http.client.HTTPConnection("127.0.0.1", site["http"], timeout=10)
    conn.request("GET", printed, headers={"Host": "CQO.EXAMPLE.GOV.CN"})
    plain = conn.getresponse()
    assert plain.status == 301 and plain.headers["Location"] == f"https://cqo.example.gov.cn{printed}"
    conn.close()
    log = site["log"].read_text()
    assert printed[3:] not in log and printed[3:].lower() not in log  # the token never reaches the access log
