"""Plan vs done per county, drawn (issue 15): the chart the plan page and the bureau's dashboard both show,
through ``lms.charts``, over the figures ``courses.services.plans.plan_vs_done`` computes once."""
from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup

from courses.services.plans import CountyProgress
from lms import charts


def row_name(row: CountyProgress) -> str:
    """The row's county, or the city-wide lines."""
    return row.county.name if row.county is not None else _("市本级（全市集中）")


def _share(done: int, goal: int | None) -> float | None:
    return min(1.0, done / goal) if goal else None


def chart(chart_id: str, title: str, rows: list[CountyProgress]) -> Markup:
    """Per county: the share of its people goal trained, of its enterprise goal covered, of its planned classes
    held (no bar where there is no goal; the table beside it has the numbers)."""
    names = [row_name(r) for r in rows]
    return charts.bar_chart(chart_id, title, names, [
        (_("培训人数完成率"), [_share(r.trained, r.people_goal) for r in rows]),
        (_("企业覆盖完成率"), [_share(r.enterprises, r.enterprises_goal) for r in rows]),
        (_("办班完成率"), [_share(r.held, r.planned) for r in rows]),
    ], percent=True)
