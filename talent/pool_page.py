"""The pool list page's fixed parts, rendered once and kept per process (issue 20, fourth round).

A pool page was ~14,700 Python calls, 16 users queue on 2 cores behind them. Two parts of it are the same on
most pages and were rendered anew each time:

- the filter form (its labels, the status, tier, region and star options): kept per language, script root
  and the region options the user may choose (the rows the view reads for the user's scope: a renamed, added or
  removed region is another key, so the form shows it at once in every process; a bureau's scope is its regions);
- a row of the list: its markup kept per language, each row's values escaped into its slots.

Each is a Jinja template rendered once with marker slots (``slot(name)``), then split into static text and
slots; a page fills the slots with its escaped values (``Kept.fill``). The chosen option of each select is put
in by ``Options`` (the options' markup kept per key, one option swapped for its ``selected`` twin), the same
bytes the loop wrote. Labels stay the templates' own ``_()`` calls in the page's language, so i18n is
unchanged; no value of a row is ever part of a kept string.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from flask import current_app, request
from flask_babel import get_locale
from markupsafe import Markup, escape

from lms.domain import Tier
from talent.models import PoolStatus

KEPT_MAX = 256  # kept forms a process holds (languages × scopes × region lists); emptied when full
_MARK = "\x00"  # cannot occur in rendered markup (escape never yields it, templates never hold it)
BADGES = {"active": "bg-success", "warning": "bg-warning text-dark", "lapsed": "bg-secondary", "exited": "bg-dark"}
STARS = (5, 4, 3, 2, 1)


def slot(name: str) -> Markup:
    """A marker for ``name`` in a template rendered once (``Kept``)."""
    return Markup(f"{_MARK}{name}{_MARK}")


class Kept:
    """A rendered template split at its slots: ``parts[0::2]`` static text, ``parts[1::2]`` slot names."""

    __slots__ = ("parts", "names")

    def __init__(self, html: str):
        self.parts = html.split(_MARK)
        self.names = self.parts[1::2]

    def fill(self, values: dict) -> str:
        parts = self.parts[:]
        for i, name in enumerate(self.names):
            parts[2 * i + 1] = values[name]
        return "".join(parts)


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


def _kept() -> dict:
    cache = current_app.extensions.setdefault("talent_pool_page", {})
    if len(cache) >= KEPT_MAX:
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
    """The list's rows (``queries.PoolRow``) as the row template writes them; its markup kept per language. The
    labels are translated once a page, not once a row (each ``.label`` builds its enum's lazy strings)."""
    status_labels, tier_labels = {s: s.label for s in PoolStatus}, {t: t.label for t in Tier}
    key = ("row", str(get_locale() or ""), request.script_root)
    cache = _kept()
    kept = cache.get(key)
    if kept is None:
        kept = cache[key] = Kept(current_app.jinja_env.get_template("talent/_pool_row.html").render(slot=slot) + "\n")
    out = []
    for e in items:
        status = e.status.value
        values = {"id": str(e.id), "name": escape(e.name), "enterprise": escape(e.enterprise_name or "—"),
                  "region": escape(e.region_name), "tier": escape(tier_labels[e.highest_tier]) if e.highest_tier else "—",
                  "status": status, "badge": BADGES[status], "status_label": escape(status_labels[e.status]),
                  "stars": "★" * (e.stars or 0)}
        out.append(kept.fill(values))
    return Markup("".join(out))
