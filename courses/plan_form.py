"""A training plan as posted (issue 15): the page's numbered fields (``lines-<i>-<field>``, ``goals-<i>-<field>``)
or the API's JSON arrays, read into ``plans.PlanData``. A value that cannot be read (a date that is not a date, a
number that is not a number) becomes None, so the service names it with its place; nothing is guessed.

Pure functions over the posted values: the view and the API parse, the service checks and saves."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from courses.services.plans import GoalData, LineData, PlanData

LINE_FIELDS = ("industry", "county_id", "starts_on", "ends_on", "place", "classes")
GOAL_FIELDS = ("county_id", "people", "enterprises")
ROW = re.compile(r"^(lines|goals)-(\d{1,3})-(\w+)$")
BLANK_LINES = 3  # empty rows the page offers below the plan's lines


def _date(v: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(v).strip()) if v not in (None, "") else None
    except ValueError:
        return None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    s = str(v if v is not None else "").strip()
    return int(s) if re.fullmatch(r"-?\d{1,9}", s) else None


def _line(raw: dict) -> LineData:
    return LineData(industry=str(raw.get("industry") or "").strip()[:200], county_id=_int(raw.get("county_id")) or None,
                    starts_on=_date(raw.get("starts_on")), ends_on=_date(raw.get("ends_on")),
                    place=str(raw.get("place") or "")[:1000], classes=_int(raw.get("classes")))


def _goal(raw: dict) -> GoalData:
    return GoalData(county_id=_int(raw.get("county_id")), people=_int(raw.get("people")),
                    enterprises=_int(raw.get("enterprises")))


def from_json(city_id: int, body: dict) -> PlanData:
    """The API's plan: ``year``, ``syllabus``, ``lines`` and ``goals`` (arrays of objects)."""
    lines = body.get("lines") if isinstance(body.get("lines"), list) else []
    goals = body.get("goals") if isinstance(body.get("goals"), list) else []
    return PlanData(city_id=city_id, year=_int(body.get("year")), syllabus=str(body.get("syllabus") or ""),
                    lines=[_line(x if isinstance(x, dict) else {}) for x in lines[:101]],
                    goals=[_goal(x if isinstance(x, dict) else {}) for x in goals[:201]])


def from_form(city_id: int, form) -> PlanData:
    """The page's plan: rows left wholly empty are skipped (the blank rows offered for new lines, a county
    without a goal)."""
    rows: dict[tuple[str, int], dict] = {}
    for key in form:
        m = ROW.match(key)
        if m:
            rows.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = form.get(key)
    def filled(kind, values):
        keys = ("industry", "starts_on", "ends_on", "place", "classes") if kind == "lines" else ("people", "enterprises")
        return any(str(values.get(k) or "").strip() for k in keys)
    lines = [_line(v) for (kind, _i), v in sorted(rows.items()) if kind == "lines" and filled(kind, v)]
    goals = [_goal(v) for (kind, _i), v in sorted(rows.items()) if kind == "goals" and filled(kind, v)]
    return PlanData(city_id=city_id, year=_int(form.get("year")), syllabus=str(form.get("syllabus") or ""),
                    lines=lines[:101], goals=goals[:201])
