"""Issue 14, part A: continuing education by seed 002 §4(3) 「首席质量官在任期内应按规定递交年度质量管理绩效报告
或继续教育证明」 — only a CQO in office is held to it, a report OR CE proof meets it, the year a person is certified
or appointed is not held against them (or prorated, as the province chooses), hours are prorated for part years,
and the roll-up, the dashboard and the restoration of an entry apply the one rule."""
import datetime as dt

import pytest
from sqlalchemy import select

from credits import queries as credit_queries
from credits import services as credits
from credits.models import YearStanding
from lms.errors import ValidationFailed
from reports import queries as report_queries
from talent.models import Cause, PoolStatus, TalentEvent
from talent.services import rollup, standing, status
from tests.ce_helpers import appoint, both_rule, certify, give, report
from tests.factories import make_trainee


def _standing(db, user, year):
    return {s.user_id: s for s in standing.standings(db, year)}[user.id]


def test_policy_report_or_ce_proof_meets_the_rule(db, world):
    """Seed 002's either-or: the report alone, or the hours alone, meets it; neither is short."""
    users = [world.trainee] + [make_trainee(db, f"either{i}", world.ent_qd, real_name="李强") for i in range(2)]
    for i, u in enumerate(users):
        certify(db, world, user=u, cert_id=820000 + i, issued=dt.date(2025, 3, 1))
        appoint(db, world, user=u)
    report_only, hours_only, neither = users
    report(db, report_only, 2026)
    give(db, hours_only, 2026, 60, 30)
    give(db, neither, 2026, 20, 10)
    got = {u.id: _standing(db, u, 2026) for u in users}
    assert [got[u.id].compliant for u in users] == [True, True, False]
    assert all(got[u.id].held for u in users)
    out = rollup.rollup_year(db, 2026)
    assert out["warning"] == 1 and out["compliant"] == 2
    warned = [e for e in db.scalars(select(TalentEvent).where(TalentEvent.year == 2026))]
    assert [(e.entry.user_id, e.to_status, e.cause) for e in warned] == [(neither.id, PoolStatus.warning, Cause.missed_credits)]
    # the member's own page says the same (credits' Progress applies the province's either-or)
    assert credit_queries.progress(db, report_only.id, 2026, world.jiangsu.id).compliant


def test_policy_wang_fang_report_filed_80_of_90_hours_is_not_warned(db, world):
    """The issue's case: 王芳 filed her report with 80 of 90 hours — compliant, not on warning."""
    entry = certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    give(db, world.trainee, 2026, 56, 24)
    report(db, world.trainee, 2026)
    s = _standing(db, world.trainee, 2026)
    assert s.held and not s.hours_ok and s.compliant
    rollup.rollup_year(db, 2026)
    db.refresh(entry)
    assert entry.status == PoolStatus.active


def test_policy_only_a_cqo_in_office_is_held(db, world):
    """A certificate holder nobody appointed (or whose appointment ended before the year) is not held."""
    entry = certify(db, world, issued=dt.date(2024, 3, 1))
    s = _standing(db, world.trainee, 2026)
    assert not s.held and s.compliant
    appoint(db, world, on=dt.date(2024, 5, 1), ended=dt.date(2025, 12, 1))
    assert not _standing(db, world.trainee, 2026).held
    rollup.rollup_year(db, 2026)
    db.refresh(entry)
    assert entry.status == PoolStatus.active
    assert db.scalar(select(YearStanding.held).where(YearStanding.user_id == world.trainee.id)) is False
    # the dashboard counts only those held to the rule
    assert report_queries.pool(db, world.nantong, 2026)["members"] == 0


def test_policy_certified_in_december_not_warned_that_year(db, world):
    """Certified (and appointed) in December: the year is not held against her; nor is a year of appointment."""
    entry = certify(db, world, issued=dt.date(2026, 12, 10))
    appoint(db, world, on=dt.date(2026, 12, 15))
    other = make_trainee(db, "appointed26", world.ent_qd, real_name="李强")
    e2 = certify(db, world, user=other, cert_id=820010, issued=dt.date(2024, 3, 1))
    appoint(db, world, user=other, on=dt.date(2026, 6, 1))
    assert not _standing(db, world.trainee, 2026).held and not _standing(db, other, 2026).held
    out = rollup.rollup_year(db, 2026)
    db.refresh(entry), db.refresh(e2)
    assert out["warning"] == 0 and entry.status == PoolStatus.active and e2.status == PoolStatus.active
    # the next year both are held
    assert _standing(db, world.trainee, 2027).held and _standing(db, other, 2027).held


def test_policy_a_province_may_prorate_the_first_year(db, world):
    """With "prorate" the first year counts for the days in office: appointed 1 July, half the hours."""
    credits.save_rule(db, world.province_admin, world.jiangsu.id, required_hours=90, professional_min_hours=0,
                      report_required=True, report_due_month=12, change_registration_days=30, first_year="prorate")
    certify(db, world, issued=dt.date(2026, 3, 1))
    appoint(db, world, on=dt.date(2026, 7, 1))  # 184 of 365 days: 45.4 hours
    give(db, world.trainee, 2026, 0, 45)
    s = _standing(db, world.trainee, 2026)
    assert s.held and not s.compliant
    give(db, world.trainee, 2026, 0, 1, tag="b")
    assert _standing(db, world.trainee, 2026).compliant


def test_policy_hours_prorated_when_office_ends_mid_year(db, world):
    """In office until 1 April (90 of 365 days) under a rule of hours: 23 hours suffice, 22 do not."""
    both_rule(db, world, report_required=False, professional_min_hours=0)
    certify(db, world, issued=dt.date(2024, 3, 1))
    appoint(db, world, on=dt.date(2024, 5, 1), ended=dt.date(2026, 4, 1))
    give(db, world.trainee, 2026, 0, 22)
    s = _standing(db, world.trainee, 2026)
    assert s.held and not s.hours_ok
    give(db, world.trainee, 2026, 0, 1, tag="b")
    assert _standing(db, world.trainee, 2026).hours_ok


def test_policy_a_province_may_require_hours_and_report(db, world):
    """A province's own rule (not seed 002's): hours AND report; the report alone is short."""
    both_rule(db, world)
    entry = certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    report(db, world.trainee, 2026)
    assert not _standing(db, world.trainee, 2026).compliant
    rollup.rollup_year(db, 2026)
    db.refresh(entry)
    assert entry.status == PoolStatus.warning and entry.status_cause == Cause.missed_credits


def test_policy_restoration_uses_the_same_rule(db, world):
    """An entry warned for CE is restored by a report alone (either-or), not by the first-year exemption."""
    entry = certify(db, world, issued=dt.date(2025, 3, 1))
    appoint(db, world)
    status.set_status(db, entry, PoolStatus.warning, Cause.missed_credits, dt.date(2027, 1, 1), year=2026)
    give(db, world.trainee, 2027, 10, 0)
    db.refresh(entry)
    assert entry.status == PoolStatus.warning
    report(db, world.trainee, 2027, today=dt.date(2027, 3, 1))
    db.refresh(entry)
    assert entry.status == PoolStatus.active and entry.status_cause == Cause.restored


def test_policy_dashboard_and_rollup_agree(db, world):
    """The dashboard's figures and the roll-up's written standings are one rule (members held; compliant)."""
    users = [world.trainee] + [make_trainee(db, f"agree{i}", world.ent_qd, real_name="李强") for i in range(3)]
    for i, u in enumerate(users):
        certify(db, world, user=u, cert_id=820100 + i, issued=dt.date(2025 if i < 3 else 2026, 3, 1))
        appoint(db, world, user=u)
    report(db, users[0], 2026)
    give(db, users[1], 2026, 60, 30)
    dash = report_queries.pool(db, world.qidong, 2026)
    assert (dash["members"], dash["compliant"]) == (3, 2)
    rollup.rollup_year(db, 2026)
    rows = db.scalars(select(YearStanding).where(YearStanding.year == 2026)).all()
    assert sorted((r.held, r.compliant) for r in rows) == [(False, True), (True, False), (True, True), (True, True)]


def test_policy_rule_refuses_an_unknown_first_year_choice(db, world):
    with pytest.raises(ValidationFailed) as exc:
        credits.save_rule(db, world.province_admin, world.jiangsu.id, required_hours=90, professional_min_hours=60,
                          report_required=True, report_due_month=12, change_registration_days=30, first_year="never")
    assert "first_year" in exc.value.errors
    assert credit_queries.rule_for(db, world.jiangsu.id).first_year == "exempt"
