import datetime as dt

import pytest
from sqlalchemy import select

from lms.auth import services
from lms.auth.models import ApiToken, LoginAttempt
from lms.db import utcnow
from lms.domain import Role
from lms.errors import DomainError, Forbidden, ValidationFailed
from tests.factories import PASSWORD


def test_passwords_are_argon2_hashed(db, world):
    assert world.city_admin.password_hash.startswith("$argon2id$")
    assert services.check_password(world.city_admin, PASSWORD)
    assert not services.check_password(world.city_admin, PASSWORD + "x")


def test_weak_password_and_bad_username_are_refused(db, world):
    with pytest.raises(ValidationFailed) as exc:
        services.create_user(db, username="a b", password="abcdefgh", display_name="x", role=Role.trainee)
    assert set(exc.value.errors) == {"username", "password"}


def test_regulator_creates_staff_only_below_itself(db, world):
    services.create_user(db, username="new_qd", password=PASSWORD, display_name="启东", role=Role.regulator_admin,
                         region=world.qidong, created_by=world.city_admin)
    with pytest.raises(Forbidden):
        services.create_user(db, username="new_js", password=PASSWORD, display_name="省", role=Role.regulator_admin,
                             region=world.jiangsu, created_by=world.city_admin)
    with pytest.raises(Forbidden):
        services.create_user(db, username="new_fj", password=PASSWORD, display_name="闽", role=Role.institution_staff,
                             institution=world.inst_fj, created_by=world.city_admin)
    with pytest.raises(Forbidden):
        services.create_user(db, username="new_sys", password=PASSWORD, display_name="x", role=Role.system_admin,
                             created_by=world.province_admin)


def test_login_throttled_per_account_and_address_then_released_when_the_delay_passes(db, world):
    for _ in range(5):
        with pytest.raises(DomainError):
            services.authenticate(db, "nt_admin", "wrong", "10.0.0.1")
    with pytest.raises(services.Throttled):
        services.authenticate(db, "nt_admin", PASSWORD, "10.0.0.1")  # right password, still delayed from there
    assert services.authenticate(db, "nt_admin", PASSWORD, "10.0.0.2").id == world.city_admin.id  # never a hard lock
    # the delay passes: age the failures and the real user gets in from the first address too
    for a in db.scalars(select(LoginAttempt).where(LoginAttempt.username == "nt_admin")):
        a.at = utcnow() - dt.timedelta(minutes=16)
    assert services.authenticate(db, "nt_admin", PASSWORD, "10.0.0.1").id == world.city_admin.id


def test_login_failures_from_one_address_do_not_block_other_accounts(db, world):
    for i in range(20):
        with pytest.raises(DomainError):
            services.authenticate(db, f"nobody{i}", "wrong", "10.9.9.9")
    assert services.authenticate(db, "nt_admin", PASSWORD, "10.9.9.9")  # a shared proxy: others still sign in


def test_disabled_user_cannot_log_in_and_sessions_end(db, world):
    s = services.start_session(db, world.staff_nt)
    assert services.load_session_user(db, s.id) is not None
    services.set_enabled(db, world.city_admin, world.staff_nt, False)
    assert services.load_session_user(db, s.id) is None
    with pytest.raises(DomainError):
        services.authenticate(db, "nt_staff", PASSWORD, "10.0.0.1")


def test_password_change_ends_other_sessions(db, world):
    a = services.start_session(db, world.city_admin)
    b = services.start_session(db, world.city_admin)
    services.change_password(db, world.city_admin, PASSWORD, "N3wPassword", keep_session=a.id)
    assert services.load_session_user(db, a.id) is not None
    assert services.load_session_user(db, b.id) is None
    with pytest.raises(ValidationFailed):
        services.change_password(db, world.city_admin, "wrong", "N3wPassword2", keep_session=a.id)


def test_tokens_store_only_a_hash(db, world):
    token, clear = services.create_token(db, world.staff_nt, "教务系统")
    assert clear.startswith("cqo_") and clear not in token.token_hash
    assert db.scalar(select(ApiToken.token_hash).where(ApiToken.id == token.id)) != clear
    assert services.user_for_token(db, clear).id == world.staff_nt.id
    with pytest.raises(Forbidden):
        services.revoke_token(db, world.city_admin, token)
    services.revoke_token(db, world.staff_nt, token)
    assert services.user_for_token(db, clear) is None
    assert services.user_for_token(db, "cqo_nonsense") is None
