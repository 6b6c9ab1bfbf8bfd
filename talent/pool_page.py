"""The pool list page's fixed parts, rendered once and kept per process (issue 20, fourth round).

A pool page was ~14,700 Python calls, 16 users queue on 2 cores behind them. Two parts of it are the same on
most pages and were rendered anew each time:

- the filter form (its labels, the status, tier, region and star options): kept per language, script root
  and the region options the user may choose (the rows the view reads for the user's scope: a renamed, added or
  removed region is another key, so the form shows it at once in every process; a bureau's scope is its regions);
- a row of the list: its markup kept per language, each row's values escaped into its slots.

Fifth round: base.html around the list (``framed``), kept per language and user, with the CSRF token, the
language form's ``next``, the menu and the content block as its slots; the rows' labels escaped once a language.

Sixth round: the content block itself (``content``), kept per language and shape (rows or none, the pager's
links, capped), with the export link, the form, the rows, the page number, the pages and the total as slots.

Each is a Jinja template rendered once with marker slots (``slot(name)``), then split into static text and
slots; a page fills the slots with its escaped values (``Kept.fill``). The chosen option of each select is put
in by ``Options`` (the options' markup kept per key, one option swapped for its ``selected`` twin), the same
bytes the loop wrote. Labels stay the templates' own ``_()`` calls in the page's language, so i18n is
unchanged; no value of a row is ever part of a kept string.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Iterable, Sequence

from flask import before_render_template, current_app, render_template, request, session, template_rendered
from flask_babel import get_locale
from markupsafe import Markup, escape

from lms.domain import Tier
from talent.models import PoolStatus

KEPT_MAX = 256  # kept forms a process holds (languages × scopes × region lists); emptied when full
FRAMES_MAX = 1_024  # kept page frames a process holds (languages × bureau users); emptied when full
_MARK = "\x00"  # cannot occur in rendered markup (escape never yields it, templates never hold it)
BADGES = {"active": "bg-success", "warning": "bg-warning text-dark", "lapsed": "bg-secondary", "exited": "bg-dark"}
STARS = (5, 4, 3, 2, 1)


def slot(name: str) -> Markup:
    """A marker for ``name`` in a template rendered once (``Kept``)."""
    return Markup(f"{_MARK}{name}{_MARK}")


class Kept:
    """A rendered template split at its slots: its static text as one %-format, its slots' names in order (issue
    20, fifth round: a row is one ``%`` of its values, picked by one ``itemgetter``, not a loop over its slots)."""

    __slots__ = ("format", "names", "pick")

    def __init__(self, html: str):
        parts = html.split(_MARK)
        self.names = parts[1::2]
        self.format = "%s".join(p.replace("%", "%%") for p in parts[0::2])
        pick = itemgetter(*self.names) if self.names else (lambda _values: ())
        self.pick = pick if len(self.names) != 1 else (lambda values, _get=pick: (_get(values),))

    def fill(self, values: dict) -> str:
        return self.format % self.pick(values)


class Options:
    """A select's ``<option>``s as the template's loop wrote them, kept; ``html(chosen)`` marks the option whose
    value equals ``chosen`` (compared as the loop compared: the same value, as text) ``selected``."""

    __slots__ = ("plain", "parts", "chosen", "index")

    def __init__(self, pairs: Iterable[tuple[object, str]]):
        pairs = list(pairs)
        self.parts = [f'<option value="{escape(v)}" >{escape(label)}</option>' for v, label in pairs]
        self.chosen = [f'<option value="{escape(v)}" selected>{escape(label)}</option>' for v, label in pairs]
        self.index = {str(v): i for i, (v, _label) in enumerate(pairs)}
        self.plain = "".join(self.parts)

    def html(self, chosen) -> str:
        i = self.index.get(str(chosen)) if chosen not in (None, "") else None
        if i is None:
            return self.plain
        return "".join(self.parts[:i]) + self.chosen[i] + "".join(self.parts[i + 1:])


def _kept(name: str = "talent_pool_page", limit: int = KEPT_MAX) -> dict:
    cache = current_app.extensions.setdefault(name, {})
    if len(cache) >= limit:
        cache.clear()
    return cache


def filter_form(regions: Sequence[tuple[int, str]], sel: dict, q: str) -> Markup:
    """The pool list's filter form with this page's values: ``regions`` the (id, name) rows the user may choose,
    ``sel`` the chosen status, tier, region, stars and enterprise, ``q`` the name searched."""
    # The region rows are tuples: the key holds the ids and names shown, so a renamed region is another key.
    key = ("form", str(get_locale() or ""), request.script_root, tuple(regions))
    cache = _kept()
    kept = cache.get(key)
    if kept is None:
        labels = {"status": {s: s.label for s in PoolStatus}, "tier": {t: t.label for t in Tier}}
        kept = cache[key] = (
            Kept(current_app.jinja_env.get_template("talent/_pool_filter.html").render(slot=slot)),
            Options((s.value, labels["status"][s]) for s in PoolStatus),
            Options((t.value, labels["tier"][t]) for t in Tier),
            Options((rid, name) for rid, name in regions),
            Options((s, "★" * s) for s in STARS))
    form, status, tier, region, stars = kept
    return Markup(form.fill({"q": escape(q), "enterprise": escape(sel["enterprise"]), "status": status.html(sel["status"]),
                             "tier": tier.html(sel["tier"]), "region": region.html(sel["region"]),
                             "stars": stars.html(sel["stars"])}))


def rows(items: Sequence) -> Markup:
    """The list's rows (``queries.PoolRow``) as the row template writes them; its markup and the status and tier
    labels, escaped, kept per language (issue 20, fifth round: a page translated its 8 labels and escaped two of
    them a row, ~40 lazy strings through Flask-Babel: ~400 Python calls a page)."""
    key = ("row", str(get_locale() or ""), request.script_root)
    cache = _kept()
    kept = cache.get(key)
    if kept is None:
        kept = cache[key] = (
            Kept(current_app.jinja_env.get_template("talent/_pool_row.html").render(slot=slot) + "\n"),
            # A status without a badge colour (suspended) has none, as the list's template wrote it before issue 20
            # (since 9edd307 such a row raised a KeyError: the page was a 500).
            {s: {"status": s.value, "badge": BADGES.get(s.value, ""), "status_label": escape(s.label)} for s in PoolStatus},
            {t: escape(t.label) for t in Tier})
    row, statuses, tiers = kept
    out = []
    for e in items:
        values = {"id": str(e.id), "name": escape(e.name), "enterprise": escape(e.enterprise_name or "—"),
                  "region": escape(e.region_name), "tier": tiers[e.highest_tier] if e.highest_tier else "—",
                  "stars": "★" * (e.stars or 0), **statuses[e.status]}
        out.append(row.fill(values))
    return Markup("".join(out))


class _RequestStub:
    """What base.html reads of ``request`` for the language form's ``next`` field, as a slot (``framed``)."""

    query_string = b"?"
    full_path = path = slot("next")


def framed(name: str, context: dict) -> str:
    """``render_template(name, **context)`` for the pool list (issue 20, fifth round): base.html around the
    ``content`` block — the head, the navigation bar, the user's menu, the footer and the scripts, ~2,000 Python
    calls a page — kept per template, language, script root and user (id, name shown, role), with four slots
    filled each request: the CSRF token (both forms), the language form's ``next``, the menu (``nav_menu``, kept
    per role, organisation and language) and the block rendered alone. The same context processors and signals
    run. A request with flashed messages waiting gets the whole template (base.html shows them); a frame is kept
    only if its first fill equals the whole template's rendering, else that key is always rendered whole. Anything
    base.html shows that changes between two requests of a user (a nonce, a time) must be one more slot here:
    the first-fill check cannot see it (tests/web/test_perf_22_pool_statements.py compares the pages)."""
    if session.get("_flashes"):  # base.html shows them: the whole template (its context processors run once)
        return render_template(name, **context)
    app = current_app._get_current_object()  # noqa: SLF001 (Flask's own idiom for the signals' sender)
    template = app.jinja_env.get_or_select_template(name)
    app.update_template_context(context)
    before_render_template.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    user = context["current_user"]
    key = ("frame", name, str(get_locale() or ""), request.script_root, user.id, user.display_name, user.role)
    cache = _kept("talent_pool_frames", FRAMES_MAX)
    frame = cache.get(key)
    env = app.jinja_env
    values = {"csrf": escape(env.globals["csrf_token"]()), "nav": env.globals["nav_menu"](),
              "next": escape(request.full_path if request.query_string else request.path),
              "content": content(template, context)}
    if frame is None:
        frame = cache[key] = _frame(template, context, values)
    page = frame.fill(values) if frame else template.render(context)
    template_rendered.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    return page


def _frame(template, context: dict, values: dict) -> Kept | bool:
    """``framed``'s frame of ``template``: rendered with its slots for ``values``' names, kept if its fill equals
    the whole template's rendering with this request's values; False (render whole) otherwise."""
    env = template.environment
    outer = template.new_context({**context, "csrf_token": lambda: slot("csrf"), "nav_menu": lambda: slot("nav"),
                                  "request": _RequestStub})
    outer.blocks["content"] = [lambda _ctx: iter((slot("content"),))]
    frame = Kept(env.concat(template.root_render_func(outer)))
    if set(frame.names) != set(values):
        return False
    return frame if frame.fill(values) == template.render(context) else False


# The numbers a shape's content block is rendered with once, found again in its text and made slots: no page
# shows them (a page's count stops at POOL_MAX_ROWS), and ``%(n)d`` in a translated message writes them as digits.
_NUMBERS = {"p": 9_137_000_001, "n": 9_137_000_002, "t": 9_137_000_003}


class _PageStub:
    """What pool.html's content block and the pager macro read of a ``Page`` of one shape (``content``): its
    numbers are ``_NUMBERS``, its previous and next links slots. A pager that loops over its pages (a window of
    page links) must not be given these numbers: its window would be part of the shape, its numbers slots."""

    def __init__(self, shape: tuple):
        items, several, self.has_prev, self.has_next, self.capped = shape
        self.items = (None,) if items else ()
        self.page, self.total = _NUMBERS["p"], _NUMBERS["t"]
        self.pages = _NUMBERS["n"] if several else 1

    @staticmethod
    def url(page: int) -> Markup:
        return slot("prev" if page < _NUMBERS["p"] else "next")


def content(template, context: dict) -> Markup:
    """pool.html's ``content`` block for this page (issue 20, sixth round: rendered each page it was ~1,400
    Python calls, the pager macro ~420), kept per template, language, script root and shape (rows or none, one
    page or several, a previous and a next page, capped): its fixed text once, with the export link, the filter
    form, the rows, the page number, the pages, the total and the pager's links filled into slots. A shape's first
    fill is compared with the block rendered whole; a shape that differs is always rendered whole."""
    page = context["page"]
    shape = (bool(page.items), page.pages > 1, page.has_prev, page.has_next, bool(page.capped))
    key = ("content", template.name, str(get_locale() or ""), request.script_root, shape)
    cache = _kept()
    kept = cache.get(key)
    values = {"export": escape(context["export_url"]), "filter_form": context["filter_form"], "rows": context["rows"],
              "p": str(page.page), "n": str(page.pages), "t": str(page.total)}
    if page.has_prev:
        values["prev"] = escape(page.url(page.page - 1))
    if page.has_next:
        values["next"] = escape(page.url(page.page + 1))
    if kept is None:
        kept = cache[key] = _content(template, context, shape, values)
    if kept:
        return Markup(kept.fill(values))
    return _whole_content(template, context)


def _whole_content(template, context: dict) -> Markup:
    return Markup(template.environment.concat(template.blocks["content"](template.new_context(context))))


def _content(template, context: dict, shape: tuple, values: dict) -> Kept | bool:
    """``content``'s block of ``template`` for ``shape``: rendered with a stub page and slots, kept if its fill
    with ``values`` equals the block rendered whole with this request's context; False (render whole) otherwise."""
    stub = template.new_context({**context, "page": _PageStub(shape), "export_url": slot("export"),
                                 "filter_form": slot("filter_form"), "rows": slot("rows")})
    html = template.environment.concat(template.blocks["content"](stub))
    for name, number in _NUMBERS.items():
        html = html.replace(str(number), slot(name))
    kept = Kept(html)
    if not set(kept.names) <= set(values):
        return False
    return kept if kept.fill(values) == _whole_content(template, context) else False
