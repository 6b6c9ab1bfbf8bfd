"""Issue 17: the class page shows the class's frozen content; its staff push a lesson added since, authors retire
a studied lesson; others cannot."""
from sqlalchemy import select

from courses import services
from courses.models import ClassLesson, Lesson
from lms.db import utcnow
from tests import courses_support as cs
from tests.conftest import login, post_form


def test_trainee_class_content_push_and_retire_over_http(app, client, db, world):
    klass = cs.training_class(db, world)
    course = klass.programme.required_courses[0]
    user, _e = cs.admitted(db, world, klass, "frozenweb")
    services.record_progress(db, user, course.lessons[0], utcnow(), completed=True)
    added = services.add_lesson(db, world.sysadmin, course, title="新增专题", kind="text", body_md="正文")
    db.commit()
    other = app.test_client()
    login(other, "fj_staff")
    url = f"/courses/classes/{klass.id}/lessons/{added.id}/push"
    assert post_form(other, url, {}, token_from="/home").status_code in (403, 404)
    login(client, "nt_staff")
    page = client.get(f"/courses/classes/{klass.id}").get_data(as_text=True)
    assert 'id="lessons-to-push"' in page and f'data-lesson="{added.id}"' in page
    assert post_form(client, url, {}, token_from=f"/courses/classes/{klass.id}").status_code == 302
    assert db.scalar(select(ClassLesson.pushed).where(ClassLesson.class_id == klass.id,
                                                      ClassLesson.lesson_id == added.id)) is True
    page = client.get(f"/courses/classes/{klass.id}").get_data(as_text=True)
    assert 'id="lessons-to-push"' not in page and page.count('class="class-lesson"') == 3
    admin = app.test_client()
    login(admin, "sys")
    studied = course.lessons[0].id
    resp = post_form(admin, f"/courses/lessons/{studied}/retire", {}, token_from=f"/courses/catalogue/{course.id}")
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(Lesson, studied).retired_at is not None
    assert "已停用（新开培训班不再包含）" in admin.get(f"/courses/catalogue/{course.id}").get_data(as_text=True)
