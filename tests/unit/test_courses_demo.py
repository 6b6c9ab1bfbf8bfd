"""The demo seed: rule sets, a programme per tier and province, the curriculum with real lesson text, a
running class with enrolments; twice changes nothing."""
import datetime as dt

from sqlalchemy import func, select

from courses.models import Course, EligibilityRuleSet, Enrollment, EnrollmentStatus, Lesson, LessonKind, Programme, TrainingClass
from lms import demo


def test_seed_is_complete_and_idempotent(app, db):
    today = dt.date(2026, 11, 22)
    with app.app_context():
        first = demo.seed(db, today)
        second = demo.seed(db, today)
    assert first["programmes"] == 6 and first["courses"] == 10 and first["classes"] == 1
    assert second.get("programmes", 0) == 0 and second.get("classes", 0) == 0 and second.get("courses", 0) == 0
    assert db.scalar(select(func.count(EligibilityRuleSet.id))) == 2
    assert db.scalar(select(func.count(Programme.id)).where(Programme.year == 2026)) == 6
    titles = set(db.scalars(select(Course.title).where(Course.compulsory.is_(True))))
    assert {"国家质量发展政策", "质量法律制度", "企业首席质量官制度", "企业质量战略管理", "企业质量文化建设",
            "企业质量管理体系建设", "质量经济性分析", "品牌管理"} == titles
    texts = db.scalars(select(Lesson.body_md).where(Lesson.kind == LessonKind.text)).all()
    assert all(len(t) > 120 and t.count("\n\n") >= 3 for t in texts)
    assert db.scalar(select(func.count(Lesson.id)).where(Lesson.kind == LessonKind.pdf)) == 1
    klass = db.scalar(select(TrainingClass))
    assert klass.institution.name == "南通市质量技术培训中心" and len(klass.sessions) == 8
    statuses = db.scalars(select(Enrollment.status).where(Enrollment.class_id == klass.id)).all()
    assert statuses.count(EnrollmentStatus.approved) == 4 and statuses.count(EnrollmentStatus.applied) == 1
