"""Issue 15 through both doors: the plan pages and /api/v1/plans, scoping (another city can neither read nor write
a plan), bad input refused with its place, the class form's plan lines and hours-short warning."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from courses.models import PlanStatus, TrainingPlan
from courses.services import plans
from lms.auth import services as auth_services
from lms.domain import Role
from lms.templating import today_local
from tests import courses_support as cs
from tests import factories
from tests.conftest import post_form

YEAR = today_local().year


def _bearer(db, user) -> dict:
    _tok, clear = auth_services.create_token(db, user, "plan system")
    return {"Authorization": f"Bearer {clear}"}


def _form(world, **over) -> dict:
    data = {"year": str(YEAR), "syllabus": "质量管理基础",
            "lines-0-industry": "", "lines-0-county_id": "", "lines-0-starts_on": f"{YEAR}-04-01",
            "lines-0-ends_on": f"{YEAR}-04-03", "lines-0-place": "南通", "lines-0-classes": "1",
            "lines-1-industry": "纺织", "lines-1-county_id": str(world.qidong.id), "lines-1-starts_on": f"{YEAR}-10-01",
            "lines-1-ends_on": f"{YEAR}-10-02", "lines-1-place": "启东", "lines-1-classes": "1",
            "goals-0-county_id": str(world.qidong.id), "goals-0-people": "40", "goals-0-enterprises": "20"}
    data.update(over)
    return data


def _body(world, **over) -> dict:
    body = {"year": YEAR, "syllabus": "质量管理基础", "lines": [
        {"industry": "", "starts_on": f"{YEAR}-04-01", "ends_on": f"{YEAR}-04-03", "place": "南通", "classes": 2}],
        "goals": [{"county_id": world.rugao.id, "people": 30, "enterprises": 10}]}
    body.update(over)
    return body


def test_provincial_plan_pages_draft_publish_and_show_progress(client, db, world, login_as):
    login_as("nt_admin")
    resp = post_form(client, "/courses/plans/new", _form(world, **{"lines-1-starts_on": f"{YEAR + 1}-01-01"}))
    assert resp.status_code == 200 and "第 2 行培训班" in resp.get_data(as_text=True)
    assert db.scalar(select(func.count(TrainingPlan.id))) == 0
    resp = post_form(client, "/courses/plans/new", _form(world, **{"goals-0-county_id": str(world.fuzhou.id)}))
    assert "区县须为本市的区县" in resp.get_data(as_text=True)
    resp = post_form(client, "/courses/plans/new", _form(world))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    plan = db.scalar(select(TrainingPlan))
    assert plan.status == PlanStatus.draft and len(plan.lines) == 2
    resp = post_form(client, f"/courses/plans/{plan.id}/publish", {}, token_from=f"/courses/plans/{plan.id}")
    assert resp.status_code == 302
    db.refresh(plan)
    assert plan.status == PlanStatus.published
    html = client.get(f"/courses/plans/{plan.id}").get_data(as_text=True)
    assert 'id="chart-plan-progress"' in html and 'id="plan-progress"' in html and "0 / 40" in html


def test_provincial_plan_another_city_cannot_read_or_write(client, db, world, login_as):
    plan = plans.save_plan(db, world.city_admin, plans.PlanData(
        city_id=world.nantong.id, year=YEAR, syllabus="大纲",
        lines=[plans.LineData("", None, dt.date(YEAR, 5, 1), dt.date(YEAR, 5, 2), "南通", 2)]))
    db.commit()
    fz_admin = factories.make_staff(db, "fz_admin", Role.regulator_admin, region=world.fuzhou)
    db.commit()
    login_as("fz_admin")
    assert client.get(f"/courses/plans/{plan.id}").status_code == 404
    assert client.get(f"/courses/plans/{plan.id}/edit").status_code == 404
    headers = _bearer(db, fz_admin)
    db.commit()
    assert client.get(f"/api/v1/plans/{plan.id}", headers=headers).status_code == 404
    assert client.put(f"/api/v1/plans/{plan.id}", json=_body(world), headers=headers).status_code == 404
    assert client.post(f"/api/v1/plans/{plan.id}/publish", headers=headers).status_code == 404
    assert client.get("/api/v1/plans", headers=headers).get_json()["items"] == []
    resp = client.post("/api/v1/plans", json=_body(world), headers=headers)  # Fuzhou's goals for Rugao
    assert resp.status_code == 422 and "goals-0-county_id" in resp.get_json()["fields"]


def test_provincial_plan_api_checks_drafts_publishes_and_reports(client, db, world):
    headers = _bearer(db, world.city_admin)
    staff = _bearer(db, world.staff_nt)
    db.commit()
    resp = client.post("/api/v1/plans", json=_body(world, lines=[]), headers=headers)
    assert resp.status_code == 422 and "lines" in resp.get_json()["fields"]
    few = _body(world)
    few["lines"][0]["classes"] = 1
    resp = client.post("/api/v1/plans", json=few, headers=headers)
    assert resp.status_code == 422 and "至少 2 期" in resp.get_json()["fields"]["lines"]
    assert client.post("/api/v1/plans", json={"year": "x", "lines": "y"}, headers=headers).status_code == 422
    assert db.scalar(select(func.count(TrainingPlan.id))) == 0
    resp = client.post("/api/v1/plans", json=_body(world), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    plan_id = resp.get_json()["id"]
    assert client.get(f"/api/v1/plans/{plan_id}", headers=staff).status_code == 404  # a draft is the bureau's
    assert client.post(f"/api/v1/plans/{plan_id}/publish", headers=staff).status_code == 403
    resp = client.post(f"/api/v1/plans/{plan_id}/publish", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["status"] == "published"
    got = client.get(f"/api/v1/plans/{plan_id}", headers=staff).get_json()
    rugao = next(r for r in got["progress"] if r["county_code"] == world.rugao.code)
    assert (rugao["trained"], rugao["people_goal"], rugao["enterprises_goal"]) == (0, 30, 10)
    assert client.put(f"/api/v1/plans/{plan_id}", json=_body(world), headers=headers).status_code == 409


def test_provincial_class_form_offers_plan_lines_and_warns_short_hours(client, db, world, login_as):
    prog = cs.programme(db, world)  # 4 hours
    klass = cs.training_class(db, world, prog, sessions=1)
    plan = plans.save_plan(db, world.city_admin, plans.PlanData(
        city_id=world.nantong.id, year=YEAR, syllabus="大纲",
        lines=[plans.LineData("", None, dt.date(YEAR, 5, 1), dt.date(YEAR, 5, 2), "南通", 2)]))
    plans.publish_plan(db, world.city_admin, plan)
    db.commit()
    login_as("nt_staff")
    html = client.get(f"/courses/classes/{klass.id}/edit").get_data(as_text=True)
    assert f'value="{plan.lines[0].id}"' in html and 'id="hours-short"' in html
    assert "课表合计 1 学时，未达到培训方案规定的 4 学时" in html
    assert 'id="hours-short"' in client.get(f"/courses/classes/{klass.id}").get_data(as_text=True)
    headers = _bearer(db, world.staff_nt)
    db.commit()
    item = next(k for k in client.get("/api/v1/classes", headers=headers).get_json()["items"] if k["id"] == klass.id)
    assert item["hours_short"]["timetable_hours"] == 1 and item["hours_short"]["programme_hours"] == 4


def test_provincial_plan_settings_page_shows_the_seed_basis(client, db, world, login_as):
    login_as("js_admin")
    html = client.get("/courses/plan-settings").get_data(as_text=True)
    assert "每年组织培训班两期以上" in html
    resp = post_form(client, "/courses/plan-settings", {"city_programmes": "y", "min_plan_classes": "3",
                                                        "basis_kind": "province"})
    assert resp.status_code == 302
    assert plans.plan_settings(db, world.jiangsu.id).min_plan_classes == 3
    cs.switch_user(client, "nt_admin")
    assert client.get("/courses/plan-settings").status_code == 403


def test_provincial_dashboard_and_filing_show_plan_progress_and_short_hours(client, db, world, login_as):
    prog = cs.programme(db, world)  # 4 hours
    klass = cs.training_class(db, world, prog, sessions=1)
    plan = plans.save_plan(db, world.city_admin, plans.PlanData(
        city_id=world.nantong.id, year=YEAR, syllabus="大纲",
        lines=[plans.LineData("", world.qidong.id, dt.date(YEAR, 5, 1), dt.date(YEAR, 5, 2), "启东", 2)],
        goals=[plans.GoalData(world.qidong.id, 40, 20)]))
    db.commit()
    fz_admin = factories.make_staff(db, "fz_admin", Role.regulator_admin, region=world.fuzhou)
    db.commit()
    login_as("nt_admin")
    html = client.get(f"/reports/dashboard?year={YEAR}").get_data(as_text=True)
    assert f'id="chart-plan-{plan.id}"' in html and f'id="plan-progress-{plan.id}"' in html
    assert "0 / 40" in html and "0 / 2" in html
    assert f'data-class="{klass.id}"' in html and "课表合计 1 学时，未达到培训方案规定的 4 学时" in html
    assert "未达到培训方案规定的 4 学时" in client.get(f"/reports/classes/{klass.id}/filing").get_data(as_text=True)
    cs.switch_user(client, "qd_admin")  # the county sees its own row of its city's plan
    html = client.get(f"/reports/dashboard?year={YEAR}").get_data(as_text=True)
    assert f'id="plan-progress-{plan.id}"' in html and f'data-county="{world.qidong.code}"' in html
    cs.switch_user(client, fz_admin.username)
    html = client.get(f"/reports/dashboard?year={YEAR}").get_data(as_text=True)
    assert f'id="plan-progress-{plan.id}"' not in html and f'data-class="{klass.id}"' not in html
