"""The province's plan settings (issue 15: whether cities hold their own programmes, the fewest classes a city's
yearly plan lists, with their basis) as a section of the province settings file: exported with the rest, an
import checked field by field, its changes listed before the admin applies them, then saved through
``plans.save_plan_settings``."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from courses.services import plans
from courses.settings_transfer import Section
from lms.orgs.models import Region
from lms.settingbasis import BasisKind

KEY = "plan_settings"


def _values(session: Session, province: Region) -> dict[str, Any]:
    row = plans.plan_settings(session, province.id)
    basis = plans.setting_basis(session, row, "min_plan_classes")
    return {"city_programmes": row.city_programmes, "min_plan_classes": row.min_plan_classes,
            "basis": {"kind": basis.kind.value, "source": basis.source}}


def export(session: Session, province: Region) -> dict:
    """The province's plan settings (the defaults, with seed 003's clause, when it saved none)."""
    return _values(session, province)


def check(raw: Any, errors: dict) -> dict | None:
    """The section read back as ``save_plan_settings``'s arguments, or None with each bad field in ``errors``."""
    if not isinstance(raw, dict):
        errors[KEY] = _("%(k)s：须为培训计划设置（对象）", k=KEY)
        return None
    bad = len(errors)
    if not isinstance(raw.get("city_programmes"), bool):
        errors[f"{KEY}.city_programmes"] = _("%(w)s：须为 true 或 false", w=f"{KEY}.city_programmes")
    n = raw.get("min_plan_classes")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 50:
        errors[f"{KEY}.min_plan_classes"] = _("%(w)s：须为 1 到 50 之间的整数", w=f"{KEY}.min_plan_classes")
    basis = raw.get("basis")
    if not isinstance(basis, dict) or basis.get("kind") not in BasisKind.__members__ \
            or not isinstance(basis.get("source") or "", str) or len(basis.get("source") or "") > 300:
        errors[f"{KEY}.basis"] = _("%(w)s：依据类型须为 source（依据）、province（本省自定）或 example（示例）", w=f"{KEY}.basis")
    elif basis["kind"] == "source" and not (basis.get("source") or "").strip():
        errors[f"{KEY}.basis"] = _("%(w)s：选择“依据”时须填写文件名称及条款", w=f"{KEY}.basis")
    if len(errors) > bad:
        return None
    return {"city_programmes": raw["city_programmes"], "min_plan_classes": n, "basis_kind": basis["kind"],
            "basis_source": (basis.get("source") or "").strip() if basis["kind"] == "source" else ""}


def changes(session: Session, province: Region, value: dict | None) -> list[str]:
    """One line per field the import changes."""
    if value is None:
        return []
    now = _values(session, province)
    lines = []
    if now["city_programmes"] != value["city_programmes"]:
        lines.append(_("培训计划设置：各市可制定本市培训方案 %(a)s → %(b)s", a=_("是") if now["city_programmes"] else _("否"),
                       b=_("是") if value["city_programmes"] else _("否")))
    if now["min_plan_classes"] != value["min_plan_classes"]:
        lines.append(_("培训计划设置：每年最少培训班期数 %(a)d → %(b)d", a=now["min_plan_classes"], b=value["min_plan_classes"]))
    if (now["basis"]["kind"], now["basis"]["source"]) != (value["basis_kind"], value["basis_source"]):
        lines.append(_("培训计划设置：依据 %(a)s → %(b)s",
                       a=now["basis"]["source"] or BasisKind(now["basis"]["kind"]).label,
                       b=value["basis_source"] or BasisKind(value["basis_kind"]).label))
    return lines


def apply(session: Session, actor, province: Region, value: dict | None) -> None:
    """Save the imported plan settings (the province's own admin, as on the settings page)."""
    if value is not None:
        plans.save_plan_settings(session, actor, province, **value)


SECTION = Section(KEY, export, check, changes, apply)
