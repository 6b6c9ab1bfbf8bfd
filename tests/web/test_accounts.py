"""Login, sessions the server can end, throttling, registration and staff accounts, over HTTP."""
import datetime as dt

from sqlalchemy import select

from lms.auth.models import User
from lms.demo import credit_code, id_number
from lms.people.models import PledgeSignature, TraineeProfile
from tests.conftest import login, post_form


def test_logout_kills_the_old_cookie(client, world):
    login(client, "nt_admin")
    cookie = client.get_cookie("session").value
    assert client.get("/home").status_code == 200
    token = post_form.__globals__["csrf_token"](client, "/home")
    client.post("/auth/logout", data={"csrf_token": token})
    client.set_cookie("session", cookie)  # replay the cookie from before logout
    assert client.get("/home").status_code == 302


def test_disabled_users_cookie_stops_working(app, client, db, world):
    login(client, "nt_staff")
    assert client.get("/home").status_code == 200
    admin = app.test_client()
    login(admin, "nt_admin")
    resp = post_form(admin, f"/manage/users/{world.staff_nt.id}/enabled", {"enabled": "0"}, token_from="/manage/users")
    assert resp.status_code == 302
    assert client.get("/home").status_code == 302


def test_wrong_passwords_throttle_with_429_then_right_password_still_throttled(client, world):  # 3 free, then 2 s
    for _ in range(4):
        resp = post_form(client, "/auth/login", {"username": "nt_admin", "password": "nope"})
        assert resp.status_code == 200 and "不正确" in resp.get_data(as_text=True)
    resp = post_form(client, "/auth/login", {"username": "nt_admin", "password": "Passw0rd!cqo"})
    assert resp.status_code == 429 and "次数过多" in resp.get_data(as_text=True)
    # another account from the same address is not locked out
    assert post_form(client, "/auth/login", {"username": "nt_staff", "password": "Passw0rd!cqo"}).status_code == 302


def _registration(**over):
    data = {
        "username": "liqiang", "password": "Liqiang2026", "confirm": "Liqiang2026", "real_name": "李强",
        "id_number": id_number("320600", dt.date(1983, 4, 5), 135), "phone": "13800001111", "education": "bachelor",
        "title_level": "intermediate", "quality_qualification": "none", "quality_years": "7",
        "enterprise_credit_code": credit_code("320681MA1QD0777"), "enterprise_name": "启东新材料有限公司",
        "enterprise_industry": "新材料", "enterprise_ownership_type": "private", "enterprise_size_class": "medium",
        "enterprise_above_designated_size": "y", "accept_pledge": "y",
    }
    data.update(over)
    return data


def test_registration_creates_account_profile_enterprise_and_pledge(client, db, world):
    resp = post_form(client, "/register", _registration(enterprise_region_id=str(world.qidong.id)))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    assert client.get("/me").status_code == 302  # registering signs nobody in (issue 18)
    user = db.scalar(select(User).where(User.username == "liqiang"))
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    assert prof.enterprise.name == "启东新材料有限公司" and prof.gender.value == "male"
    assert db.scalar(select(PledgeSignature).where(PledgeSignature.user_id == user.id)).version == "2024-01"
    login(client, "liqiang", "Liqiang2026")
    html = client.get("/me").get_data(as_text=True)
    assert prof.id_number not in html and prof.id_number_masked in html and prof.phone not in html


def test_bad_registration_changes_nothing_and_names_the_field(client, db, world):
    for over, field, words in [
        ({"id_number": "320600850405135"}, "id_number", "15 位"),
        ({"id_number": id_number("320600", dt.date(2099, 1, 1), 135)}, "id_number", "晚于今天"),
        ({"username": "wangfang"}, "username", "已被使用"),
        ({"enterprise_credit_code": "91320681MA1QD07770"}, "enterprise_credit_code", "校验位"),
        ({"accept_pledge": ""}, "accept_pledge", "承诺书"),
    ]:
        resp = post_form(client, "/register", _registration(enterprise_region_id=str(world.qidong.id), **over))
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, over
        assert f'data-field="{field}"' in html and words in html, (over, field)
        assert db.scalar(select(User).where(User.username == "liqiang")) is None


def test_regulator_creates_institution_staff_in_its_region_only(client, db, login_as, world):
    login_as("nt_admin")
    resp = post_form(client, "/manage/users/new", {
        "username": "nt_teacher", "display_name": "教务二", "role": "institution_staff", "region_id": "0",
        "institution_id": str(world.inst_nt.id), "password": "Teach2026ok"})
    assert resp.status_code == 302
    assert db.scalar(select(User).where(User.username == "nt_teacher")).institution_id == world.inst_nt.id
    resp = post_form(client, "/manage/users/new", {
        "username": "fj_teacher", "display_name": "x", "role": "institution_staff", "region_id": "0",
        "institution_id": str(world.inst_fj.id), "password": "Teach2026ok"})
    assert resp.status_code == 200  # not a choice for a Nantong admin
    assert db.scalar(select(User).where(User.username == "fj_teacher")) is None


def test_password_change(client, login_as, world):
    login_as("nt_admin")
    resp = post_form(client, "/auth/password", {"current_password": "wrong", "new_password": "Another2026", "confirm": "Another2026"})
    assert "当前密码不正确" in resp.get_data(as_text=True)
    resp = post_form(client, "/auth/password", {"current_password": "Passw0rd!cqo", "new_password": "Another2026", "confirm": "Another2026"})
    assert resp.status_code == 302
    assert client.get("/home").status_code == 200  # this session survives
