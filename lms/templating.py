"""Template globals and filters: local time, pagination, role navigation."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_request_context, request, url_for
import flask_babel
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_dt(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time shown in China's time zone (the ``local_dt`` filter)."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def today_local() -> dt.date:
    """Today's date in China (the platform's clock, ``lms.clock``)."""
    return clock.now().astimezone(SHANGHAI).date()


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url(self, page: int) -> str:
        args = dict(request.args)
        args["page"] = page
        return url_for(request.endpoint, **(request.view_args or {}), **args)


def paginate(session: Session, stmt, page: int | None = None, per_page: int = 20) -> Page:
    """Run ``stmt`` one page at a time: a COUNT and one page of rows, two statements."""
    if page is None:
        page = request.args.get("page", 1, type=int) or 1
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total)


_nav_providers: list = []

# Navigation groups by the package that provides the entries, in menu order; None = a top-level link.
# A group with a single entry for the user shows as a plain link.
NAV_GROUPS: list[tuple[str, str, object]] = [
    ("lms.orgs", "orgs", _l("机构与人员")),
    ("courses", "courses", _l("培训")),
    ("exams", "exams", _l("考试")),
    ("certificates", "certificates", _l("证书")),
    ("talent", "talent", _l("人才库")),
    ("credits", "credits", _l("继续教育")),
    ("reports", "reports", _l("报备与统计")),
    ("lms.jobs", "system", _l("系统")),
    ("lms.notifications", "notifications", None),
]


def add_nav(fn):
    """Features add navigation entries: ``fn(user) -> list[(endpoint, label)]``; the menu groups them by
    the providing package (NAV_GROUPS)."""
    if fn not in _nav_providers:  # a feature's init_app runs once per app; register once per process
        _nav_providers.append(fn)
    return fn


@dataclass
class NavGroup:
    key: str
    label: str | None
    items: list[tuple[str, str]]


def nav_groups() -> list[NavGroup]:
    """The signed-in user's menu: every provider's entries, grouped by package (``NAV_GROUPS``)."""
    if not current_user.is_authenticated:
        return []
    groups: dict[str, NavGroup] = {}
    order = {key: i for i, (_m, key, _l2) in enumerate(NAV_GROUPS)}
    for fn in _nav_providers:
        entries = fn(current_user)
        if not entries:
            continue
        key, label = fn.__module__.split(".")[0], None
        for prefix, k, lab in NAV_GROUPS:
            if fn.__module__ == prefix or fn.__module__.startswith(prefix + "."):
                key, label = k, (str(lab) if lab is not None else None)
                break
        groups.setdefault(key, NavGroup(key, label, [])).items.extend(entries)
    return sorted(groups.values(), key=lambda g: order.get(g.key, len(order)))


NAV_CACHE_MAX = 512  # menus a process keeps (role × organisation × language); cleared when full


def nav_key(user) -> tuple:
    """What a menu depends on: the providers read the user's role and organisation (a province's bureau sees
    its rules, a county's does not), so a change of role or organisation gives another key at once. A hot
    path's light user (e.g. ``exams.views.trainee.SignedInTrainee``: id and role) has no organisation."""
    return (user.role, getattr(user, "region_id", None), getattr(user, "institution_id", None),
            getattr(user, "enterprise_id", None), str(get_locale() or ""),
            request.script_root if has_request_context() else "")


def nav_menu() -> Markup:
    """The signed-in user's menu entries as HTML (issue 20): built once per role, organisation and language
    per process (``nav_key``) instead of on every page: ``nav_groups`` calls every provider and the menu
    builds ~30 URLs, about a fifth of a pool list page's Python. Empty when nobody is signed in."""
    if not current_user.is_authenticated:
        return Markup("")
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("lms_nav_menus", {})
    key = nav_key(current_user)
    html = cache.get(key)
    if html is None:
        if len(cache) >= NAV_CACHE_MAX:
            cache.clear()
        html = cache[key] = Markup(app.jinja_env.get_template("_nav_menu.html").render(groups=nav_groups()))
    return html


def request_translations():
    """The request's gettext catalogue, looked up once per request and locale. Flask-Babel resolves the domain,
    the locale's name and its catalogue cache on every ``_()``; a page calls it 20-100 times, which cost about a
    third of rendering the certificate verification page. ``flask_babel.refresh()`` gives a new locale object,
    so a language switch within a request is still seen. Issue 20 (the pool page): the locale is compared on
    Flask-Babel's own per-context namespace (``g._flask_babel.babel_locale``, which ``get_locale`` fills and
    ``refresh``/``force_locale`` replace) instead of calling ``get_locale`` for every ``_()``: ~10 Python calls
    each, ~30 a page."""
    cached = g.get("_lms_translations")
    if cached is not None and getattr(cached[2], "babel_locale", None) is cached[0]:
        return cached[1]
    locale = get_locale()
    translations = flask_babel.get_translations()
    g._lms_translations = (locale, translations, g.get("_flask_babel"))
    return translations


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_dt
    # The same callables Flask-Babel installs, over the per-request catalogue above.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["nav_groups"] = nav_groups
    app.jinja_env.globals["nav_menu"] = nav_menu

    @app.context_processor
    def _ctx():
        loc = str(get_locale() or "zh_Hans_CN")
        return {
            "html_lang": "en" if loc.startswith("en") else "zh-CN",
            "current_locale": loc,
            "languages": app.config["LANGUAGES"],
        }
