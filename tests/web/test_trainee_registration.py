"""Issue 17: registration takes a real person's ID number and reports every problem of the form in one round."""
import datetime as dt

from sqlalchemy import select

from lms.auth.models import User
from lms.demo import credit_code, id_number
from lms.people.models import TraineeProfile
from tests.conftest import post_form


def _registration(**over):
    data = {
        "username": "zhouhai", "password": "Zhouhai2026", "confirm": "Zhouhai2026", "real_name": "周海",
        "id_number": id_number("320681", dt.date(1978, 3, 9), 31).lower(), "phone": "13800002222",
        "education": "bachelor", "title_level": "intermediate", "quality_qualification": "none", "quality_years": "20",
        "enterprise_credit_code": credit_code("320681MA1QD0888"), "enterprise_name": "启东海工装备有限公司",
        "enterprise_industry": "装备", "enterprise_ownership_type": "private", "enterprise_size_class": "medium",
        "enterprise_above_designated_size": "y", "accept_pledge": "y",
    }
    data.update(over)
    return data


def test_trainee_registers_with_an_id_older_than_their_county_code(client, db, world):
    resp = post_form(client, "/register", _registration(enterprise_region_id=str(world.qidong.id)))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    user = db.scalar(select(User).where(User.username == "zhouhai"))
    prof = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    assert prof.id_number == id_number("320681", dt.date(1978, 3, 9), 31) and prof.birth_date.year == 1978


def test_trainee_registration_reports_every_error_at_once(client, db, world):
    resp = post_form(client, "/register", _registration(
        enterprise_region_id=str(world.qidong.id), id_number="320600198506150245", username="wangfang",
        enterprise_credit_code="91320681MA1QD07770", accept_pledge="", confirm="Other2026", phone="12",
        email="not-an-address",
    ))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for field, words in [
        ("id_number", "身份证号校验位不正确"), ("username", "已被使用"), ("enterprise_credit_code", "校验位"),
        ("accept_pledge", "承诺书"), ("confirm", "两次输入的密码不一致"), ("phone", "请填写 11 位手机号"),
        ("email", "电子邮箱格式不正确"),
    ]:
        assert f'data-field="{field}"' in html and words in html, field
    assert html.count("须阅读并签署质量诚信承诺书") == html.count("须阅读并签署质量诚信承诺书才能注册")  # said once per place
    assert db.scalar(select(User).where(User.username == "zhouhai")) is None
