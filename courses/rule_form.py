"""The rule-set editor's form (issue 15: a bureau edits a rule set in a form, not as raw JSON): the expression
tree flattened into numbered fields and read back, the editor's add/remove actions, and the preview's sample
profile. Field names carry the node's place: ``n-2.1.3-type`` is group 2, its first condition, that
condition's third part; ``g2-name``/``g2-sizes``/``g2-region`` describe group 2.

Pure functions over the posted values: the view parses, the services validate and save."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from courses import eligibility
from courses.eligibility import ENUM_OF, GROUP_TYPES, Facts
from lms.domain import EducationLevel, QualityQualification, SizeClass, TitleLevel

NODE = re.compile(r"^n-(\d{1,3}(?:\.\d{1,3}){1,8})-type$")
GROUP = re.compile(r"^g(\d{1,3})-name$")
INT_TYPES = ("quality_years_min", "age_min", "age_max")
NEW_CONDITION = {"type": "education_min", "value": "junior_college"}


def _key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split("."))


def _place(path: tuple[int, ...]) -> str:
    return _("第 %(n)d 组", n=path[0]) + _("条件") + "-".join(str(p) for p in path[1:])


def _leaf_from(form, path: str, t: str, errors: list[str]) -> dict:
    node: dict[str, Any] = {"type": t}
    raw = (form.get(f"n-{path}-value") or "").strip()[:64]
    if t in ENUM_OF:
        node["value"] = raw
    elif t in INT_TYPES:
        if not re.fullmatch(r"\d{1,3}", raw):
            errors.append(_("%(where)s：请填写整数（当前“%(v)s”）", where=_place(_key(path)), v=raw[:20]))
        node["value"] = int(raw) if re.fullmatch(r"\d{1,3}", raw) else raw
    elif t == "enterprise_size":
        node["values"] = [v for v in form.getlist(f"n-{path}-values") if v]
    elif t == "industry":
        node["values"] = [v.strip() for v in re.split(r"[,，、;；]", raw) if v.strip()]
    return node


def rules_from_form(form) -> tuple[list, list[str]]:
    """The rule tree the posted fields describe, and what could not be read (each message names its place);
    the structure is checked afterwards by validate_rules."""
    errors: list[str] = []
    groups = sorted(int(m.group(1)) for k in form.keys() if (m := GROUP.match(k)))
    paths = sorted((m.group(1) for k in form.keys() if (m := NODE.match(k))), key=_key)
    nodes: dict[tuple[int, ...], dict] = {}
    rules, by_group = [], {}
    for gi in groups:
        group: dict[str, Any] = {"name": (form.get(f"g{gi}-name") or "").strip()[:64]}
        if sizes := [s for s in form.getlist(f"g{gi}-sizes") if s]:
            group["sizes"] = sizes
        if region := (form.get(f"g{gi}-region") or "").strip():
            group["region"] = region
        group["conditions"] = []
        rules.append(group)
        by_group[gi] = group
    for path in paths:
        key = _key(path)
        t = form.get(f"n-{path}-type")
        if t not in eligibility.CONDITION_TYPES:
            errors.append(_("%(where)s：未知的条件类型“%(t)s”", where=_place(key), t=(t or "")[:20]))
            continue
        node = {"type": t, "conditions": []} if t in ("all_of", "any_of") else ({"type": t} if t == "not" else _leaf_from(form, path, t, errors))
        nodes[key] = node
        parent = nodes.get(key[:-1]) if len(key) > 2 else by_group.get(key[0])
        if parent is None:
            continue  # the part of a removed branch
        if len(key) == 2:
            parent["conditions"].append(node)
        elif parent["type"] in ("all_of", "any_of"):
            parent["conditions"].append(node)
        elif parent["type"] == "not" and "condition" not in parent:
            parent["condition"] = node
    return rules, errors


def children(obj: dict) -> list:
    """The parts of a branch (a group counts as "all of" its conditions); none for a leaf."""
    if obj.get("type") == "not":
        return [obj["condition"]] if "condition" in obj else []
    return obj.setdefault("conditions", []) if obj.get("type", "all_of") in ("all_of", "any_of") else []


def _find(rules: list, key: tuple[int, ...]) -> tuple[dict | None, dict | None]:
    """The node (or group) at ``key`` and what holds it; (None, None) when there is none."""
    if not 1 <= key[0] <= len(rules):
        return None, None
    parent, node = None, rules[key[0] - 1]
    for i in key[1:]:
        kids = children(node)
        if not 1 <= i <= len(kids):
            return None, None
        parent, node = node, kids[i - 1]
    return node, parent


def apply_action(rules: list, op: str) -> list:
    """The editor's buttons: add a group, add a condition to a group or a branch, remove either."""
    if op == "addgroup":
        rules.append({"name": "", "conditions": [dict(NEW_CONDITION)]})
    elif m := re.fullmatch(r"delgroup:(\d{1,3})", op):
        if 1 <= int(m.group(1)) <= len(rules):
            rules.pop(int(m.group(1)) - 1)
    elif m := re.fullmatch(r"add:(\d{1,3}(?:\.\d{1,3}){0,8})", op):
        node, _parent = _find(rules, _key(m.group(1)))
        if node is not None and node.get("type", "all_of") in ("all_of", "any_of"):
            children(node).append(dict(NEW_CONDITION))
        elif node is not None and node["type"] == "not" and "condition" not in node:
            node["condition"] = dict(NEW_CONDITION)
    elif m := re.fullmatch(r"del:(\d{1,3}(?:\.\d{1,3}){1,8})", op):
        node, parent = _find(rules, _key(m.group(1)))
        if parent is not None and parent.get("type") == "not":
            parent.pop("condition", None)
        elif parent is not None:
            children(parent).pop(_key(m.group(1))[-1] - 1)
    return rules


def value_choices(t: str) -> list[tuple[str, str]]:
    """The options of a condition's value select."""
    return [(m.value, m.label) for m in ENUM_OF[t]] if t in ENUM_OF else []


SAMPLE_FIELDS = ("s-education", "s-title", "s-qualification", "s-years", "s-age", "s-size", "s-industry")


def sample_from_form(form, region_path: str) -> tuple[Facts, dict[str, str]]:
    """The preview's sample profile (defaults where a field is left out) and the values to show back."""
    raw = {k: (form.get(k) or "").strip() for k in SAMPLE_FIELDS}
    shown = {"s-education": raw["s-education"] if raw["s-education"] in EducationLevel.__members__ else "bachelor",
             "s-title": raw["s-title"] if raw["s-title"] in TitleLevel.__members__ else "intermediate",
             "s-qualification": raw["s-qualification"] if raw["s-qualification"] in QualityQualification.__members__ else "none",
             "s-years": raw["s-years"] if re.fullmatch(r"\d{1,2}", raw["s-years"]) else "5",
             "s-age": raw["s-age"] if re.fullmatch(r"\d{1,2}", raw["s-age"]) else "40",
             "s-size": raw["s-size"] if raw["s-size"] in SizeClass.__members__ else "medium",
             "s-industry": raw["s-industry"][:64]}
    facts = Facts(EducationLevel(shown["s-education"]), TitleLevel(shown["s-title"]),
                  QualityQualification(shown["s-qualification"]), int(shown["s-years"]), int(shown["s-age"]),
                  SizeClass(shown["s-size"]), shown["s-industry"], region_path)
    return facts, shown
