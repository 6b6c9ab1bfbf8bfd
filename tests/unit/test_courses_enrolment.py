"""Classes and enrolment: who may open which class, applying with eligibility and the pledge, decisions,
the waiting list and withdrawal."""
import datetime as dt

import pytest
from sqlalchemy import select

from courses import services
from courses.services import enrolment
from courses.models import EnrollmentStatus
from lms.auth.models import AuditEvent
from lms.db import utcnow
from lms.demo import PLEDGE_VERSION
from lms.domain import Role, Tier
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.people.models import PledgeSignature
from lms.templating import today_local
from tests import courses_support as cs
from tests import factories


def test_institution_opens_classes_only_for_authorised_tiers_and_own_region(db, world):
    senior = cs.programme(db, world, tier=Tier.senior)
    today = today_local()
    data = services.ClassData(programme_id=senior.id, region_id=world.qidong.id, name="高级班", place="南通",
                              start_date=today + dt.timedelta(days=5), end_date=today + dt.timedelta(days=6),
                              capacity=20, enrol_opens_on=today, enrol_closes_on=today + dt.timedelta(days=4))
    with pytest.raises(ValidationFailed) as exc:
        services.save_class(db, world.staff_nt, data, today)
    assert "没有高级层级的培训授权" in exc.value.errors["programme_id"]
    basic = cs.programme(db, world)
    data.programme_id, data.region_id = basic.id, world.fuzhou.id
    with pytest.raises(ValidationFailed) as exc:
        services.save_class(db, world.staff_nt, data, today)
    assert "办班地区" in exc.value.errors["region_id"]
    with pytest.raises(Forbidden):
        services.save_class(db, world.city_admin, data, today)
    data.region_id = world.qidong.id
    fj_data = services.ClassData(**{**data.__dict__})
    with pytest.raises(ValidationFailed) as exc:
        services.save_class(db, world.staff_fj, fj_data, today)
    assert "本省" in exc.value.errors["programme_id"]
    klass = services.save_class(db, world.staff_nt, data, today)
    assert klass.institution_id == world.inst_nt.id and klass.tier == Tier.basic


def test_class_dates_are_checked_with_field_messages(db, world):
    prog = cs.programme(db, world)
    today = today_local()
    data = services.ClassData(programme_id=prog.id, region_id=world.qidong.id, name="", place="", capacity=0,
                              start_date=today + dt.timedelta(days=5), end_date=today, enrol_opens_on=today,
                              enrol_closes_on=today - dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        services.save_class(db, world.staff_nt, data, today)
    assert set(exc.value.errors) >= {"name", "place", "capacity", "end_date", "enrol_closes_on"}


def test_sessions_must_fall_within_the_class(db, world):
    klass = cs.training_class(db, world)
    with pytest.raises(ValidationFailed) as exc:
        services.add_session(db, world.staff_nt, klass, services.SessionData(
            date=klass.end_date + dt.timedelta(days=1), start_time=dt.time(10), end_time=dt.time(9), place="",
            topic="", course_id=None))
    assert set(exc.value.errors) == {"date", "end_time", "topic"}
    s = services.add_session(db, world.staff_nt, klass, services.SessionData(
        date=klass.start_date, start_time=dt.time(9), end_time=dt.time(11, 30), place="", topic="开班", course_id=None))
    assert s.hours == 2.5 and s.place == klass.place and (s.starts_at.hour, s.starts_at.minute) == (1, 0)  # 09:00 Beijing
    with pytest.raises(Forbidden):
        services.add_session(db, world.staff_fj, klass, services.SessionData(
            date=klass.start_date, start_time=dt.time(9), end_time=dt.time(10), place="", topic="x", course_id=None))


def test_apply_signs_the_pledge_and_records_the_evaluation(db, world):
    klass = cs.training_class(db, world)
    e = enrolment.apply(db, world.trainee, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    assert e.status == EnrollmentStatus.applied and e.eligibility["eligible"] is True
    sig = db.scalar(select(PledgeSignature).where(PledgeSignature.user_id == world.trainee.id,
                                                  PledgeSignature.context == "enrolment"))
    assert sig is not None and sig.version == PLEDGE_VERSION
    with pytest.raises(Conflict):
        enrolment.apply(db, world.trainee, klass, pledge_version=PLEDGE_VERSION, today=today_local())


def test_ineligible_applicant_is_refused_with_every_reason_and_nothing_is_stored(db, world):
    klass = cs.training_class(db, world)
    weak = factories.make_trainee(db, "weak", world.ent_qd, education="senior_high", quality_years=1)
    with pytest.raises(enrolment.NotEligible) as exc:
        enrolment.apply(db, weak, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    assert {c.code for c in exc.value.evaluation.unmet} == {"any_of", "quality_years_min"}
    assert "质量工作年限" in exc.value.message
    assert db.scalar(select(PledgeSignature).where(PledgeSignature.user_id == weak.id,
                                                   PledgeSignature.context == "enrolment")) is None


def test_apply_needs_the_pledge_an_open_window_and_a_trainee(db, world):
    klass = cs.training_class(db, world)
    with pytest.raises(ValidationFailed) as exc:
        enrolment.apply(db, world.trainee, klass, pledge_version=None, today=today_local())
    assert "承诺书" in exc.value.errors["accept_pledge"]
    with pytest.raises(DomainError) as exc:
        enrolment.apply(db, world.trainee, klass, pledge_version=PLEDGE_VERSION, today=klass.enrol_closes_on + dt.timedelta(days=1))
    assert "报名时间" in exc.value.message
    with pytest.raises(Forbidden):
        enrolment.apply(db, world.staff_nt, klass, pledge_version=PLEDGE_VERSION, today=today_local())


def test_full_class_waitlists_and_a_freed_place_moves_the_list_up(db, world):
    klass = cs.training_class(db, world, capacity=1)
    a, ea = cs.admitted(db, world, klass, "adm1")
    users = [factories.make_trainee(db, f"wait{i}", world.ent_qd) for i in range(2)]
    waits = [enrolment.apply(db, u, klass, pledge_version=PLEDGE_VERSION, today=today_local()) for u in users]
    for w in waits:
        enrolment.approve(db, world.staff_nt, w, utcnow())
    assert [w.status for w in waits] == [EnrollmentStatus.waitlisted] * 2
    assert [w.waitlist_position for w in waits] == [1, 2]
    enrolment.withdraw(db, a, ea, today_local())
    assert ea.status == EnrollmentStatus.withdrawn
    assert waits[0].status == EnrollmentStatus.approved and waits[0].waitlist_position is None
    assert waits[1].status == EnrollmentStatus.waitlisted and waits[1].waitlist_position == 1
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Enrollment")))
    assert {"enrollment.waitlist", "enrollment.withdraw", "enrollment.promote"} <= actions


def test_raising_capacity_admits_from_the_waiting_list(db, world):
    klass = cs.training_class(db, world, capacity=1)
    cs.admitted(db, world, klass, "adm1")
    u = factories.make_trainee(db, "waiter", world.ent_qd)
    w = enrolment.apply(db, u, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    enrolment.approve(db, world.staff_nt, w, utcnow())
    assert w.status == EnrollmentStatus.waitlisted
    data = services.ClassData(**{f: getattr(klass, f) for f in (
        "programme_id", "region_id", "name", "place", "start_date", "end_date", "capacity", "enrol_opens_on",
        "enrol_closes_on")})
    data.capacity = 2
    services.save_class(db, world.staff_nt, data, today_local(), klass)
    assert w.status == EnrollmentStatus.approved


def test_reject_needs_a_reason_and_only_the_owning_institution_decides(db, world):
    klass = cs.training_class(db, world)
    e = enrolment.apply(db, world.trainee, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    with pytest.raises(ValidationFailed) as exc:
        enrolment.reject(db, world.staff_nt, e, " ", utcnow())
    assert "原因" in exc.value.errors["reason"]
    with pytest.raises(Forbidden):
        enrolment.approve(db, world.staff_fj, e, utcnow())
    with pytest.raises(Forbidden):
        enrolment.approve(db, world.city_admin, e, utcnow())
    enrolment.reject(db, world.staff_nt, e, "名额已满，请报下一期", utcnow())
    assert e.status == EnrollmentStatus.rejected and e.decision_reason == "名额已满，请报下一期"
    # A rejected applicant may apply again: the same row is reopened.
    again = enrolment.apply(db, world.trainee, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    assert again.id == e.id and again.status == EnrollmentStatus.applied and again.decision_reason == ""


def test_withdrawal_only_before_the_start_and_only_ones_own(db, world):
    klass = cs.training_class(db, world, start=today_local())
    u, e = cs.admitted(db, world, klass, "started")
    with pytest.raises(Forbidden):
        enrolment.withdraw(db, world.trainee, e, today_local())
    with pytest.raises(DomainError) as exc:
        enrolment.withdraw(db, u, e, today_local())
    assert "已于" in exc.value.message and e.status == EnrollmentStatus.approved


def test_staff_see_profiles_of_their_applicants_only(db, world):
    from lms.people.models import TraineeProfile
    from lms.scoping import visible

    klass = cs.training_class(db, world)
    enrolment.apply(db, world.trainee, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    seen = {p.user_id for p in db.scalars(visible(TraineeProfile, world.staff_nt))}
    assert seen == {world.trainee.id}
    assert not list(db.scalars(visible(TraineeProfile, world.staff_fj)))
    assert world.staff_nt.role == Role.institution_staff
