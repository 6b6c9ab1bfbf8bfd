"""Issue 14, part A: the pool is the province's register of CQOs, placed by their enterprise's region (seed 002
§4(3): the county office registers all CQOs of the county), not by the class's; a move is an event."""
import datetime as dt

from sqlalchemy import select

from lms.scoping import visible
from talent import queries
from talent.models import Cause, PoolStatus, TalentEntry, TalentEvent
from talent.services import entries
from tests.ce_helpers import certify
from tests.factories import make_staff, make_trainee
from lms.domain import Role


def test_policy_entry_placed_by_enterprise_region_not_class(db, world):
    """Trained in a Nantong class, working in Qidong: the entry is Qidong's, and Qidong's bureau sees it."""
    entry = certify(db, world, region=world.nantong)
    assert entry.region_id == world.qidong.id
    qidong_admin = make_staff(db, "qd_admin_pool", Role.regulator_admin, region=world.qidong)
    rugao_admin = make_staff(db, "rg_admin_pool", Role.regulator_admin, region=world.rugao)
    assert db.scalar(visible(TalentEntry, qidong_admin).where(TalentEntry.id == entry.id)) is not None
    assert db.scalar(visible(TalentEntry, rugao_admin).where(TalentEntry.id == entry.id)) is None
    page = queries.pool_page(db, queries.pool_filter(db, qidong_admin), 1)
    assert [r.region_name for r in page.items] == [world.qidong.name]


def test_policy_no_enterprise_falls_back_to_the_training_region(db, world):
    """No enterprise known: the region where they were trained."""
    entry = entries.on_certificate_issued(db, user_id=world.trainee_fz.id, certificate_id=830001, number="FJ-1",
                                          tier="basic", issued_on=dt.date(2026, 3, 1), valid_until=None,
                                          region_id=world.fuzhou.id, enterprise_id=None)
    assert entry.region_id == world.fuzhou.id


def test_policy_enterprise_move_is_an_event(db, world):
    """The CQO moves to Rugao: the daily job moves the entry and records where from and to, once."""
    entry = certify(db, world)
    world.trainee.trainee_profile[0].enterprise_id = world.ent_rg.id
    db.flush()
    assert entries.follow_enterprises(db, dt.date(2026, 5, 1)) == 1
    assert entries.follow_enterprises(db, dt.date(2026, 5, 2)) == 0  # idempotent
    db.refresh(entry)
    assert entry.region_id == world.rugao.id and entry.enterprise_id == world.ent_rg.id
    assert entry.status == PoolStatus.active
    moves = db.scalars(select(TalentEvent).where(TalentEvent.entry_id == entry.id, TalentEvent.cause == Cause.moved)).all()
    assert len(moves) == 1 and moves[0].on == dt.date(2026, 5, 1)
    assert world.qidong.name in moves[0].reason and world.rugao.name in moves[0].reason


def test_policy_enterprise_region_change_moves_the_entry(db, world):
    """The enterprise's own region changes (a redrawn county): its CQOs follow, with the event."""
    other = make_trainee(db, "mover", world.ent_qd, real_name="赵敏")
    entry = certify(db, world, user=other, cert_id=830010)
    world.ent_qd.region_id = world.rugao.id
    db.flush()
    assert entries.follow_enterprises(db, dt.date(2026, 6, 1)) >= 1
    db.refresh(entry)
    assert entry.region_id == world.rugao.id
    assert entry.events[-1].cause == Cause.moved
