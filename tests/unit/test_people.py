import datetime as dt

import pytest
from sqlalchemy import func, select, text
from stdnum.cn import ric

from lms.auth.models import User
from lms.demo import id_number
from lms.domain import Gender
from lms.errors import ValidationFailed
from lms.people import services
from lms.people.models import PledgeSignature, TraineeProfile
from lms.pii import mask_id_number, mask_name, mask_phone, scrub
from tests import factories

TODAY = dt.date(2026, 11, 22)


def test_valid_id_number_gives_birth_date_and_gender():
    number = id_number("320600", dt.date(1985, 6, 15), 24)  # even sequence → female
    info = services.parse_id_number(number.lower(), TODAY)
    assert info.birth_date == dt.date(1985, 6, 15)
    assert info.gender == Gender.female
    assert services.parse_id_number(id_number("320600", dt.date(1985, 6, 15), 25), TODAY).gender == Gender.male


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", "请填写"),
        ("320600198506150245", "校验位"),
        ("320681850615024", "15 位"),
        ("32068119850615024", "18 位"),
        ("32068119850615A24X", "数字"),
    ],
)
def test_bad_id_numbers_name_the_problem(value, expected):
    with pytest.raises(ValidationFailed) as exc:
        services.parse_id_number(value, TODAY)
    assert "id_number" in exc.value.errors
    assert expected in exc.value.errors["id_number"]


def test_future_birth_date_is_refused_even_with_a_correct_checksum():
    body = "32068120990101002"
    number = body + ric.calc_check_digit(body + "0")
    ric.validate(number)  # the checksum itself is fine
    with pytest.raises(ValidationFailed) as exc:
        services.parse_id_number(number, TODAY)
    assert "晚于今天" in exc.value.errors["id_number"]


@pytest.mark.parametrize("birth", [dt.date(2012, 1, 1), dt.date(1940, 1, 1)])
def test_age_must_be_between_16_and_80(birth):
    with pytest.raises(ValidationFailed) as exc:
        services.parse_id_number(id_number("320600", birth, 12), TODAY)
    assert "岁" in exc.value.errors["id_number"]


def test_registration_stores_personal_data_encrypted(db, world):
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id))
    raw = db.execute(text("SELECT id_number, phone FROM trainee_profiles WHERE id = :i"), {"i": prof.id}).one()
    assert prof.id_number.encode() not in bytes(raw[0])
    assert prof.phone.encode() not in bytes(raw[1])
    assert prof.id_number_masked == mask_id_number(prof.id_number)
    assert prof.id_number_masked[4:-4] == "*" * 10
    sig = db.scalar(select(PledgeSignature).where(PledgeSignature.user_id == world.trainee.id))
    assert sig.version == "2024-01" and sig.context == "registration" and len(sig.text_sha256) == 64


def test_duplicate_id_number_or_username_changes_nothing(db, world):
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id))
    users_before = db.scalar(select(func.count()).select_from(User))
    # A known ID number is not revealed (issue 18): nothing is created, the service returns no account.
    assert factories.make_trainee(db, "someone_else", world.ent_qd, id_number=prof.id_number) is None
    with pytest.raises(ValidationFailed) as exc:
        factories.make_trainee(db, "WangFang", world.ent_qd)
    assert "已被使用" in exc.value.errors["username"]
    assert db.scalar(select(func.count()).select_from(User)) == users_before


def test_registration_collects_every_error_at_once(db, world):
    with pytest.raises(ValidationFailed) as exc:
        services.register_trainee(
            db, username="x", password="short", enterprise=world.ent_qd, pledge_version=None, today=TODAY,
            profile=factories.profile_data(real_name="", id_number="123", phone="12", quality_years=99, postcode="1"),
        )
    assert set(exc.value.errors) >= {"username", "password", "pledge", "real_name", "id_number", "phone", "quality_years", "postcode"}


def test_holder_check_compares_without_revealing(db, world):
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id))
    assert services.holder_matches(db, world.trainee.id, prof.id_number.lower())
    assert not services.holder_matches(db, world.trainee.id, id_number("320600", dt.date(1985, 6, 15), 998))


def test_masks_and_log_scrubbing():
    assert mask_phone("13912345678") == "139****5678"
    assert mask_name("王芳") == "王*"
    assert mask_name("欧阳娜娜") == "欧***"
    line = "user 320681198506150241 phone 13912345678 done"
    out = scrub(line)
    assert "320681198506150241" not in out and "13912345678" not in out
    assert "3206" in out and "5678" in out
