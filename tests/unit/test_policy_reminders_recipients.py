"""Issue 14: 「Reminders before the deadline, not after: the CQO and the enterprise are reminded of the report or CE
proof due, the change registration due, and the objection period」 — the enterprise's accounts get the report/CE
reminder of their CQO; a change registration (seed 002 四(三)「应当在聘用后一个月内」) is reminded at steps before its
due day, once each, none after, to the CQO and the new enterprise; the bureau that published a notice is reminded
before its objection period ends while objections are still open. All by the daily job, idempotent on a frozen
clock and across year ends."""
import datetime as dt

from sqlalchemy import func, select

from lms.auth import services as auth_services
from lms.domain import Role
from lms.notifications.models import Notification
from lms.people.models import TraineeProfile
from talent import jobs
from talent.models import TalentEntry
from talent.services import appointments, notices, reminders
from tests.ce_helpers import appoint, certify, report


def _count(db, user, kind):
    return db.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == user.id,
                                                                         Notification.kind == kind))


def _account(db, world, enterprise, username):
    return auth_services.create_user(db, username=username, password="Qiye2026pass", display_name=enterprise.name,
                                     role=Role.enterprise, enterprise=enterprise,
                                     created_by=world.county_admin if enterprise is world.ent_qd else world.rugao_admin)


def test_policy_the_enterprise_is_reminded_of_its_cqos_report(db, world):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    ent = _account(db, world, world.ent_qd, "qd_jixie")
    other = _account(db, world, world.ent_rg, "rg_shipin")  # another enterprise: nothing
    assert reminders.remind_ce_due(db, dt.date(2026, 11, 1)) == 1
    assert reminders.remind_ce_due(db, dt.date(2026, 11, 1)) == 0
    [note] = db.scalars(select(Notification).where(Notification.user_id == ent.id)).all()
    assert note.kind == "ce_due" and "2026-12-31" in note.body and "王芳" in note.body
    assert _count(db, other, "ce_due") == 0
    reminders.remind_ce_due(db, dt.date(2026, 12, 1))  # the next step: one more each
    assert _count(db, ent, "ce_due") == 2 and _count(db, world.trainee, "ce_due") == 2
    report(db, world.trainee, 2026, today=dt.date(2026, 12, 2))
    reminders.remind_ce_due(db, dt.date(2026, 12, 25))  # met: neither is reminded again
    assert _count(db, ent, "ce_due") == 2 and _count(db, world.trainee, "ce_due") == 2


def _moved(db, world, today):
    """王芳 (appointed at 启东机械) now works at 如皋食品: the change registration falls due."""
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    profile = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id))
    profile.enterprise_id = world.ent_rg.id
    db.flush()
    assert appointments.detect_enterprise_changes(db, today) == 1
    return db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))


def test_policy_change_registration_reminded_in_steps_before_the_deadline(db, world):
    start = dt.date(2026, 3, 1)
    entry = _moved(db, world, start)
    due = entry.registration_due_on
    assert due == start + dt.timedelta(days=30)  # seed 002: within one month
    new_ent = _account(db, world, world.ent_rg, "rg_shipin")
    old_ent = _account(db, world, world.ent_qd, "qd_jixie")
    sent = [reminders.remind_registration_due(db, start + dt.timedelta(days=d)) for d in range(0, 40)]
    # one reminder at each of 30 (the day it fell due), 7 and 1 days before, none on the other days, none after
    assert sum(sent) == 3
    assert [start + dt.timedelta(days=d) for d, n in enumerate(sent) if n] == [
        start, due - dt.timedelta(days=7), due - dt.timedelta(days=1)]
    assert _count(db, world.trainee, "registration_due") == 3 and _count(db, new_ent, "registration_due") == 3
    assert _count(db, old_ent, "registration_due") == 0
    note = db.scalars(select(Notification).where(Notification.user_id == new_ent.id)).first()
    assert due.isoformat() in note.body and "王芳" in note.body


def test_policy_no_registration_reminder_after_the_deadline(db, world):
    entry = _moved(db, world, dt.date(2026, 3, 1))
    after = entry.registration_due_on + dt.timedelta(days=1)
    assert reminders.remind_registration_due(db, after) == 0
    assert _count(db, world.trainee, "registration_due") == 0


def _notice_with_objection(db, world, app, today):
    certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    n = notices.publish_notice(db, world.city_admin, title="南通市受聘首席质量官公示", objection_days=7, contact="",
                               today=today)
    return n, notices.lodge_objection(db, n, line_id=None, text="该同志已于九月离职。", contact_name="张三",
                                      contact="13800000000", today=today)


def test_policy_the_bureau_is_reminded_before_the_objection_period_ends(db, world, app):
    start = dt.date(2026, 11, 1)
    with app.app_context():
        n, obj = _notice_with_objection(db, world, app, start)
        sent = [reminders.remind_objections(db, start + dt.timedelta(days=d)) for d in range(0, 12)]
    # period ends on the 8th: reminded 3 days and 1 day before, once each, none after
    assert [start + dt.timedelta(days=d) for d, k in enumerate(sent) if k] == [dt.date(2026, 11, 5), dt.date(2026, 11, 7)]
    [first, _second] = db.scalars(select(Notification).where(Notification.user_id == world.city_admin.id,
                                                             Notification.kind == "notice_objections")
                                  .order_by(Notification.id)).all()
    assert "1 件" in first.body and n.objection_until.isoformat() in first.body
    assert first.url.endswith(f"/notices/{n.id}")
    assert _count(db, world.county_admin, "notice_objections") == 0  # another bureau's notice


def test_policy_no_objection_reminder_once_resolved(db, world, app):
    start = dt.date(2026, 11, 1)
    with app.app_context():
        n, obj = _notice_with_objection(db, world, app, start)
        notices.resolve_objection(db, world.city_admin, obj, upheld=False, resolution="经核实仍在职。", today=start)
        assert reminders.remind_objections(db, dt.date(2026, 11, 7)) == 0
    assert _count(db, world.city_admin, "notice_objections") == 0


def test_policy_daily_job_on_a_frozen_clock_and_across_year_ends(db, world, app):
    """Run on the same instant twice, and on the same day of two years: each year's reminder once."""
    certify(db, world, issued=dt.date(2024, 3, 1))
    appoint(db, world, on=dt.date(2024, 4, 1))
    ent = _account(db, world, world.ent_qd, "qd_jixie")
    with app.app_context():
        for year in (2025, 2025, 2026, 2026):
            out = jobs.reminders(db, dt.datetime(year, 12, 1, 1, 0, tzinfo=dt.timezone.utc))
            assert set(out) >= {"ce_due", "registration", "objections"}
    assert _count(db, world.trainee, "ce_due") == 2 and _count(db, ent, "ce_due") == 2
    keys = db.scalars(select(Notification.dedupe_key).where(Notification.user_id == ent.id)).all()
    assert len(set(keys)) == 2
