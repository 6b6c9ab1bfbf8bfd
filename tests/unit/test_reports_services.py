"""Filing gates enrolment and issuing; the bureau of the tier reviews; results and annual reports; statistics."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from courses import enrolment
from courses.models import Enrollment, EnrollmentStatus
from exams.results import record_offline_result
from lms.demo import PLEDGE_VERSION
from lms.domain import Tier
from lms.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from reports import queries
from reports.services import annual, filing, rules
from reports.models import AnnualWorkReport, ClassFiling, ReportingSettings, ReviewStatus, TargetCategory
from talent.models import Appointment, RegistrationStatus
from lms.scoping import get_visible, visible
from lms.templating import today_local
from tests import factories
from tests.cert_factories import cert_cfg, completion_rule  # noqa: F401  (fixtures)
from tests.report_factories import finished_class, unfiled_class


def test_an_unfiled_class_refuses_applications_until_its_bureau_accepts(db, world):
    klass = unfiled_class(db, world)
    user = factories.make_trainee(db, "applicant1", world.ent_qd)
    with pytest.raises(DomainError) as exc:
        enrolment.apply(db, user, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    assert "报备" in exc.value.message

    f = filing.file_class(db, world.staff_nt, klass, today_local())
    assert f.status == ReviewStatus.submitted and f.bureau.region_id == world.qidong.id  # basic → county bureau
    assert f.snapshot["teachers"] == ["张建国，高级质量工程师"] and len(f.snapshot["sessions"]) == 1
    with pytest.raises(DomainError):  # filed is not enough: accepted is
        enrolment.apply(db, user, klass, pledge_version=PLEDGE_VERSION, today=today_local())

    filing.decide_filing(db, world.county_admin, f, accept=True)
    e = enrolment.apply(db, user, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    assert e.status == EnrollmentStatus.applied


def test_approving_is_refused_when_the_filing_is_not_accepted(db, world):
    klass = unfiled_class(db, world)
    f = filing.file_class(db, world.staff_nt, klass, today_local())
    filing.decide_filing(db, world.county_admin, f, accept=True)
    user = factories.make_trainee(db, "applicant2", world.ent_qd)
    e = enrolment.apply(db, user, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    f.status = ReviewStatus.returned  # e.g. the bureau withdrew its acceptance
    db.flush()
    with pytest.raises(DomainError) as exc:
        enrolment.approve(db, world.staff_nt, e, dt.datetime.now(dt.timezone.utc))
    assert "报备" in exc.value.message


def test_the_bureau_of_the_tier_decides_and_a_return_needs_a_reason(db, world):
    basic = unfiled_class(db, world, Tier.basic)
    advanced = unfiled_class(db, world, Tier.advanced)
    fb = filing.file_class(db, world.staff_nt, basic, today_local())
    fa = filing.file_class(db, world.staff_nt, advanced, today_local())
    assert fa.bureau.region_id == world.nantong.id  # advanced → city bureau
    with pytest.raises(Forbidden):
        filing.decide_filing(db, world.city_admin, fb, accept=True)  # basic belongs to the county bureau
    with pytest.raises(Forbidden):
        filing.decide_filing(db, world.county_admin, fa, accept=True)
    with pytest.raises(ValidationFailed) as exc:
        filing.decide_filing(db, world.city_admin, fa, accept=False, reason="")
    assert "reason" in exc.value.errors
    filing.decide_filing(db, world.city_admin, fa, accept=False, reason="课表缺少质量法律课程")
    assert fa.status == ReviewStatus.returned and fa.return_reason == "课表缺少质量法律课程"
    again = filing.file_class(db, world.staff_nt, advanced, today_local())  # filed again after a return
    assert again.id == fa.id and again.status == ReviewStatus.submitted and again.return_reason == ""
    with pytest.raises(Conflict):
        filing.file_class(db, world.staff_nt, advanced, today_local())


def test_filing_checks_who_when_and_what(db, world):
    klass = unfiled_class(db, world, teachers="", sessions=0)
    with pytest.raises(Forbidden):
        filing.file_class(db, world.staff_fj, klass, today_local())  # another institution
    with pytest.raises(ValidationFailed) as exc:
        filing.file_class(db, world.staff_nt, klass, today_local())
    assert set(exc.value.errors) == {"teachers", "sessions"}
    with pytest.raises(ValidationFailed) as exc:
        filing.file_class(db, world.staff_nt, klass, klass.start_date, teachers="王老师")
    assert "class" in exc.value.errors  # too late: the class has started


def test_an_institution_cannot_read_another_institutions_filing(db, world):
    klass = unfiled_class(db, world)
    f = filing.file_class(db, world.staff_nt, klass, today_local())
    with pytest.raises(NotFound):
        get_visible(db, ClassFiling, f.id, world.staff_fj)
    assert db.scalars(visible(ClassFiling, world.staff_fj)).all() == []
    assert db.scalars(visible(ClassFiling, world.rugao_admin)).all() == []  # another county
    assert f in db.scalars(visible(ClassFiling, world.county_admin)).all()
    assert f in db.scalars(visible(ClassFiling, world.city_admin)).all()


def test_certificates_need_an_accepted_filing_and_may_be_held_until_the_report(db, world, cert_cfg, completion_rule):
    from certificates import services as cert_services

    completion_rule("all_met")
    klass, users, _css, _exam = finished_class(db, world)
    e = db.scalar(select(Enrollment).where(Enrollment.user_id == users[0].id))
    f = queries.filing_of(db, klass)
    f.status = ReviewStatus.returned
    db.flush()
    with pytest.raises(DomainError) as exc:
        cert_services.issue(db, world.staff_nt, e, cert_cfg, today_local())
    assert "报备" in exc.value.message
    f.status = ReviewStatus.accepted
    db.add(ReportingSettings(province_id=world.jiangsu.id, hold_certificates_until_report=True, key_industries=[]))
    db.flush()
    with pytest.raises(DomainError) as exc:
        cert_services.issue(db, world.staff_nt, e, cert_cfg, today_local())
    assert "结果报告" in exc.value.message
    report = filing.submit_results(db, world.staff_nt, klass, today_local())
    filing.decide_results(db, world.county_admin, report, accept=True)
    cert = cert_services.issue(db, world.staff_nt, e, cert_cfg, today_local())
    assert cert.number


def test_results_report_is_filled_in_from_the_system(db, world):
    klass, users, css, exam = finished_class(db, world, trainees=2, sessions=2)
    from courses import checkin

    now = dt.datetime.now(dt.timezone.utc)
    enrollments = {e.user_id: e for e in db.scalars(select(Enrollment).where(Enrollment.class_id == klass.id))}
    for cs in css:
        checkin.mark(db, world.staff_nt, cs, enrollments[users[0].id], "present", "现场签到", now)
    checkin.mark(db, world.staff_nt, css[0], enrollments[users[1].id], "present", "现场签到", now)
    record_offline_result(db, world.staff_nt, exam, users[0].username, 88)
    record_offline_result(db, world.staff_nt, exam, users[1].username, 40)

    with pytest.raises(DomainError):
        filing.submit_results(db, world.staff_nt, klass, klass.end_date - dt.timedelta(days=1))  # before the end
    report = filing.submit_results(db, world.staff_nt, klass, today_local(), "一名学员未通过考试")
    rows = {r["username"]: r for r in report.rows}
    assert rows[users[0].username]["attendance_rate"] == 1.0 and rows[users[0].username]["score"] == 88
    assert rows[users[1].username]["attendance_rate"] == 0.5 and rows[users[1].username]["passed"] is False
    assert report.totals == {"trainees": 2, "attendance_met": 1, "assessed": 2, "passed": 1, "certificates": 0,
                             "pass_rate": 0.5}
    assert report.bureau.region_id == world.qidong.id
    with pytest.raises(Conflict):
        filing.submit_results(db, world.staff_nt, klass, today_local())
    filing.decide_results(db, world.county_admin, report, accept=False, reason="请补充说明未通过学员的补考安排")
    report = filing.submit_results(db, world.staff_nt, klass, today_local(), "补考安排在下月")
    filing.decide_results(db, world.county_admin, report, accept=True)
    assert report.status == ReviewStatus.accepted


def test_annual_report_one_a_year_with_figures_and_lateness(db, world):
    klass, users, _css, exam = finished_class(db, world, trainees=2)
    record_offline_result(db, world.staff_nt, exam, users[0].username, 75)
    year = klass.start_date.year
    figures = queries.annual_figures(db, world.inst_nt, year)
    assert figures["classes"] == 1 and figures["trainees"] == 2 and figures["assessed"] == 1 and figures["pass_rate"] == 1.0
    today = dt.date(year + 1, 2, 10)  # after the default due date, 31 January
    rows = {r["institution"].id: r for r in queries.annual_status_for_region(db, world.city_admin, year, today)}
    assert rows[world.inst_nt.id]["state"] == "late"
    with pytest.raises(ValidationFailed):
        annual.submit(db, world.staff_nt, year, "太短", today)
    report = annual.submit(db, world.staff_nt, year, "本年度共举办基础培训班一期，学员两名，考核合格一名，已安排补考。", today)
    assert report.late and report.figures["trainees"] == 2
    with pytest.raises(Conflict):
        annual.submit(db, world.staff_nt, year, "本年度共举办基础培训班一期，学员两名，考核合格一名，已安排补考。", today)
    rows = {r["institution"].id: r for r in queries.annual_status_for_region(db, world.city_admin, year, today)}
    assert rows[world.inst_nt.id]["state"] == "late_filed"
    assert db.scalars(visible(AnnualWorkReport, world.staff_fj)).all() == []


def test_dashboard_counts_and_appointment_rate_against_the_target(db, world, cert_cfg, completion_rule):
    from certificates import services as cert_services

    completion_rule("all_met")
    klass, users, _css, exam = finished_class(db, world, trainees=0)
    wang = world.trainee  # works for 启东机械有限公司, above designated size
    e = Enrollment(class_id=klass.id, user_id=wang.id, status=EnrollmentStatus.approved, eligibility={})
    db.add(e)
    db.flush()
    record_offline_result(db, world.staff_nt, exam, wang.username, 90)
    cert_services.issue(db, world.staff_nt, e, cert_cfg, today_local())
    rules.set_target(db, world.city_admin, today_local().year, "above_size", 50, basis="示例")
    year = today_local().year
    # Holding a certificate does not make an appointment (issue 14): only an accepted registration in force does.
    assert queries.appointment(db, world.nantong, year, today_local())["above_size"]["appointed"] == 0
    db.add(Appointment(user_id=wang.id, enterprise_id=world.ent_qd.id, appointed_on=today_local(), enterprise_head="张总",
                       enterprise_head_phone="0513-80000000", cv="履历", opinion="同意", opinion_date=today_local(),
                       letter_path="x", letter_name="x.pdf", letter_mime="application/pdf",
                       status=RegistrationStatus.accepted, submitted_on=today_local()))
    db.flush()

    year = today_local().year
    data = queries.dashboard(db, world.nantong, year, today_local())
    assert data["training"]["basic"] == {"trained": 1, "assessed": 1, "passed": 1, "pass_rate": 1.0, "certificates": 1}
    by_code = {c["region"].code: c for c in data["children"]}
    assert by_code["320681"]["training"]["total"]["trained"] == 1 and by_code["320682"]["training"]["total"]["trained"] == 0
    # The rows (the city's own, then each county) add up to the total.
    assert data["children"][0]["own"] and data["children"][0]["region"].id == world.nantong.id
    for key in ("trained", "certificates"):
        assert sum(c["training"]["total"][key] for c in data["children"]) == data["training"]["total"][key]
    for cat in ("above_size", "small_micro_key"):
        assert sum(c["appointment"][cat]["enterprises"] for c in data["children"]) == data["appointment"][cat]["enterprises"]
    above = data["appointment"]["above_size"]
    # Nantong's above-size enterprises in the world: 启东机械 (appointed now); 如皋食品 is small and not above size.
    assert above["enterprises"] == 1 and above["appointed"] == 1 and above["rate"] == 1.0 and above["target"] == 0.5
    # The county inherits the city's target; last year nobody was appointed.
    qd = queries.appointment(db, world.qidong, year, today_local())
    assert qd["above_size"]["target"] == 0.5
    assert queries.appointment(db, world.nantong, year - 1, today_local())["above_size"]["appointed"] == 0
    assert data["statuses"]["valid"] == 1
    # Continuing-education compliance county by county (issue 17): Wang's pool entry counts in her county's row
    # only, and the rows add up to the region's figure.
    # Appointed this year, she is not yet held to the rule (seed 002 §4(3), first year not held against anyone);
    # next year she is.
    assert data["pool"]["members"] == 0
    later = queries.dashboard(db, world.nantong, year + 1, today_local())
    members = {c["region"].code: c["pool"]["members"] for c in later["children"]}
    assert later["pool"]["members"] == 1 and sum(members.values()) == 1 and members["320681"] == 1 and members["320682"] == 0
    assert sum(c["pool"]["compliant"] for c in later["children"]) == later["pool"]["compliant"]
    # Medium, small and micro firms count only in the province's key industries (启东机械 is medium, 如皋食品 small).
    assert data["appointment"]["small_micro_key"]["enterprises"] == 0
    db.add(ReportingSettings(province_id=world.jiangsu.id, key_industries=["机械制造"]))
    db.flush()
    assert queries.appointment(db, world.nantong, year, today_local())["small_micro_key"]["enterprises"] == 2


def test_targets_are_set_by_a_bureau_for_its_own_region(db, world):
    with pytest.raises(Forbidden):
        rules.set_target(db, world.staff_nt, 2026, "above_size", 80, basis="示例")
    with pytest.raises(ValidationFailed):
        rules.set_target(db, world.city_admin, 2026, "above_size", 180, basis="示例")
    t = rules.set_target(db, world.county_admin, 2026, TargetCategory.small_micro_key.value, 80, basis="示例")
    assert t.region_id == world.qidong.id and t.rate == 0.8
    assert queries.target_for(db, world.rugao, 2026, TargetCategory.small_micro_key) is None


def test_reporting_settings_belong_to_the_province_bureau(db, world):
    with pytest.raises(Forbidden):
        rules.save_settings(db, world.city_admin, hold_certificates=True, key_industries=[], annual_report_due="01-31")
    with pytest.raises(ValidationFailed):
        rules.save_settings(db, world.province_admin, hold_certificates=True, key_industries=[], annual_report_due="13-40")
    s = rules.save_settings(db, world.province_admin, hold_certificates=True, key_industries=["食品", " 食品", "医疗器械"],
                             annual_report_due="3-31", key_industries_basis="示例")
    assert s.key_industries == ["医疗器械", "食品"] and s.annual_report_due == "03-31"
    assert queries.settings_for(db, world.qidong).hold_certificates_until_report is True
