"""Evaluation (seed 004): each province's indicator tree (six fixed first-level indicators with weights, up to
three levels, maintained by hand or from an Excel sheet) and the evaluations that score a member against it
(a total of 100, a grade and 1–5 stars)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lms import audit, sheets
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from talent.models import EvaluationScore, GradeBand, Indicator


FIRST_LEVEL = [
    # code, name, default weight (percent)
    ("A", "意识", 15), ("B", "社会责任", 15), ("C", "知识", 15), ("D", "能力", 20), ("E", "沟通", 10), ("F", "业绩", 25),
]



def ensure_first_level(session: Session, province_id: int) -> list[Indicator]:
    """The six first-level indicators of the evaluation standard (seed 004), created once per province."""
    out = []
    for pos, (code, name, weight) in enumerate(FIRST_LEVEL):
        node = session.scalar(select(Indicator).where(Indicator.province_id == province_id, Indicator.code == code))
        if node is None:
            node = Indicator(province_id=province_id, code=code, parent_id=None, level=1, name=name, weight=weight,
                             max_points=0, position=pos)
            session.add(node)
        out.append(node)
    session.flush()
    return out


def _may_edit_tree(actor: User, province_id: int) -> None:
    if actor.role == Role.system_admin:
        return
    if actor.role == Role.regulator_admin and actor.region_id == province_id:
        return
    raise Forbidden(_("只有省级监管部门可以维护本省评价指标"))


@dataclass
class IndicatorRow:
    code: str
    parent: str
    name: str
    weight: float | None
    max_points: float | None
    evidence_type: str
    row: int = 0  # the spreadsheet's row number when the row came from a file, else 0
    letters: dict[str, str] = field(default_factory=dict)  # header → column letter in that file


def _row_problem(errors: dict, problems: list, i: int, r: IndicatorRow, header: str, value, message: str) -> None:
    """Record one row's problem: with the sheet's row, column and value for a file, else by row position."""
    if r.row:
        problems.append(sheets.Problem(r.row, header, r.letters.get(header, ""), "" if value is None else sheets.shown(value), message))
    else:
        errors[f"row{i}"] = _("第 %(i)d 行：%(msg)s", i=i, msg=message)


def save_indicators(session: Session, actor: User, province_id: int, rows: list[IndicatorRow]) -> int:
    """Add or update indicators by code, all or nothing. First-level rows (no parent) may only change the
    weight of the six fixed indicators; lower rows need a parent one level up; levels stop at three."""
    _may_edit_tree(actor, province_id)
    ensure_first_level(session, province_id)
    nodes = {n.code: n for n in session.scalars(select(Indicator).where(Indicator.province_id == province_id))}
    errors: dict[str, str] = {}
    problems: list[sheets.Problem] = []
    pending: dict[str, IndicatorRow] = {}
    for i, r in enumerate(rows, start=1):
        code, parent, name = (r.code or "").strip(), (r.parent or "").strip(), (r.name or "").strip()

        def bad(header: str, value, message: str, i=i, r=r) -> None:
            _row_problem(errors, problems, i, r, header, value, message)

        if not code or len(code) > 32:
            bad("编码", code, _("编码为空或过长"))
            continue
        if not parent:
            if code not in {c for c, _n, _w in FIRST_LEVEL}:
                bad("上级编码", parent, _("一级指标固定为六项，新增指标须填写上级编码"))
            elif r.weight is None or not 0 <= r.weight <= 100:
                bad("权重", r.weight, _("权重须在 0 到 100 之间"))
            pending[code] = r
            continue
        if not name or len(name) > 128:
            bad("名称", name, _("名称为空或过长"))
        if r.max_points is None or not 0 < r.max_points <= 100:
            bad("满分", r.max_points, _("满分须大于 0 且不超过 100"))
        p_level = _level_of(parent, nodes, pending)
        if p_level is None:
            bad("上级编码", parent, _("上级编码不存在"))
        elif p_level >= 3:
            bad("上级编码", parent, _("指标最多三级"))
        if code in nodes and nodes[code].level == 1:
            bad("编码", code, _("该编码是一级指标"))
        pending[code] = r
    if problems:
        raise sheets.SheetRefused(problems, _("文件未导入，请改正后重新上传（任何数据都未改变）："))
    if errors:
        raise ValidationFailed(errors)
    n = 0
    for code, r in pending.items():  # parents first: rows come in file order, parents before children
        parent = (r.parent or "").strip()
        node = nodes.get(code)
        if not parent:
            node.weight = float(r.weight)
            n += 1
            continue
        p = nodes[parent]
        if node is None:
            node = Indicator(province_id=province_id, code=code)
            session.add(node)
            nodes[code] = node
        node.parent_id, node.level, node.name = p.id, p.level + 1, r.name.strip()
        node.max_points, node.evidence_type = float(r.max_points), (r.evidence_type or "").strip()[:64]
        node.weight = float(r.weight or 0)
        session.flush()
        n += 1
    audit.record(session, actor, "indicators.save", object_type="Region", object_id=province_id, rows=n)
    return n


def _level_of(code: str, nodes: dict, pending: dict, depth: int = 0) -> int | None:
    if code in pending:
        parent = (pending[code].parent or "").strip()
        if not parent:
            return 1
        up = _level_of(parent, nodes, pending, depth + 1) if depth < 5 else None
        return None if up is None else up + 1
    if code in nodes:
        return nodes[code].level
    return None


INDICATOR_HEADERS = ["编码", "上级编码", "名称", "权重", "满分", "证据类型"]


def parse_indicator_xlsx(data: bytes, filename: str = "") -> list[IndicatorRow]:
    """Rows of a sheet (.xlsx, .xls or CSV, through ``lms.sheets``): 编码, 上级编码, 名称, 权重, 满分, 证据类型
    (header row first)."""
    table = sheets.read_table(filename, data, headers=INDICATOR_HEADERS, required=["编码", "名称"], max_rows=1000,
                              identifiers=["编码", "上级编码"])
    out, problems = [], []
    for row in table.rows:
        nums = {}
        for h in ("权重", "满分"):
            try:
                nums[h] = float(row.get(h)) if row.get(h) else None
            except ValueError:
                problems.append(table.problem(row.number, h, row.get(h), _("须为数字")))
        out.append(IndicatorRow(code=row.get("编码"), parent=row.get("上级编码"), name=row.get("名称"),
                                weight=nums.get("权重"), max_points=nums.get("满分"),
                                evidence_type=row.get("证据类型"), row=row.number,
                                letters={h: table.letter(h) for h in INDICATOR_HEADERS if h in table.columns}))
    if problems:
        raise sheets.SheetRefused(problems)
    if not out:
        raise sheets.refuse(_("文件中没有指标"))
    return out


def indicator_tree(session: Session, province_id: int) -> list[tuple[Indicator, list]]:
    """The province's indicators as a tree: ``[(node, [(child, [...]), ...]), ...]`` in display order."""
    nodes = list(session.scalars(select(Indicator).where(Indicator.province_id == province_id)
                                 .order_by(Indicator.level, Indicator.position, Indicator.code)))
    children = defaultdict(list)
    for n in nodes:
        children[n.parent_id].append(n)

    def build(pid):
        return [(n, build(n.id)) for n in children[pid]]

    return build(None)


def leaves(tree) -> list[Indicator]:
    """The indicators without children (the ones scored), in tree order."""
    out = []
    for node, kids in tree:
        out.extend(leaves(kids) if kids else [node])
    return out


def delete_indicator(session: Session, actor: User, node: Indicator) -> None:
    """Remove a second- or third-level indicator (and its children) that no evaluation has used."""
    _may_edit_tree(actor, node.province_id)
    if node.level == 1:
        raise DomainError(_("一级指标不能删除"))
    ids = [node.id] + list(session.scalars(select(Indicator.id).where(Indicator.parent_id == node.id)))
    if session.scalar(select(EvaluationScore.id).where(EvaluationScore.indicator_id.in_(ids)).limit(1)):
        raise Conflict(_("该指标已用于评价，不能删除"))
    session.execute(delete(Indicator).where(Indicator.parent_id == node.id))
    session.delete(node)
    session.flush()
    audit.record(session, actor, "indicators.delete", object_type="Indicator", object_id=ids[0])


def stars_for(bands: list, total: float) -> tuple[int, str]:
    """The stars and grade a total earns: the band with ``low <= total < high`` (the top band takes 100)."""
    top = max(b.high for b in bands)
    for b in bands:
        if b.low <= total < b.high or (total == top and b.high == top):
            return b.stars, b.grade
    raise ValidationFailed({"total": _("总分 %(t)s 不在任何分档内", t=f"{total:g}")})


def province_bands(session: Session, province_id: int) -> list[GradeBand]:
    """The province's grade bands, best first."""
    return list(session.scalars(select(GradeBand).where(GradeBand.province_id == province_id)
                                .order_by(GradeBand.low.desc())))
