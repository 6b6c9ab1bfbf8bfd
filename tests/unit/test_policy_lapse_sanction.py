"""Issue 14, one sanctions model: 「warning, suspension, disqualification (seed 001 §6 reasons) and lapse each have a
cause, evidence, the acting bureau and dates」. A lapse made by the year-end roll-up (seed 002 四(三), two years
short) is also a sanction row of kind lapse — basis, evidence (the year's figures), the member's province as the
acting bureau, no actor (the scheduled roll-up) — ended when the member is restored, shown to verifiers in the
history, written once however often the roll-up runs."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from certificates import services as cert_services
from credits.models import AnnualReport
from lms.errors import DomainError, ValidationFailed
from talent.models import PoolStatus, Sanction, SanctionKind, TalentEntry
from talent.services import rollup, sanctions
from tests.ce_helpers import appoint, certify, give, report
from tests.cert_factories import cert_cfg, completion_rules, cw  # noqa: F401


def _lapses(db, entry_id=None):
    q = select(Sanction).where(Sanction.kind == SanctionKind.lapse)
    if entry_id is not None:
        q = q.where(Sanction.entry_id == entry_id)
    return db.scalars(q.order_by(Sanction.id)).all()


def _lapsed_member(db, world):
    """王芳, certified and appointed in 2024, short in 2025 and 2026 (no report, 10 hours in 2026)."""
    certify(db, world, issued=dt.date(2024, 3, 1))
    appoint(db, world, on=dt.date(2024, 4, 1))
    give(db, world.trainee, 2026, 10, 0)
    rollup.rollup_year(db, 2025)
    out = rollup.rollup_year(db, 2026)
    entry = db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))
    return entry, out


def test_policy_the_rollup_records_a_lapse_as_a_sanction(db, world):
    entry, out = _lapsed_member(db, world)
    assert out["lapsed"] == 1 and entry.status == PoolStatus.lapsed
    [lapse] = _lapses(db)
    assert lapse.entry_id == entry.id and lapse.reason.value == "ce_lapsed"
    assert lapse.bureau_region_id == entry.province_id == world.jiangsu.id and lapse.actor_id is None
    assert lapse.started_on == dt.date(2027, 1, 1) and lapse.ended_on is None
    assert "四(三)" in lapse.basis and "绩效报告或继续教育证明" in lapse.basis
    assert "2026" in lapse.evidence and "10" in lapse.evidence and "未递交" in lapse.evidence
    # the bureau's sanctions are not confused with it: the entry stays lapsed, not driven by ``_follow``
    assert sanctions.open_sanctions(db, entry.id) == []


def test_policy_lapse_recorded_once_however_often_the_rollup_runs(db, world):
    entry, _out = _lapsed_member(db, world)
    again = rollup.rollup_year(db, 2026)
    frozen = rollup.rollup_year(db, 2026, now=dt.datetime(2027, 1, 5, tzinfo=dt.timezone.utc))
    assert again["lapsed"] == 0 and frozen["lapsed"] == 0
    assert len(_lapses(db, entry.id)) == 1


def test_policy_lapse_ends_when_restored_by_the_rollup(db, world):
    entry, _out = _lapsed_member(db, world)
    [loaded] = _lapses(db, entry.id)  # held by the session: the restoration must not leave it stale
    report(db, world.trainee, 2027, today=dt.date(2027, 11, 1))
    assert loaded.ended_on is not None
    db.refresh(entry)
    # filing the report restores at once (standing.restore_if_compliant, through status.set_status)
    assert entry.status == PoolStatus.active
    [lapse] = _lapses(db, entry.id)
    assert lapse.ended_on == entry.status_since and "2027" in lapse.lift_reason  # the day of the restoring event
    out = rollup.rollup_year(db, 2027)
    assert out["lapsed"] == 0 and len(_lapses(db, entry.id)) == 1


def test_policy_lapse_ended_set_based_by_the_rollup(db, world):
    """Restored by the roll-up itself (a late report counted at the year end, written without the signal)."""
    entry, _out = _lapsed_member(db, world)
    # a report written behind the signal's back: only the roll-up sees it
    db.add(AnnualReport(user_id=world.trainee.id, year=2027, summary="本年度组织质量改进项目三项。",
                        filed_on=dt.date(2027, 12, 1)))
    db.flush()
    out = rollup.rollup_year(db, 2027)
    db.refresh(entry)
    assert out["active"] == 1 and entry.status == PoolStatus.active
    [lapse] = _lapses(db, entry.id)
    assert lapse.ended_on == dt.date(2028, 1, 1)


def test_policy_a_bureau_cannot_impose_or_lift_a_lapse(db, world):
    entry, _out = _lapsed_member(db, world)
    with pytest.raises(ValidationFailed) as exc:
        sanctions.impose(db, world.county_admin, entry, kind="lapse", reason="ce_lapsed", basis="",
                         evidence="两年未递交报告", today=dt.date(2027, 2, 1))
    assert set(exc.value.errors) >= {"kind", "reason"}
    with pytest.raises(DomainError):
        sanctions.lift(db, world.city_admin, _lapses(db)[0], "误判", dt.date(2027, 2, 1))
    assert db.scalar(select(func.count()).select_from(Sanction)) == 1


def test_policy_lapse_shows_in_the_verify_history(db, world, cw, cert_cfg):
    with completion_rules(ok=True):
        cert = cert_services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, dt.date(2024, 3, 1))
    appoint(db, world, on=dt.date(2024, 4, 1))
    rollup.rollup_year(db, 2025)
    rollup.rollup_year(db, 2026)
    view = cert_services.public_view(db, cert, dt.date(2027, 1, 2))
    assert view["pool"]["status"] == "lapsed"
    [h] = view["pool"]["history"]
    assert h["kind"] == "lapse" and h["from"] == "2027-01-01" and h["until"] is None and "绩效报告" in h["reason"]
    assert "上一年度" not in str(view["pool"])  # the evidence stays with the bureaus


def test_policy_bureau_page_lists_the_lapse_without_a_lift_button(db, world, client, login_as):
    entry, _out = _lapsed_member(db, world)
    [lapse] = _lapses(db)
    db.commit()
    html = login_as("nt_admin").get(f"/talent/entries/{entry.id}").get_data(as_text=True)
    assert 'data-kind="lapse"' in html and "上一年度亦未达标" in html  # the bureau sees the evidence
    assert f'id="lift-{lapse.id}"' not in html
    form = html.split('id="sanction-form"', 1)[1]
    assert 'value="lapse"' not in form and 'value="ce_lapsed"' not in form  # no bureau chooses a lapse
    assert 'value="warning"' in form
