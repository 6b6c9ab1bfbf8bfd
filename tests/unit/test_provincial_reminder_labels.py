"""Issue 15, point 5: the reminders people read carry the basis of the values they quote — the CE hours and
due date (the province's CE rule) and the change-registration due date (its period)."""
import datetime as dt

from sqlalchemy import select

from lms.notifications.models import Notification
from talent.services import appointments, reminders
from tests.ce_helpers import appoint, both_rule, certify


def _body(db, user, kind):
    return db.scalars(select(Notification.body).where(Notification.user_id == user.id, Notification.kind == kind)).one()


def test_provincial_ce_reminder_labels_the_rule(db, world):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    both_rule(db, world, basis_kind="province")
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 25)) == 1
    body = _body(db, world.trainee, "ce_due")
    assert "本省要求 90 学时" in body and body.endswith("〔本省自定〕")


def test_provincial_registration_reminder_labels_the_period(db, world):
    entry = certify(db, world)
    world.trainee.trainee_profile[0].enterprise_id = world.ent_rg.id  # the CQO moved
    db.flush()
    assert appointments.detect_enterprise_changes(db, dt.date(2026, 5, 1)) == 1
    assert entry.registration_due_on == dt.date(2026, 5, 31)
    reminders.send_reminders(db, dt.date(2026, 5, 2))
    assert _body(db, world.trainee, "registration_due").endswith("〔示例〕")  # Jiangsu saved no rule: an example
