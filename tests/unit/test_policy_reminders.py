"""Issue 14, part A: reminders before the deadline, not after — a CQO held to the year's rule who has neither
report nor CE proof yet is reminded at 60, 30 and 7 days before the due date, once per step, through the
platform's notifications, by the daily job; nobody in their first year, nobody who met the rule, nothing after."""
import datetime as dt

from sqlalchemy import func, select

from lms.notifications.models import Notification
from talent import jobs
from talent.services import reminders
from tests.ce_helpers import appoint, both_rule, certify, give, report
from tests.factories import make_trainee


def _notes(db, user, kind="ce_due"):
    return db.scalars(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
                      .order_by(Notification.id)).all()


def test_policy_reminded_before_the_due_date_once_per_step(db, world):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    assert reminders.remind_ce_due(db, dt.date(2026, 10, 1)) == 0  # 91 days before 31 December: too early
    assert reminders.remind_ce_due(db, dt.date(2026, 11, 1)) == 1  # within 60 days
    assert reminders.remind_ce_due(db, dt.date(2026, 11, 2)) == 0  # same step: nothing again
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 1)) == 1  # within 30
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 1)) == 0  # run twice the same day
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 25)) == 1  # within 7
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 31)) == 0  # the due day, step already sent
    notes = _notes(db, world.trainee)
    assert len(notes) == 3 and "2026-12-31" in notes[0].body and "绩效报告或继续教育证明" in notes[0].body


def test_policy_no_reminder_after_the_deadline_nor_once_met(db, world):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    both_rule(db, world, report_due_month=6)  # a province's own: hours AND report, due end of June
    assert reminders.remind_ce_due(db, dt.date(2026, 7, 1)) == 0  # past 30 June: none
    assert reminders.remind_ce_due(db, dt.date(2026, 6, 25)) == 1
    other = make_trainee(db, "met", world.ent_qd, real_name="赵敏")
    certify(db, world, user=other, cert_id=840001, issued=dt.date(2025, 3, 1))
    appoint(db, world, user=other)
    give(db, other, 2026, 60, 30)
    report(db, other, 2026, today=dt.date(2026, 5, 1))
    assert reminders.remind_ce_due(db, dt.date(2026, 6, 1)) == 1  # only 王芳 (step 30), not the one who met it
    assert _notes(db, other) == []


def test_policy_no_reminder_in_the_first_year_or_out_of_office(db, world):
    """The issue's case: reminded on the day she was certified (28 of 90 hours). Not any more."""
    certify(db, world, issued=dt.date(2026, 11, 20))
    appoint(db, world, on=dt.date(2026, 11, 25))
    other = make_trainee(db, "holder", world.ent_qd, real_name="赵敏")
    certify(db, world, user=other, cert_id=840002, issued=dt.date(2024, 3, 1))  # certified, never appointed
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 1)) == 0
    assert _notes(db, world.trainee) == [] and _notes(db, other) == []


def test_policy_report_alone_stops_the_reminders(db, world):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    report(db, world.trainee, 2026, today=dt.date(2026, 10, 1))
    assert reminders.remind_ce_due(db, dt.date(2026, 12, 1)) == 0


def test_policy_the_daily_job_sends_them(db, world, app):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    with app.app_context():  # as the scheduler runs it
        out = jobs.reminders(db, dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc))
        again = jobs.reminders(db, dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc))
    assert out["ce_due"] == 1 and again["ce_due"] == 0
    assert db.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "ce_due")) == 1
