"""Evaluation as a province's data (issue 15): the indicator tree and the grade bands, validated as a whole
(the exact indicator or band named, nothing applied), and the stars a total earns.

What seed 004 states (a news report of 《首席质量官评价规范》, the local standard 苏浙皖赣沪 published
together): "设定意识、社会责任、知识、能力、沟通和业绩等6项一级指标、16项二级指标、51项三级指标". It names the six
first-level indicators and nothing else: no weights, no lower-level names, no grade bands. So the six names
are shipped with that sentence as their basis; every weight, every lower indicator and every band is a
province's value, shown as 示例 until the province records its own basis.

Weights: within every parent the children's weights sum to 100, or all are blank (then they count by their
maximum points). A leaf scores points / maximum; a parent the weighted (or points-pooled) share of its
children; the total is 100 × that share over the first level."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.errors import Conflict, ValidationFailed
from lms.settingbasis import BasisKind, set_basis
from talent.models import EvalSettings, EvaluationScore, GradeBand, Indicator
from talent.services.evaluation import (FIRST_LEVEL, _may_edit_tree, ensure_first_level, indicator_tree,  # noqa: F401
                                        province_bands, save_indicators, stars_for)

STANDARD = "《首席质量官评价规范》（苏浙皖赣沪地方标准，2023）：意识、社会责任、知识、能力、沟通和业绩等6项一级指标"
MAX_LEVEL = 3  # seed 004: 一级、二级、三级指标


@dataclass
class Node:
    code: str
    parent: str
    name: str
    weight: float | None
    max_points: float | None
    evidence: str = ""


@dataclass
class Band:
    low: float
    high: float
    stars: int
    grade: str = ""

    @property
    def place(self) -> str:
        return f"{self.low:g}–{self.high:g}"


def tree_problems(nodes: list[Node]) -> dict[str, str]:
    """Every problem of a whole tree, keyed by the indicator code it is at (``parent:<code>`` for a weight sum)."""
    errors: dict[str, str] = {}
    by_code: dict[str, Node] = {}
    for n in nodes:
        if not n.code or len(n.code) > 32:
            errors[n.code or "?"] = _("指标 %(c)s：编码为空或过长", c=n.code or "?")
        elif n.code in by_code:
            errors[n.code] = _("指标 %(c)s：编码重复", c=n.code)
        elif not n.name or len(n.name) > 128:
            errors[n.code] = _("指标 %(c)s：名称为空或过长", c=n.code)
        by_code.setdefault(n.code, n)
    first = {c for c, _n, _w in FIRST_LEVEL}
    for n in by_code.values():
        if not n.parent and n.code not in first:
            errors[n.code] = _("指标 %(c)s：一级指标固定为六项（%(l)s），新增指标须填写上级编码", c=n.code,
                               l="、".join(f"{c} {name}" for c, name, _w in FIRST_LEVEL))
        elif n.parent and n.parent not in by_code:
            errors[n.code] = _("指标 %(c)s：上级编码 %(p)s 不存在", c=n.code, p=n.parent)
        if n.weight is not None and not 0 <= n.weight <= 100:
            errors[n.code] = _("指标 %(c)s：权重须在 0 到 100 之间", c=n.code)
        if n.max_points is not None and not 0 <= n.max_points <= 1000:
            errors[n.code] = _("指标 %(c)s：满分须在 0 到 1000 之间", c=n.code)
    for c, name, _w in FIRST_LEVEL:
        if c not in by_code or by_code[c].parent:
            errors[c] = _("指标 %(c)s：一级指标“%(n)s”缺失", c=c, n=name)
    for n in by_code.values():  # loops and depth: walk up from each node
        seen, cur, depth = [n.code], n, 1
        while cur.parent and cur.parent in by_code:
            if cur.parent in seen:
                errors[n.code] = _("指标 %(c)s：上级关系成环（%(p)s）", c=n.code, p=" → ".join(seen + [cur.parent]))
                break
            seen.append(cur.parent)
            cur, depth = by_code[cur.parent], depth + 1
        else:
            if depth > MAX_LEVEL:
                errors[n.code] = _("指标 %(c)s：指标最多三级", c=n.code)
    if errors:
        return errors
    children: dict[str, list[Node]] = {}
    for n in by_code.values():
        children.setdefault(n.parent, []).append(n)
    for parent, kids in children.items():
        weights = [k.weight or 0 for k in kids]
        if parent and not any(weights):
            continue  # unweighted children count by their maximum points
        if abs(sum(weights) - 100) > 0.01:
            where = parent or _("一级指标")
            errors[f"parent:{parent}"] = _("%(p)s 的下级指标权重之和为 %(s)s，须为 100（%(k)s）", p=where,
                                           s=f"{sum(weights):g}", k="、".join(f"{k.code}={k.weight or 0:g}" for k in kids))
    for n in by_code.values():
        if n.code not in children and not n.parent:
            continue
        if n.code not in children and not n.max_points:
            errors[n.code] = _("指标 %(c)s：末级指标须填写满分", c=n.code)
    return errors


def band_problems(bands: list[Band]) -> dict[str, str]:
    """Every problem of a set of bands, keyed ``band:<low>-<high>``: each band inside 0–100, low below high,
    1–5 stars, and together they cover 0–100 with no gap and no overlap."""
    errors: dict[str, str] = {}
    if not bands:
        return {"bands": _("至少设置一个分档")}
    for b in bands:
        key = f"band:{b.place}"
        if not (0 <= b.low < b.high <= 100):
            errors[key] = _("分档 %(b)s：下限须小于上限，且在 0 到 100 之间", b=b.place)
        elif not 1 <= b.stars <= 5:
            errors[key] = _("分档 %(b)s：星级须为 1 到 5", b=b.place)
    if errors:
        return errors
    ordered = sorted(bands, key=lambda b: (b.low, b.high))
    if ordered[0].low > 0:
        errors["band:0"] = _("分档有空缺：0–%(h)s 没有对应星级", h=f"{ordered[0].low:g}")
    if ordered[-1].high < 100:
        errors["band:100"] = _("分档有空缺：%(l)s–100 没有对应星级", l=f"{ordered[-1].high:g}")
    for a, b in zip(ordered, ordered[1:]):
        if b.low > a.high:
            errors[f"band:{b.place}"] = _("分档有空缺：%(a)s 与 %(b)s 之间（%(l)s–%(h)s）没有对应星级", a=a.place, b=b.place,
                                          l=f"{a.high:g}", h=f"{b.low:g}")
        elif b.low < a.high:
            errors[f"band:{b.place}"] = _("分档重叠：%(a)s 与 %(b)s", a=a.place, b=b.place)
    return errors


def settings_for(session: Session, province_id: int) -> EvalSettings:
    """The province's scoring settings; the example values (not stored) while it saved none."""
    row = session.scalar(select(EvalSettings).where(EvalSettings.province_id == province_id))
    return row if row is not None else EvalSettings(province_id=province_id, outlier_threshold=10, nomination_min_stars=4)


def score_total(tree, points: dict[str, float]) -> float:
    """The total (of 100) that ``points`` (by leaf code) earn on ``tree`` (``evaluation.indicator_tree``)."""

    def share(kids) -> float:
        if any(n.weight for n, _k in kids):
            return sum((n.weight or 0) / 100 * node_share(n, k) for n, k in kids)
        got = possible = 0.0
        for leaf in _leaves(kids):
            got += min(max(points.get(leaf.code, 0), 0), leaf.max_points or 100)
            possible += leaf.max_points or 100
        return got / possible if possible else 0.0

    def node_share(n, kids) -> float:
        if not kids:
            cap = n.max_points or 100  # a first-level indicator with nothing below is scored out of 100
            return min(max(points.get(n.code, 0), 0), cap) / cap
        return share(kids)

    return round(100 * share(tree), 2)


def _leaves(tree) -> list[Indicator]:
    out = []
    for n, kids in tree:
        out.extend(_leaves(kids) if kids else [n])
    return out


def scored_leaves(session: Session, province_id: int) -> list[Indicator]:
    """The indicators a score is given for (the leaves; a first-level indicator with nothing below is one)."""
    return _leaves(indicator_tree(session, province_id))


def check_points(leaves: list[Indicator], points: dict[str, float]) -> dict[str, float]:
    """Points by leaf code, each between 0 and its maximum; refused naming the indicator otherwise."""
    errors, out = {}, {}
    for leaf in leaves:
        v = points.get(leaf.code)
        cap = leaf.max_points or 100
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= cap:
            errors[f"s_{leaf.code}"] = _("指标 %(c)s「%(n)s」：得分须在 0 到 %(m)s 之间", c=leaf.code, n=leaf.name, m=f"{cap:g}")
        else:
            out[leaf.code] = float(v)
    if errors:
        raise ValidationFailed(errors)
    return out


def export_tree(session: Session, province_id: int) -> list[Node]:
    """The province's tree as rows, parents before children (the six first-level indicators with the example
    weights while the province stored none; nothing is written)."""
    nodes = list(session.scalars(select(Indicator).where(Indicator.province_id == province_id)
                                 .order_by(Indicator.level, Indicator.position, Indicator.code)))
    if not nodes:
        return [Node(c, "", name, float(w), None) for c, name, w in FIRST_LEVEL]
    code_of = {n.id: n.code for n in nodes}
    return [Node(n.code, code_of.get(n.parent_id, ""), n.name, n.weight if (n.weight or n.level == 1) else None,
                 n.max_points or None, n.evidence_type or "") for n in nodes]


def load_tree(session: Session, actor: User, province_id: int, nodes: list[Node]) -> int:
    """Replace the province's whole tree with ``nodes``, all or nothing: refused with each bad indicator named;
    an indicator an evaluation has scored cannot be dropped. The six first-level names keep the standard as
    their basis; every other row is an example (示例) until the province says otherwise."""
    _may_edit_tree(actor, province_id)
    errors = tree_problems(nodes)
    if errors:
        raise ValidationFailed(errors)
    ensure_first_level(session, province_id)
    existing = {n.code: n for n in session.scalars(select(Indicator).where(Indicator.province_id == province_id))}
    keep = {n.code for n in nodes}
    dropped = [n for c, n in existing.items() if c not in keep]
    if dropped and session.scalar(select(EvaluationScore.id).where(
            EvaluationScore.indicator_id.in_([n.id for n in dropped])).limit(1)):
        used = session.scalars(select(Indicator.code).join(EvaluationScore, EvaluationScore.indicator_id == Indicator.id)
                               .where(Indicator.id.in_([n.id for n in dropped])).distinct())
        raise Conflict(_("指标 %(c)s 已用于评价，不能删除", c="、".join(sorted(used))))
    by_code = {n.code: n for n in nodes}

    def level(code: str) -> int:
        return 1 if not by_code[code].parent else level(by_code[code].parent) + 1

    for pos, n in enumerate(sorted(nodes, key=lambda n: level(n.code))):
        row = existing.get(n.code)
        if row is None:
            row = existing[n.code] = Indicator(province_id=province_id, code=n.code)
            session.add(row)
        row.parent_id = existing[n.parent].id if n.parent else None
        row.level, row.position = level(n.code), pos
        if row.level > 1:
            row.name = n.name.strip()
        row.weight, row.max_points = float(n.weight or 0), float(n.max_points or 0)
        row.evidence_type = (n.evidence or "").strip()[:64]
        session.flush()
    if dropped:
        session.execute(delete(Indicator).where(Indicator.id.in_([n.id for n in dropped])))
    for row in existing.values():
        if row.level == 1 and row.code in keep:
            set_basis(session, row, "indicator_name", BasisKind.source, STANDARD)
    session.flush()
    audit.record(session, actor, "indicators.load", object_type="Region", object_id=province_id, rows=len(nodes))
    return len(nodes)


def save_rows_checked(session: Session, actor: User, province_id: int, rows) -> int:
    """The indicators page's edit (one node, or a sheet merged by code: ``evaluation.save_indicators``), then the
    whole resulting tree checked like a load: a weight sum that is not 100 under a parent is refused naming it,
    and the caller's rollback leaves nothing applied."""
    n = save_indicators(session, actor, province_id, rows)
    errors = tree_problems(export_tree(session, province_id))
    if errors:
        raise ValidationFailed(errors)
    return n


def save_bands(session: Session, actor: User, province_id: int, bands: list[Band]) -> list[GradeBand]:
    """Replace the province's grade bands, all or nothing (gaps and overlaps refused, the band named)."""
    _may_edit_tree(actor, province_id)
    errors = band_problems(bands)
    if errors:
        raise ValidationFailed(errors)
    session.execute(delete(GradeBand).where(GradeBand.province_id == province_id))
    rows = [GradeBand(province_id=province_id, low=b.low, high=b.high, stars=b.stars, grade=(b.grade or "")[:16])
            for b in bands]
    session.add_all(rows)
    session.flush()
    audit.record(session, actor, "grade_bands.save", object_type="Region", object_id=province_id, bands=len(rows))
    return rows


def save_settings(session: Session, actor: User, province_id: int, outlier_threshold: float | None,
                  nomination_min_stars: int | None) -> EvalSettings:
    """Set the outlier threshold (points from the experts' median) and the stars a nomination needs."""
    _may_edit_tree(actor, province_id)
    errors = {}
    if outlier_threshold is None or not 0 < outlier_threshold <= 100:
        errors["outlier_threshold"] = _("离群阈值须大于 0 且不超过 100 分")
    if nomination_min_stars is None or not 1 <= nomination_min_stars <= 5:
        errors["nomination_min_stars"] = _("提名所需星级须为 1 到 5")
    if errors:
        raise ValidationFailed(errors)
    row = settings_for(session, province_id)
    if row.id is None:
        session.add(row)
    row.outlier_threshold, row.nomination_min_stars = outlier_threshold, nomination_min_stars
    session.flush()
    audit.record(session, actor, "eval_settings.save", object_type="Region", object_id=province_id)
    return row
