"""How exams plugs into the platform: called once per app by ``lms.features.init_app``. Registers the
blueprint with its topic pages, the API routes, the navigation, the home panels, the completion rule
("exam passed", from ``exams.results``) and the demo data."""
from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exams import api  # noqa: F401  (declares the API routes on the platform's API blueprint)
from exams import banks, demo, fastpath, queries, results
from exams.views import banks as bank_pages  # noqa: F401  (each topic adds its routes to bp)
from exams.views import bp
from exams.views import grading as grading_pages  # noqa: F401
from exams.views import manage as exam_pages  # noqa: F401
from exams.views import results as result_pages  # noqa: F401
from exams.views import trainee as trainee_pages  # noqa: F401
from lms.completion import completion_rule
from lms.core_views import add_home_panel
from lms.db import utcnow
from lms.demo import add_seed_hook
from lms.settingbasis import register_setting
from lms.domain import Role
from lms.templating import SHANGHAI, add_nav


def _nav(user) -> list[tuple[str, str]]:
    """Trainees: their exams; staff: exams, banks and (those who grade) the grading queue."""
    if user.role == Role.trainee:
        return [("exams.my_exams", _("我的考试"))]
    items = [("exams.exam_list", _("考试")), ("exams.bank_list", _("题库"))]
    if user.role in (Role.institution_staff, Role.system_admin):
        items.append(("exams.grading_queue", _("阅卷")))
    return items


def _panels(session, user) -> list[dict]:
    """Trainees: the exams open now; graders: how many short answers wait."""
    if user.role == Role.trainee:
        items = [_("%(t)s（%(c)s 截止）", t=exam.title, c=exam.closes_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"))
                 for exam in queries.open_exams_for_trainee(session, user, utcnow())]
        return [{"title": _("正在开放的考试"), "items": items, "url": url_for("exams.my_exams")}]
    if user.role in (Role.institution_staff, Role.system_admin):
        n = queries.pending_grading_count(session, user)
        return [{"title": _("待阅卷的简答题"), "items": [_("%(n)d 道待评分", n=n)] if n else [],
                 "url": url_for("exams.grading_queue")}]
    return []


def init_app(app: Flask) -> None:
    """Register everything exams adds to the platform (the registries ignore a second registration)."""
    app.register_blueprint(bp)
    fastpath.init_app(app)  # the autosave's happy path answered in front of Flask (issue 20)
    add_nav(_nav)
    add_home_panel(_panels)
    completion_rule("exam", many=results.exam_many)(results.exam_rule)
    add_seed_hook(demo.seed)
    app.jinja_env.globals["option_text"] = banks.option_text
    register_setting("exams", "pass_mark", _l("及格分"))
    # The pass mark a trainee sees is the exam's own, else its programme's, else the platform's 60 (an example).
    register_setting("exams", "effective_pass_mark", _l("及格分"), origin=_pass_mark_origin)


def _pass_mark_origin(exam):
    """Which record's field the exam's effective pass mark comes from (None: the default 60, an example)."""
    if exam.pass_mark is not None:
        return exam, "pass_mark"
    prog = exam.effective_programme
    return (prog, "pass_mark") if prog is not None and prog.pass_mark is not None else None
