"""Issue 18: "registration answers the same whether the ID is known or not and tells the owner by other means".
Registering with an ID number that already has an account gets the answer a new registrant gets (status, where it
leads, the message), creates nothing, and tells the holder through the platform's notifications."""
from sqlalchemy import func, select

from lms.auth.models import AuditEvent, User
from lms.demo import credit_code
from lms.notifications.models import Notification
from lms.people.models import TraineeProfile
from tests.conftest import post_form
from tests.web.test_accounts import _registration


def _flashes(client) -> list:
    with client.session_transaction() as sess:
        return list(sess.get("_flashes", []))


def test_security_registration_does_not_reveal_a_known_id_number(app, db, world):
    known = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id)).id_number
    fresh_client, known_client = app.test_client(), app.test_client()
    fresh = post_form(fresh_client, "/register", _registration(enterprise_region_id=str(world.qidong.id)))
    users_before = db.scalar(select(func.count()).select_from(User))
    notes_before = db.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == world.trainee.id))
    again = post_form(known_client, "/register", _registration(
        username="someone", id_number=known, enterprise_region_id=str(world.qidong.id),
        enterprise_credit_code=credit_code("320681MA1QD0778"), enterprise_name="启东另一家材料有限公司"))
    # The same answer: a redirect to the same page, with the same message, and no field error.
    assert (again.status_code, again.headers["Location"]) == (fresh.status_code, fresh.headers["Location"]) \
        == (302, "/auth/login")
    assert _flashes(known_client) == _flashes(fresh_client) == [("success", "注册成功，请用刚设置的用户名和密码登录")]
    assert "已注册" not in again.get_data(as_text=True)
    # ... and the same next page: registering signs nobody in, so the new account is not told apart by its session.
    assert known_client.get("/me").status_code == fresh_client.get("/me").status_code == 302
    # Nothing created for it; its holder is told in the platform, the attempt audited without the number.
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == users_before
    assert db.scalar(select(User).where(User.username == "someone")) is None
    notes = db.scalars(select(Notification).where(Notification.user_id == world.trainee.id)
                       .order_by(Notification.id)).all()
    assert len(notes) == notes_before + 1 and notes[-1].kind == "account.duplicate_registration"
    assert "身份证号" in notes[-1].title and known not in notes[-1].body
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trainee.register_known_id"))
    assert event.object_id == str(world.trainee.id) and known not in repr(event.detail)


def test_security_registration_with_a_known_id_still_names_other_bad_fields(app, db, world):
    """Only the ID number's being known is hidden: every other mistake is still named, and nobody is notified."""
    known = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id)).id_number
    client = app.test_client()
    resp = post_form(client, "/register", _registration(username="someone", id_number=known, phone="12",
                                                        enterprise_region_id=str(world.qidong.id)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-field="phone"' in html and "已注册" not in html
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "account.duplicate_registration")) == 0
