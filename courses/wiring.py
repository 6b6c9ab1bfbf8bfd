"""How courses plugs into the platform: called once per app by ``lms.features.init_app``."""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from courses import api, completion_rules, demo, eligibility, panels, plan_settings_section, services  # noqa: F401  (api: its routes register on import)
from courses.services import plans as plan_services
from courses.views import attendance, catalogue, checkin, classes, enrolment, plans, programmes, settings_io  # noqa: F401  (their routes)
from courses.views import bp
from courses.settings_transfer import register_section
from lms.completion import completion_rule
from lms.core_views import add_home_panel
from lms.demo import add_seed_hook
from lms.domain import Role
from lms.settingbasis import register_setting
from lms.templating import add_nav


def nav(user) -> list[tuple[str, str]]:
    """The courses entries of the menu, by role."""
    if user.role == Role.trainee:
        return [("courses.my", _("我的培训")), ("courses.classes", _("培训班")), ("courses.catalogue", _("课程"))]
    if user.role == Role.institution_staff:
        return [("courses.classes", _("培训班")), ("courses.catalogue", _("课程")), ("courses.programmes", _("培训方案")),
                ("courses.plans_list", _("培训计划"))]
    return [("courses.programmes", _("培训方案")), ("courses.classes", _("培训班")), ("courses.catalogue", _("课程")),
            ("courses.plans_list", _("培训计划"))]


def init_app(app: Flask) -> None:
    """Register the blueprint (its topic modules are imported above), the navigation, the home panels, the
    completion rules courses owns and the demo data; the API routes were registered when ``api`` was imported."""
    app.register_blueprint(bp)
    add_nav(nav)
    add_home_panel(panels.courses_panels)
    completion_rule("attendance", many=completion_rules.attendance_many)(completion_rules.attendance_rule)
    completion_rule("lessons", many=completion_rules.lessons_many)(completion_rules.lessons_rule)
    add_seed_hook(demo.seed_courses)
    register_settings()
    app.jinja_env.globals["hours_short"] = services.hours_short  # issue 15: the class, filing and dashboard pages
    register_section(plan_settings_section.SECTION)  # the plan settings travel in the province settings file


def register_settings() -> None:
    """The programme's and course's values a province sets: shown with their basis (lms.settingbasis)."""
    register_setting("programmes", "total_hours", _l("总学时"))
    register_setting("programmes", "pass_mark", _l("考试合格分数"))
    register_setting("programmes", "min_attendance_rate", _l("最低出勤率"), show=lambda v: "%d%%" % round(v * 100))
    register_setting("programmes", "certificate_validity_years", _l("证书有效期"), show=lambda v: _("%(n)d 年", n=v),
                     empty=_l("不设有效期（长期有效）"))
    register_setting("courses", "hours", _l("学时"))
    register_setting("eligibility_rule_sets", "rules", _l("报名条件"),
                     show=lambda rules: "；".join(eligibility.describe_group(g) for g in rules))
    register_setting("programmes", "video_done_pct", _l("视频学完比例"), show=lambda v: "%d%%" % v)
    register_setting("programmes", "video_no_skip_ahead", _l("禁止拖动到未看过的位置"), show=lambda v: _("是") if v else _("否"))
    register_setting("programmes", "video_check_minutes", _l("随机提问（防挂机）"),
                     show=lambda v: _("平均每 %(n)d 分钟一次", n=v) if v else _("不提问"))
    register_setting("province_plan_settings", "min_plan_classes", _l("城市年度培训计划最少培训班期数"),
                     show=lambda v: _("%(n)d 期", n=v), default=plan_services.DEFAULT_BASES["min_plan_classes"])
    register_setting("province_plan_settings", "city_programmes", _l("各市可制定本市培训方案"),
                     show=lambda v: _("是") if v else _("否"), default=plan_services.DEFAULT_BASES["city_programmes"])
