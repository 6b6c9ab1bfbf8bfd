"""The evaluation standard as a section of the province settings file (issue 15): the indicator tree, the
grade bands and the flow's settings. An import is checked whole (each bad indicator or band named, as the
forms do), its changes listed before the admin applies them, then saved through ``provincial_eval``."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from courses.settings_transfer import Section, register_section
from lms.orgs.models import Region
from talent.services import provincial_eval as pe

KEY = "evaluation"


def export(session: Session, province: Region) -> dict:
    """The province's tree, bands and settings."""
    st = pe.settings_for(session, province.id)
    return {"indicators": [{"code": n.code, "parent": n.parent, "name": n.name, "weight": n.weight,
                            "max_points": n.max_points, "evidence": n.evidence} for n in pe.export_tree(session, province.id)],
            "bands": [{"low": b.low, "high": b.high, "stars": b.stars, "grade": b.grade}
                      for b in pe.province_bands(session, province.id)],
            "outlier_threshold": st.outlier_threshold, "nomination_min_stars": st.nomination_min_stars}


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def check(raw: Any, errors: dict) -> dict | None:
    """The section read back (nodes, bands, settings), or None with each bad place in ``errors``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("indicators"), list) or not isinstance(raw.get("bands"), list):
        errors[KEY] = _("%(k)s：须含 indicators（指标列表）与 bands（分档列表）", k=KEY)
        return None
    bad = len(errors)
    nodes, bands = [], []
    for i, r in enumerate(raw["indicators"], 1):
        if not isinstance(r, dict) or not isinstance(r.get("code"), str):
            errors[f"{KEY}.indicators[{i}]"] = _("%(w)s：须为含 code 的指标", w=f"{KEY}.indicators[{i}]")
            continue
        nodes.append(pe.Node(r["code"].strip(), str(r.get("parent") or "").strip(), str(r.get("name") or "").strip(),
                             _num(r.get("weight")), _num(r.get("max_points")), str(r.get("evidence") or "")))
    for i, r in enumerate(raw["bands"], 1):
        if not isinstance(r, dict) or None in (_num(r.get("low")), _num(r.get("high"))) or not isinstance(r.get("stars"), int):
            errors[f"{KEY}.bands[{i}]"] = _("%(w)s：分档须有 low、high（数字）与 stars（整数）", w=f"{KEY}.bands[{i}]")
            continue
        bands.append(pe.Band(_num(r["low"]), _num(r["high"]), r["stars"], str(r.get("grade") or "")[:16]))
    if len(errors) > bad:
        return None
    keep_bands = not raw["bands"]  # a province that set no bands exports none: the importer's stay as they are
    for k, msg in {**pe.tree_problems(nodes), **({} if keep_bands else pe.band_problems(bands))}.items():
        errors[f"{KEY}.{k}"] = f"{KEY}：{msg}"
    threshold, min_stars = _num(raw.get("outlier_threshold")), raw.get("nomination_min_stars")
    if threshold is None or not 0 < threshold <= 100:
        errors[f"{KEY}.outlier_threshold"] = _("%(w)s：离群阈值须大于 0 且不超过 100 分", w=f"{KEY}.outlier_threshold")
    if not isinstance(min_stars, int) or not 1 <= min_stars <= 5:
        errors[f"{KEY}.nomination_min_stars"] = _("%(w)s：提名所需星级须为 1 到 5", w=f"{KEY}.nomination_min_stars")
    if len(errors) > bad:
        return None
    return {"nodes": nodes, "bands": None if keep_bands else bands, "outlier_threshold": threshold, "nomination_min_stars": min_stars}


def is_shape_problem(key: str) -> bool:
    """Is the problem at ``key`` one of form (a missing list, a field of the wrong type or out of its range), as
    opposed to the consistency of a well-formed standard (weights, parents, bands)?"""
    return key == KEY or "[" in key or key.endswith(("outlier_threshold", "nomination_min_stars"))


def changes(session: Session, province: Region, value: dict | None) -> list[str]:
    """One line per indicator added, changed or removed, and for the bands and settings."""
    if value is None:
        return []
    now = {n.code: n for n in pe.export_tree(session, province.id)}
    new = {n.code: n for n in value["nodes"]}
    lines = [_("评价指标：新增 %(c)s %(n)s", c=c, n=n.name) for c, n in new.items() if c not in now]
    lines += [_("评价指标：删除 %(c)s %(n)s", c=c, n=n.name) for c, n in now.items() if c not in new]
    lines += [_("评价指标：修改 %(c)s %(n)s", c=c, n=n.name) for c, n in new.items() if c in now and
              (now[c].parent, now[c].name if now[c].parent else n.name, now[c].weight or 0, now[c].max_points or 0, now[c].evidence)
              != (n.parent, n.name, n.weight or 0, n.max_points or 0, n.evidence)]
    old_bands = sorted((b.low, b.high, b.stars, b.grade) for b in pe.province_bands(session, province.id))
    if value["bands"] is not None and old_bands != sorted((b.low, b.high, b.stars, b.grade) for b in value["bands"]):
        lines.append(_("星级分档：%(b)s", b="；".join(f"{b.place} → {b.stars}★" for b in value["bands"])))
    st = pe.settings_for(session, province.id)
    if (st.outlier_threshold, st.nomination_min_stars) != (value["outlier_threshold"], value["nomination_min_stars"]):
        lines.append(_("评价设置：离群阈值 %(t)s 分，提名所需星级 %(s)d", t=f"{value['outlier_threshold']:g}",
                       s=value["nomination_min_stars"]))
    return lines


def apply(session: Session, actor, province: Region, value: dict | None) -> None:
    """Save the imported tree, bands and settings (the province's own admin)."""
    if value is not None:
        pe.load_tree(session, actor, province.id, value["nodes"])
        if value["bands"] is not None:
            pe.save_bands(session, actor, province.id, value["bands"])
        pe.save_settings(session, actor, province.id, value["outlier_threshold"], value["nomination_min_stars"])


def register() -> None:
    """Add the section to the settings file (idempotent)."""
    register_section(Section(KEY, export, check, changes, apply))
