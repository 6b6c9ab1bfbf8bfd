"""Issue 18 (HIGH): writes are scoped like reads. Each model with a scope rule and a write route is changed by
someone who does not own it — another province's admin, a city admin under the owning province, another
institution's staff — through the page and the API; the answer is 404 (nothing revealed), an ``access_denied``
audit event is written, and the record is unchanged."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from courses.models import ClassSession, Course, EligibilityRuleSet, Lesson, Programme, TrainingClass
from lms.auth import services as auth_services
from lms.auth.models import AuditEvent, User
from lms.orgs.models import Enterprise, Institution
from tests import courses_support as cs
from tests.conftest import login, post_form


def _denials(db, model: str, pk) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "access_denied", AuditEvent.object_type == model, AuditEvent.object_id == str(pk))) or 0


def _programme(db, world):
    prog = cs.programme(db, world)
    data = {"province_id": world.fujian.id, "tier": "basic", "year": prog.year, "name": "被夺走的方案",
            "pass_mark": "99", "min_attendance_pct": "80", "certificate_validity_years": "3",
            "eligibility_rule_set_id": "0", "course_ids": [c.id for c in prog.courses]}
    return prog, f"/courses/programmes/{prog.id}/edit", data, lambda p: (p.province_id, p.pass_mark, p.name)


def _rule_set(db, world):
    prog = cs.programme(db, world)
    rs = db.get(EligibilityRuleSet, prog.eligibility_rule_set_id)
    return rs, f"/courses/rule-sets/{rs.id}/edit", {"name": "越权", "rules": "[]"}, lambda r: (r.name, json.dumps(r.rules))


def _course(db, world):
    prog = cs.programme(db, world)
    c = prog.courses[0]
    c.owner_province_id = world.jiangsu.id
    data = {"code": c.code, "title": "改名", "hours": "99", "subject_category": "public", "description": ""}
    return c, f"/courses/catalogue/{c.id}/edit", data, lambda x: (x.title, x.hours)


def _lesson(db, world):
    c = cs.course(db, world, lessons=1, owner_institution=world.inst_nt)
    les = c.lessons[0]
    return les, f"/courses/lessons/{les.id}/delete", {}, lambda x: (x.title, x.course_id)


def _class(db, world):
    k = cs.training_class(db, world, sessions=1)
    return k, f"/courses/classes/{k.id}/edit", {"name": "越权改名"}, lambda x: (x.name, x.capacity)


def _session(db, world):
    k = cs.training_class(db, world, sessions=1)
    sess = db.scalar(select(ClassSession).where(ClassSession.class_id == k.id))
    return sess, f"/courses/sessions/{sess.id}/delete", {}, lambda x: (x.id, x.class_id)


def _institution(db, world):
    inst = world.inst_nt
    return inst, f"/manage/institutions/{inst.id}/edit", {"name": "越权机构"}, lambda x: (x.name,)


def _enterprise(db, world):
    ent = world.ent_qd
    return ent, f"/manage/enterprises/{ent.id}/edit", {"name": "越权企业"}, lambda x: (x.name,)


def _user(db, world):
    u = world.staff_nt
    return u, f"/manage/users/{u.id}/enabled", {"enabled": "0"}, lambda x: (x.is_enabled,)


# (model, factory, attackers that pass the role gate and must get 404 + access_denied)
CASES = [
    (Programme, _programme, ["fj_admin", "nt_admin"]),
    (EligibilityRuleSet, _rule_set, ["fj_admin", "nt_admin"]),
    (Course, _course, ["fj_admin", "nt_admin", "nt_staff", "fj_staff"]),
    (Lesson, _lesson, ["fj_staff", "fj_admin", "js_admin"]),
    (TrainingClass, _class, ["fj_staff"]),
    (ClassSession, _session, ["fj_staff"]),
    (Institution, _institution, ["fj_admin"]),
    (Enterprise, _enterprise, ["fj_admin"]),
    (User, _user, ["fj_admin"]),
]


@pytest.mark.parametrize("model,factory,attacker", [(m, f, a) for m, f, attackers in CASES for a in attackers],
                         ids=lambda v: getattr(v, "__name__", v))
def test_security_writes_page_refuses_who_does_not_own_the_record(client, db, world, model, factory, attacker):
    record, url, data, state = factory(db, world)
    db.flush()
    before = state(record)
    login(client, attacker)
    resp = post_form(client, url, data, token_from="/home")
    assert resp.status_code == 404, (url, attacker, resp.status_code)
    db.expire_all()
    assert _denials(db, model.__name__, record.id) >= 1
    assert state(db.get(model, record.id)) == before


@pytest.mark.parametrize("attacker", ["trainee", "staff"])
def test_security_writes_other_roles_never_change_a_programme(client, db, world, attacker):
    prog, url, data, state = _programme(db, world)
    before = state(prog)
    login(client, {"trainee": "wangfang", "staff": "nt_staff"}[attacker])
    resp = post_form(client, url, data, token_from="/home")
    assert resp.status_code in (403, 404)
    db.expire_all()
    assert state(db.get(Programme, prog.id)) == before


def test_security_writes_the_owner_still_edits(client, db, world):
    prog, url, data, _state = _programme(db, world)
    data["province_id"] = world.jiangsu.id
    login(client, "js_admin")
    assert post_form(client, url, data, token_from="/home").status_code == 302
    db.expire_all()
    assert db.get(Programme, prog.id).pass_mark == 99


def test_security_writes_api_refuses_another_institution(client, db, world):
    k = cs.training_class(db, world, sessions=1)
    sess = db.scalar(select(ClassSession).where(ClassSession.class_id == k.id))
    _t, clear = auth_services.create_token(db, world.staff_fj, "攻击")
    resp = client.post(f"/api/v1/sessions/{sess.id}/attendance", json={"items": []},
                       headers={"Authorization": f"Bearer {clear}"})
    assert resp.status_code == 404
    db.expire_all()
    assert _denials(db, "ClassSession", sess.id) >= 1

