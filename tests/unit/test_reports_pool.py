"""The dashboard's talent-pool figures: statuses by region, and CE compliance by the roll-up's own rule."""
import datetime as dt

from credits import services as credits
from reports import queries
from talent.models import PoolStatus
from talent.services import entries, rollup
from tests.ce_helpers import appoint


def _certify(db, user, region, cid):
    return entries.on_certificate_issued(db, user_id=user.id, certificate_id=cid, number=f"T-{cid}", tier="basic",
                                        issued_on=dt.date(2025, 3, 1), valid_until=dt.date(2028, 2, 28),
                                        region_id=region.id, enterprise_id=None)


def test_pool_statuses_and_compliance_by_region(db, world):
    _certify(db, world.trainee, world.qidong, 1)
    _certify(db, world.trainee_fz, world.fuzhou, 2)
    appoint(db, world)
    appoint(db, world, user=world.trainee_fz, enterprise=world.ent_fz)
    for k, (h, cat) in enumerate([(70, "professional"), (25, "public")]):
        credits.award_system_credit(db, user_id=world.trainee.id, year=2026, hours=h, subject_category=cat,
                                    source_ref=f"t:{k}", title="课程")
    nantong = queries.pool(db, world.nantong, 2026)
    assert nantong["statuses"][PoolStatus.active.value] == 1 and nantong["members"] == 1
    # 95 hours, 70 professional, no report yet: compliant (seed 002 §4(3): the report OR the CE proof)
    assert nantong["compliant"] == 1 and nantong["report_missing"] == 1 and nantong["hours_short"] == 0
    credits.file_report(db, world.trainee, year=2026, summary="全年组织开展质量提升行动，完成质量管理体系内审与管理评审，推进 QC 小组活动三项。", today=dt.date(2026, 12, 1))
    assert queries.pool(db, world.nantong, 2026)["compliant"] == 1
    # the roll-up, by the same rule, agrees; the Fuzhou member short of hours goes on warning
    out = rollup.rollup_year(db, 2026)
    assert out["compliant"] == 1 and out["warning"] == 1
    assert queries.pool(db, world.fujian, 2026)["statuses"][PoolStatus.warning.value] == 1
    assert queries.pool(db, world.rugao, 2026)["members"] == 0
