"""A province's settings as one JSON file (issue 15): export, read and check an import field by field (a
Chinese message naming each bad field), show what applying would change, and apply — so a province can copy
another's set-up and review it first. The file holds the tier organisation (lms.orgs.tiers) and the
eligibility rule sets, each with its basis (依据 / 本省自定 / 示例)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import eligibility
from courses.models import EligibilityRuleSet
from courses.services.programmes import save_rule_set
from lms import audit
from lms.domain import RegionLevel, Tier
from lms.errors import ValidationFailed
from lms.orgs import tiers
from lms.orgs.models import Region
from lms.settingbasis import BasisKind, basis_json

FORMAT = "cqo-province-settings/1"
MAX_BYTES = 512 * 1024


@dataclass
class Parsed:
    """An import that passed every check: what ``apply_settings`` writes."""

    tiers: dict[str, tuple[str, str]]
    tiers_basis: tuple[str, str]
    rule_sets: list[tuple[str, list, tuple[str, str]]] = field(default_factory=list)


def export_settings(session: Session, province: Region) -> dict:
    """The province's settings as the file an import reads back."""
    plan = tiers.plan(session, province.id)
    first = plan[0].row if plan else None
    rule_sets = session.scalars(select(EligibilityRuleSet).where(EligibilityRuleSet.province_id == province.id)
                                .order_by(EligibilityRuleSet.id))
    return {
        "format": FORMAT, "province": province.code, "province_name": province.name,
        "tiers": [{"tier": p.tier.value, "bureau_level": p.bureau_level.value,
                   "prerequisite": p.prerequisite.value if p.prerequisite else None} for p in plan],
        "tiers_basis": basis_json(session, first, "bureau_level") if first else {"kind": "example", "source": ""},
        "rule_sets": [{"name": rs.name, "rules": rs.rules, "basis": basis_json(session, rs, "rules")} for rs in rule_sets],
    }


def read_file(data: bytes) -> dict:
    """The file's JSON object, or ValidationFailed on ``file`` saying what is wrong and where."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed({"file": _("文件不能超过 %(n)d KB", n=MAX_BYTES // 1024)})
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationFailed({"file": _("文件须为 UTF-8 编码的 JSON")})
    except json.JSONDecodeError as exc:
        raise ValidationFailed({"file": _("JSON 格式错误：第 %(l)d 行第 %(c)d 列", l=exc.lineno, c=exc.colno)})
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValidationFailed({"file": _("不是本系统导出的省级设置文件（format 应为 %(f)s）", f=FORMAT)})
    return doc


def _basis(raw, where: str, errors: dict) -> tuple[str, str]:
    if not isinstance(raw, dict) or raw.get("kind") not in BasisKind.__members__:
        errors[f"{where}.kind"] = _("%(w)s：依据类型须为 source（依据）、province（本省自定）或 example（示例）", w=where)
        return ("example", "")
    source = raw.get("source") or ""
    if not isinstance(source, str) or len(source) > 300:
        errors[f"{where}.source"] = _("%(w)s：依据文件及条款须为不超过 300 字的文字", w=where)
        return ("example", "")
    if raw["kind"] == "source" and not source.strip():
        errors[f"{where}.source"] = _("%(w)s：选择“依据”时须填写文件名称及条款", w=where)
    return (raw["kind"], source)


def _check_tiers(doc: dict, errors: dict) -> dict[str, tuple[str, str]]:
    rows = doc.get("tiers")
    if not isinstance(rows, list) or len(rows) != len(Tier):
        errors["tiers"] = _("tiers：须列出全部 %(n)d 个层级", n=len(Tier))
        return {}
    out: dict[str, tuple[str, str]] = {}
    for i, row in enumerate(rows, 1):
        where = f"tiers[{i}]"
        if not isinstance(row, dict) or row.get("tier") not in Tier.__members__ or row["tier"] in out:
            errors[f"{where}.tier"] = _("%(w)s：层级须为 basic、advanced、senior 之一且不重复", w=where)
            continue
        level, pre = row.get("bureau_level"), row.get("prerequisite") or ""
        if level not in RegionLevel.__members__:
            errors[f"{where}.bureau_level"] = _("%(w)s：监管部门层级须为 province、city、county 之一", w=where)
        if pre and pre not in Tier.__members__:
            errors[f"{where}.prerequisite"] = _("%(w)s：先修层级须为 basic、advanced、senior 之一或留空", w=where)
        out[row["tier"]] = (level or "", pre if isinstance(pre, str) else "")
    return out


def check_settings(doc: dict) -> Parsed:
    """Check every field of an import; ValidationFailed lists each bad field with where it is."""
    errors: dict[str, str] = {}
    plan = _check_tiers(doc, errors)
    parsed = Parsed(plan, _basis(doc.get("tiers_basis"), "tiers_basis", errors))
    sets = doc.get("rule_sets")
    if not isinstance(sets, list):
        errors["rule_sets"] = _("rule_sets：须为报名条件规则集的列表")
        sets = []
    names = set()
    for i, rs in enumerate(sets, 1):
        where = f"rule_sets[{i}]"
        name = rs.get("name") if isinstance(rs, dict) else None
        if not isinstance(name, str) or not 2 <= len(name.strip()) <= 128 or name.strip() in names:
            errors[f"{where}.name"] = _("%(w)s：名称须为 2-128 字且不重复", w=where)
            continue
        names.add(name.strip())
        try:
            eligibility.validate_rules(rs.get("rules"))
        except ValidationFailed as exc:
            errors[f"{where}.rules"] = f"{where}（{name}）：{exc.errors['rules']}"
        parsed.rule_sets.append((name.strip(), rs.get("rules"), _basis(rs.get("basis"), f"{where}.basis", errors)))
    if errors:
        raise ValidationFailed(errors)
    if plan:
        try:
            tiers.check_plan(plan)
        except ValidationFailed as exc:
            raise ValidationFailed({f"tiers.{k}": v for k, v in exc.errors.items()})
    return parsed


def changes(session: Session, province: Region, parsed: Parsed) -> list[str]:
    """What applying would change, one Chinese line each (empty: nothing)."""
    lines = []
    for p in tiers.plan(session, province.id):
        level, pre = parsed.tiers[p.tier.value]
        if level != p.bureau_level.value:
            lines.append(_("%(t)s层级：负责的监管部门 %(a)s → %(b)s", t=p.tier.label, a=p.bureau_level.label, b=RegionLevel(level).label))
        if (pre or None) != (p.prerequisite.value if p.prerequisite else None):
            lines.append(_("%(t)s层级：先修层级 %(a)s → %(b)s", t=p.tier.label, a=p.prerequisite.label if p.prerequisite else _("无"),
                           b=Tier(pre).label if pre else _("无")))
    existing = {rs.name: rs for rs in session.scalars(select(EligibilityRuleSet).where(EligibilityRuleSet.province_id == province.id))}
    for name, rules, _basis_ in parsed.rule_sets:
        if name not in existing:
            lines.append(_("新增报名条件“%(n)s”", n=name))
        elif existing[name].rules != rules:
            lines.append(_("修改报名条件“%(n)s”：%(r)s", n=name, r="；".join(eligibility.describe_group(g) for g in rules)))
    return lines


def apply_settings(session: Session, actor, province: Region, parsed: Parsed) -> list[str]:
    """Apply a checked import to ``province`` (its own admin): the tier organisation, then each rule set
    (matched by name: updated, or created). Returns the lines that changed."""
    lines = changes(session, province, parsed)
    tiers.save_plan(session, actor, province, parsed.tiers, parsed.tiers_basis)
    existing = {rs.name: rs for rs in session.scalars(select(EligibilityRuleSet).where(EligibilityRuleSet.province_id == province.id))}
    for name, rules, basis in parsed.rule_sets:
        save_rule_set(session, actor, province, name, rules, existing.get(name), basis=basis)
    audit.record(session, actor, "province_settings.import", province, changes=len(lines))
    return lines
