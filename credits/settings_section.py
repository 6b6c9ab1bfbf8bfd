"""The province's CE rule as a section of the province settings file (issue 15: "Also add to the settings
export/import whatever ... is a province setting"): the hours, the report and its due month, the
change-registration period, the pass condition and the first-year rule, with the rule's one basis. Exported
with the rest; an import is checked field by field (the bounds of ``services.rule_errors``), its changes
listed before the admin applies them, then saved through ``services.save_rule``."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from courses.settings_transfer import Section
from credits import queries, services
from lms.orgs.models import Region
from lms.settingbasis import BasisKind, basis_of

KEY = "ce_rule"
INTS = ("required_hours", "professional_min_hours", "report_due_month", "change_registration_days")
BOOLS = ("report_required", "ce_either")


def _labels() -> dict[str, str]:
    return {"required_hours": _("年度继续教育学时"), "professional_min_hours": _("其中专业科目学时"),
            "report_required": _("须提交履职报告"), "report_due_month": _("履职报告截止月份"),
            "change_registration_days": _("变更登记期限"), "ce_either": _("绩效报告或继续教育证明之一即达标"),
            "first_year": _("取得证书或聘任当年"), "basis": _("依据")}


def _values(session: Session, province: Region) -> dict[str, Any]:
    rule = queries.rule_for(session, province.id)
    basis = basis_of(session, rule, "required_hours")
    return {**{f: getattr(rule, f) for f in INTS + BOOLS}, "first_year": rule.first_year,
            "basis": {"kind": basis.kind.value, "source": basis.source}}


def export(session: Session, province: Region) -> dict:
    """The province's rule (the defaults, labelled 示例, when it saved none)."""
    return _values(session, province)


def check(raw: Any, errors: dict) -> dict | None:
    """The section read back as ``save_rule``'s arguments, or None with each bad field in ``errors``."""
    if not isinstance(raw, dict):
        errors[KEY] = _("%(k)s：须为继续教育规则（对象）", k=KEY)
        return None
    bad = len(errors)
    for f in INTS:
        if not isinstance(raw.get(f), int) or isinstance(raw.get(f), bool):
            errors[f"{KEY}.{f}"] = _("%(w)s：须为整数", w=f"{KEY}.{f}")
    for f in BOOLS:
        if not isinstance(raw.get(f), bool):
            errors[f"{KEY}.{f}"] = _("%(w)s：须为 true 或 false", w=f"{KEY}.{f}")
    basis = raw.get("basis")
    if not isinstance(basis, dict) or basis.get("kind") not in BasisKind.__members__ \
            or not isinstance(basis.get("source") or "", str):
        errors[f"{KEY}.basis"] = _("%(w)s：依据类型须为 source（依据）、province（本省自定）或 example（示例）", w=f"{KEY}.basis")
    if len(errors) > bad:
        return None
    value = {f: raw[f] for f in INTS + BOOLS} | {"first_year": str(raw.get("first_year") or ""), "basis_kind": basis["kind"],
                                                  "basis_source": (basis.get("source") or "").strip()}
    wrong = services.rule_errors(**{k: v for k, v in value.items() if k not in BOOLS})
    for f, message in wrong.items():
        where = f"{KEY}.basis" if f.startswith("basis") else f"{KEY}.{f}"
        errors[where] = f"{where}：{message}"
    return None if wrong else value


def changes(session: Session, province: Region, value: dict | None) -> list[str]:
    """One line per field the import changes."""
    if value is None:
        return []
    now, labels = _values(session, province), _labels()
    new = {**{f: value[f] for f in INTS + BOOLS}, "first_year": value["first_year"],
           "basis": {"kind": value["basis_kind"], "source": value["basis_source"] if value["basis_kind"] == "source" else ""}}

    def show(f, v):
        if f == "basis":
            return v["source"] if v["kind"] == "source" else BasisKind(v["kind"]).label
        if f in BOOLS:
            return _("是") if v else _("否")
        if f == "first_year":
            return _("不考核") if v == "exempt" else _("按在任天数折算学时")
        return str(v)
    return [_("继续教育规则：%(f)s %(a)s → %(b)s", f=labels[f], a=show(f, now[f]), b=show(f, new[f]))
            for f in (*INTS, *BOOLS, "first_year", "basis") if now[f] != new[f]]


def apply(session: Session, actor, province: Region, value: dict | None) -> None:
    """Save the imported rule (the province's own admin, as on the rules page)."""
    if value is not None:
        services.save_rule(session, actor, province.id, **value)


SECTION = Section(KEY, export, check, changes, apply)
