"""The management forms through the pages: a province admin makes a programme and edits its rules; staff
make a course, open a class and add its timetable. Errors come back on the field, in Chinese."""
import datetime as dt
import json

from sqlalchemy import select

from courses import services
from courses.models import ClassSession, Course, EligibilityRuleSet, Programme, TrainingClass
from lms.templating import today_local
from tests import courses_support as cs
from tests.conftest import post_form


def test_province_admin_makes_a_programme_and_edits_its_rules(client, db, login_as, world):
    course = cs.course(db, world, code="F-01", hours=3)
    rs = services.save_rule_set(db, world.sysadmin, world.jiangsu, "江苏规则", [{"conditions": []}])
    login_as("js_admin")
    url = "/courses/programmes/new"
    resp = post_form(client, url, {"province_id": world.jiangsu.id, "tier": "advanced", "year": "2027", "name": "",
                                   "pass_mark": "60", "min_attendance_pct": "80", "certificate_validity_years": "3",
                                   "eligibility_rule_set_id": rs.id})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-field="name"' in html and 'data-field="course_ids"' in html
    resp = post_form(client, url, {"province_id": world.jiangsu.id, "tier": "advanced", "year": "2027", "name": "2027 提升",
                                   "pass_mark": "70", "min_attendance_pct": "90", "certificate_validity_years": "3",
                                   "requires_lower_tier": "y", "eligibility_rule_set_id": rs.id, "course_ids": [course.id]})
    assert resp.status_code == 302
    prog = db.scalar(select(Programme).where(Programme.name == "2027 提升"))
    assert prog.min_attendance_rate == 0.9 and prog.pass_mark == 70 and prog.total_hours == 3
    edit = f"/courses/rule-sets/{rs.id}/edit"
    resp = post_form(client, edit, {"name": "江苏规则", "rules": "[{oops"})
    assert "JSON 格式错误" in resp.get_data(as_text=True)
    rules = [{"name": "全部", "conditions": [{"type": "quality_years_min", "value": 4}]}]
    assert post_form(client, edit, {"name": "江苏规则2", "rules": json.dumps(rules)}).status_code == 302
    db.refresh(rs)
    assert rs.name == "江苏规则2" and rs.rules == rules
    cs.switch_user(client, "fj_admin")  # another province's admin cannot edit Jiangsu's rules
    resp = post_form(client, edit, {"name": "越权改名", "rules": json.dumps(rules)}, token_from="/courses/programmes")
    assert resp.status_code == 404  # issue 18: the stored province decides; nothing revealed


def test_staff_make_a_course_open_a_class_and_add_a_session(client, db, login_as, world):
    prog = cs.programme(db, world)
    login_as("nt_staff")
    resp = post_form(client, "/courses/catalogue/new", {"code": "new-1", "title": "质量工具", "hours": "2",
                                                        "subject_category": "professional", "compulsory": "y"})
    assert resp.status_code == 302
    assert db.scalar(select(Course).where(Course.code == "NEW-1")).title == "质量工具"
    today = today_local()
    form = {"programme_id": prog.id, "region_id": world.qidong.id, "name": "启东二期", "place": "启东",
            "start_date": (today + dt.timedelta(days=10)).isoformat(), "end_date": (today + dt.timedelta(days=8)).isoformat(),
            "capacity": "30", "enrol_opens_on": today.isoformat(), "enrol_closes_on": (today + dt.timedelta(days=5)).isoformat()}
    resp = post_form(client, "/courses/classes/new", form)
    assert resp.status_code == 200 and "结束日期不能早于开始日期" in resp.get_data(as_text=True)
    form["end_date"] = (today + dt.timedelta(days=12)).isoformat()
    resp = post_form(client, "/courses/classes/new", form)
    assert resp.status_code == 302
    klass = db.scalar(select(TrainingClass).where(TrainingClass.name == "启东二期"))
    url = f"/courses/classes/{klass.id}"
    resp = post_form(client, url, {"date": klass.start_date.isoformat(), "start_time": "09:00", "end_time": "11:00",
                                   "topic": "质量法律制度", "course_id": prog.courses[0].id})
    assert resp.status_code == 302
    sess = db.scalar(select(ClassSession).where(ClassSession.class_id == klass.id))
    assert sess.hours == 2 and sess.topic == "质量法律制度"
    cs.switch_user(client, "fj_staff")
    assert client.get(f"/courses/classes/{klass.id}/edit").status_code == 404
    html = client.get("/courses/classes/new").get_data(as_text=True)
    assert f'value="{prog.id}"' not in html  # Fujian's institution cannot pick a Jiangsu programme


def test_province_admin_creates_a_rule_set(client, db, login_as, world):
    login_as("fj_admin")
    html = client.get("/courses/rule-sets/new").get_data(as_text=True)
    assert "education_min" in html  # prefilled with the default rules to edit
    rules = [{"name": "全部企业", "conditions": [{"type": "quality_years_min", "value": 2}]}]
    resp = post_form(client, "/courses/rule-sets/new", {"province_id": world.fujian.id, "name": "福建试行", "rules": json.dumps(rules)})
    assert resp.status_code == 302
    rs = db.scalar(select(EligibilityRuleSet).where(EligibilityRuleSet.name == "福建试行"))
    assert rs.province_id == world.fujian.id and rs.rules == rules
