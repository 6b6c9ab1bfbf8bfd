"""Issue 18 (access control half): redirects, login protection, passwords, sessions, transport headers and input
sanity. Each test names the finding it guards (see docs/security.md)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from courses.models import Course
from lms.auth import services as auth_services
from lms.auth.models import AuditEvent, LoginAttempt, UserSession
from lms.db import utcnow
from lms.errors import ValidationFailed
from lms.orgs import services as org_services
from lms.redirects import safe_target
from tests import courses_support as cs
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD


# ------------------------------------------------------------------ redirects (MEDIUM)
EVIL = ["//evil.example/x", "/%09/evil.example/phish", "/\t/evil.example", "https://evil.example/", "/\\evil.example",
        "/%5Cevil.example", "/%2F/evil.example", "/x%0D%0ASet-Cookie:a=b", "/x%250D%250A", "javascript:alert(1)",
        "evil.example", "", "/\x7f"]


@pytest.mark.parametrize("target", EVIL)
def test_security_redirect_helper_refuses_everything_but_a_local_path(target):
    assert safe_target(target) is None


@pytest.mark.parametrize("target", ["/home", "/courses/catalogue?q=a%20b&page=2", "/v/abc#top"])
def test_security_redirect_helper_keeps_local_paths(target):
    assert safe_target(target) == target


@pytest.mark.parametrize("target", ["/%09/evil.example/phish", "/x%0D%0Ay", "https://evil.example/"])
def test_security_redirect_login_next_goes_home(client, world, target):
    resp = post_form(client, "/auth/login?next=" + target, {"username": "nt_admin", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/home"


def test_security_redirect_language_switch_and_back_parameter(client, db, world):
    token = csrf_token(client)
    resp = client.post("/lang/en", data={"csrf_token": token, "next": "/%09/evil.example/phish"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    resp = client.post("/lang/zh", data={"csrf_token": token}, headers={"Referer": "https://evil.example/x"})
    assert resp.headers["Location"] == "/"
    prog = cs.programme(db, world)
    login(client, "js_admin")
    url = f"/courses/rule-sets/{prog.eligibility_rule_set_id}/edit?back=https://evil.example/"
    rules = '[{"name": "全部", "conditions": [{"type": "quality_years_min", "value": 4}]}]'
    resp = post_form(client, url, {"name": "江苏规则", "rules": rules}, token_from="/home")
    assert resp.status_code == 302 and "evil.example" not in resp.headers["Location"]


# ------------------------------------------------------------------ login protection (MEDIUM)
def test_security_login_delay_is_per_account_and_address_never_a_lock_everywhere(client, db, world):
    for _ in range(4):
        post_form(client, "/auth/login", {"username": "js_admin", "password": "wrong-password"})
    assert post_form(client, "/auth/login", {"username": "js_admin", "password": PASSWORD}).status_code == 429
    other = client.application.test_client()
    resp = post_form(other, "/auth/login", {"username": "js_admin", "password": PASSWORD},
                     environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 302  # the owner, elsewhere, still signs in
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.login_failed")) == 4


def test_security_login_delay_doubles(db, world):
    waits = []
    for _ in range(6):
        try:
            auth_services.authenticate(db, "nt_admin", "wrong", "10.0.0.9")
        except auth_services.DomainError:  # the failure itself, or a Throttled (never here: the delay has passed)
            pass
        waits.append(auth_services.login_wait(db, "nt_admin", "10.0.0.9"))
        for a in db.scalars(select(LoginAttempt)):
            a.at = a.at - dt.timedelta(seconds=100)  # let the delay pass before the next try
    assert waits[:3] == [0, 0, 0]
    assert 1 <= waits[3] <= 2 and 3 <= waits[4] <= 4 and 7 <= waits[5] <= 8


def test_security_login_admin_unlocks(client, db, world):
    for _ in range(5):
        with pytest.raises(auth_services.DomainError):
            auth_services.authenticate(db, "nt_staff", "wrong", "127.0.0.1")
    assert auth_services.login_wait(db, "nt_staff", "127.0.0.1") > 0
    login(client, "nt_admin")
    resp = post_form(client, f"/manage/users/{world.staff_nt.id}/unlock", {}, token_from="/manage/users")
    assert resp.status_code == 302
    assert auth_services.login_wait(db, "nt_staff", "127.0.0.1") == 0
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.unlock")) is not None
    cs.switch_user(client, "fj_admin")
    resp = post_form(client, f"/manage/users/{world.staff_nt.id}/unlock", {}, token_from="/home")
    assert resp.status_code == 404


# ------------------------------------------------------------------ passwords and sessions
@pytest.mark.parametrize("password", ["password1", "Passw0rd!", "qwertyuiop1", "password123", "Demo2026!"])
def test_security_password_common_or_short_is_refused(db, world, password):
    assert auth_services.password_problem(password) is not None
    with pytest.raises(ValidationFailed):
        auth_services.create_user(db, username="newbie", password=password, display_name="新人",
                                  role=world.staff_nt.role, institution=world.inst_nt, created_by=world.city_admin)


def test_security_password_good_one_passes_and_change_password_checks(db, world):
    assert auth_services.password_problem("Demo2026!cqo") is None
    with pytest.raises(ValidationFailed):
        auth_services.change_password(db, world.staff_nt, PASSWORD, "password123", None)


def test_security_session_idle_and_absolute_limits(db, world, app):
    s = auth_services.start_session(db, world.staff_nt)
    assert auth_services.load_session_user(db, s.id) is not None
    row = db.get(UserSession, s.id)
    row.last_seen_at = utcnow() - dt.timedelta(hours=2, minutes=1)
    assert auth_services.load_session_user(db, s.id) is None  # idle
    row.last_seen_at = utcnow()
    row.created_at = utcnow() - dt.timedelta(hours=12, minutes=1)
    assert auth_services.load_session_user(db, s.id) is None  # absolute
    assert app.config["SESSION_IDLE_SECONDS"] == 7200 and app.config["SESSION_ABSOLUTE_SECONDS"] == 43200


def test_security_https_base_url_brings_hsts_and_secure_cookies(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://cqo.example.gov.cn")
    assert client.get("/auth/login").headers["Strict-Transport-Security"].startswith("max-age=")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers
    from lms import config
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cqo.example.gov.cn")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert config.load()["SESSION_COOKIE_SECURE"] is True


# ------------------------------------------------------------------ input sanity (LOW)
@pytest.mark.parametrize("url", ["/courses/catalogue/99999999999999999999999", "/courses/programmes/18446744073709551616",
                                 "/api/v1/classes/99999999999999999999999/enrollments"])
def test_security_huge_integers_in_paths_are_404(client, world, url):
    login(client, "nt_admin")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/courses/catalogue?page=99999999999999999999999", "/api/v1/classes?page=-99999999999999999999"])
def test_security_huge_integers_in_queries_are_400(client, world, url):
    login(client, "nt_admin")
    assert client.get(url).status_code == 400


def test_security_like_wildcards_are_literal(client, db, world):
    cs.course(db, world, code="T-LIKE", lessons=0)
    login(client, "nt_admin")
    html = client.get("/courses/catalogue?q=%25").get_data(as_text=True)
    assert "T-LIKE" not in html
    assert "T-LIKE" not in client.get("/courses/catalogue?q=_").get_data(as_text=True)
    assert "T-LIKE" in client.get("/courses/catalogue?q=T-LI").get_data(as_text=True)
    assert db.scalar(select(Course).where(Course.title.contains("%", autoescape=True))) is None


@pytest.mark.parametrize("name", ["王\x00芳", "王\u202e芳", "王\n芳", "王\u200b芳"])
def test_security_control_characters_refused_in_names(db, world, name):
    with pytest.raises(ValidationFailed):
        auth_services.create_user(db, username="ctl_user", password="Quality2026cqo", display_name=name,
                                  role=world.staff_nt.role, institution=world.inst_nt, created_by=world.city_admin)
    with pytest.raises(ValidationFailed):
        org_services.save_enterprise(db, world.city_admin, org_services.EnterpriseData(
            name=f"企业{name}", credit_code="", region_id=world.nantong.id, industry="", ownership_type="private",
            size_class="small", above_designated_size=False))


def test_security_login_unlock_by_emailed_link(client, db, world):
    from lms.notifications.models import Notification

    for _ in range(4):
        post_form(client, "/auth/login", {"username": "nt_staff", "password": "wrong-password"})
    assert post_form(client, "/auth/login", {"username": "nt_staff", "password": PASSWORD}).status_code == 429
    note = db.scalar(select(Notification).where(Notification.user_id == world.staff_nt.id, Notification.kind == "security"))
    link = note.body.split("：", 1)[1].split()[0]
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200 and auth_services.login_wait(db, "nt_staff", "127.0.0.1") > 0
    assert post_form(client, path, {}).status_code == 302
    assert auth_services.login_wait(db, "nt_staff", "127.0.0.1") == 0
    assert post_form(client, "/auth/unlock/forged-token", {}, token_from=path).status_code == 404
    assert post_form(client, "/auth/login", {"username": "nt_staff", "password": PASSWORD}).status_code == 302
