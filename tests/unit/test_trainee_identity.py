"""Issue 17: real resident ID numbers are accepted whatever their county code's history; bad ones still refused."""
import datetime as dt

import pytest
from stdnum.cn import ric

from lms.demo import id_number
from lms.errors import ValidationFailed
from lms.people import services

TODAY = dt.date(2026, 11, 22)


def test_trainee_id_born_before_their_county_code_existed_is_accepted():
    # Qidong's 320681 was created in 1989; a person born there in 1978 carries it from a later (re-)issue
    number = id_number("320681", dt.date(1978, 3, 9), 31)
    with pytest.raises(Exception):
        ric.validate(number)  # python-stdnum's birth-place check refuses this real number
    info = services.parse_id_number(number, TODAY)
    assert info.number == number and info.birth_date == dt.date(1978, 3, 9)


def test_trainee_id_with_a_retired_county_code_is_accepted():
    number = id_number("320622", dt.date(1970, 1, 2), 11)  # 如东 before 320623, long withdrawn
    assert services.parse_id_number(number, TODAY).birth_date == dt.date(1970, 1, 2)


def test_trainee_id_lowercase_x_is_normalised():
    seq = next(s for s in range(1, 999) if id_number("320600", dt.date(1980, 5, 5), s).endswith("X"))
    number = id_number("320600", dt.date(1980, 5, 5), seq)
    assert services.parse_id_number(" " + number.lower() + " ", TODAY).number == number


def test_trainee_id_with_an_unknown_province_is_refused():
    number = id_number("990101", dt.date(1980, 5, 5), 12)
    with pytest.raises(ValidationFailed) as exc:
        services.parse_id_number(number, TODAY)
    assert exc.value.errors["id_number"] == "身份证号前 2 位省级代码 99 不存在，请核对"


@pytest.mark.parametrize("value, message", [
    ("320600198506150245", "身份证号校验位不正确，请核对是否有输错"),
    (id_number("320600", dt.date(1985, 6, 15), 24)[:6] + "19850231" + "0241", None),
    ("320681850615024", "不再受理 15 位旧身份证号，请填写 18 位身份证号"),
])
def test_trainee_id_bad_check_dates_and_old_numbers_keep_their_messages(value, message):
    if message is None:  # an impossible date with a correct check character
        value = value[:17] + ric.calc_check_digit(value)
        message = "身份证号中的出生日期（第 7-14 位）不是有效日期"
    with pytest.raises(ValidationFailed) as exc:
        services.parse_id_number(value, TODAY)
    assert exc.value.errors["id_number"] == message
