import pytest
from sqlalchemy import select

from lms.auth.models import AuditEvent, User
from lms.errors import NotFound
from lms.orgs.models import Enterprise, Institution
from lms.people.models import TraineeProfile
from lms.scoping import get_visible, visible


def names(db, model, user, attr="name"):
    return {getattr(r, attr) for r in db.scalars(visible(model, user))}


def test_regulators_see_their_region_and_below(db, world):
    assert names(db, Enterprise, world.city_admin) >= {"启东机械有限公司", "如皋食品有限公司"}
    assert "福州电机有限公司" not in names(db, Enterprise, world.city_admin)
    assert names(db, Enterprise, world.county_admin) == {"启东机械有限公司"}
    assert names(db, Enterprise, world.rugao_admin) == {"如皋食品有限公司"}
    assert "福州电机有限公司" in names(db, Enterprise, world.sysadmin)


def test_institution_staff_see_only_their_institution(db, world):
    assert names(db, Institution, world.staff_nt) == {"南通培训中心"}
    assert names(db, Enterprise, world.staff_nt) == set()
    assert names(db, User, world.staff_nt, "username") == {"nt_staff"}


def test_trainees_see_only_themselves(db, world):
    assert names(db, TraineeProfile, world.trainee, "real_name") == {"王芳"}
    assert names(db, User, world.trainee, "username") == {"wangfang"}


def test_out_of_scope_load_is_not_found_and_audited(db, world):
    with pytest.raises(NotFound):
        get_visible(db, Enterprise, world.ent_fz.id, world.city_admin)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied").order_by(AuditEvent.id.desc()))
    assert event.actor_id == world.city_admin.id and event.object_type == "Enterprise"
    assert event.object_id == str(world.ent_fz.id)
    with pytest.raises(NotFound):
        get_visible(db, Enterprise, 999999, world.city_admin)


def test_unregistered_model_fails_closed(db, world):
    class Unscoped:  # noqa: D401 - a stand-in
        id = None

    with pytest.raises(LookupError):
        visible(Unscoped, world.sysadmin)
