"""The scoring flow of an evaluation (issue 15): self-assessment by the CQO → the enterprise's opinion → the
scores of two or more experts the bureau assigns (averaged; a total farther from the experts' median than the
province's threshold is flagged) → the bureau's confirmation, whose stars come from the province's bands.
Each step is checked against the stored record (its step, its actor) and notifies the next actor with a link.
And the yearly selection of outstanding CQOs (评选, seed 002: "探索开展企业首席质量官星级评定和优秀企业首席
质量官评选"): nominations from the starred, the panel's decision, the result published as a notice."""
from __future__ import annotations

import datetime as dt
import statistics

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms import audit
from lms.auth.models import User
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, DomainError, FieldConflict, Forbidden, ValidationFailed
from lms.notifications.services import link, notify
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.pii import mask_id_number, mask_name
from talent.models import (Assessment, AssessmentExpert, AssessmentStep, Evaluation, EvaluationScore, Nomination, Notice,
                           NoticeEntry, PoolStatus, Selection, SelectionStatus, TalentEntry)
from talent.services import provincial_eval as pe
from talent.services.evaluation import indicator_tree

MIN_EXPERTS = 2  # issue 15: "expert scores (two or more, averaged, outliers flagged)"
EXPERT_ROLES = (Role.regulator_admin, Role.institution_staff)


def _bureau_of(actor: User, entry: TalentEntry) -> bool:
    return actor.role == Role.system_admin or (
        actor.role == Role.regulator_admin and entry.region.path.startswith(actor.region.path))


def _tell(session: Session, user_ids, a: Assessment, title: str) -> None:
    for uid in {u for u in user_ids if u}:
        notify(session, uid, "assessment", title, url=link("talent.assessment", assessment_id=a.id),
               dedupe_key=f"assessment:{a.id}:{a.step.value}:{uid}")


def _enterprise_accounts(session: Session, entry: TalentEntry) -> list[int]:
    return list(session.scalars(select(User.id).where(User.role == Role.enterprise, User.enterprise_id == entry.enterprise_id,
                                                      User.is_enabled.is_(True))))


def open_assessment(session: Session, actor: User, entry: TalentEntry, year: int, expert_usernames: list[str]) -> Assessment:
    """A bureau opens a year's evaluation of a pool member in its region and assigns the experts (two or
    more accounts of bureaus or institutions, not the member); the CQO is asked to assess themself."""
    if not _bureau_of(actor, entry):
        raise Forbidden(_("只有本地区监管部门可以发起评价"))
    if entry.enterprise_id is None:
        raise DomainError(_("该人员没有所在企业，无法征求企业意见"))
    if not pe.scored_leaves(session, entry.province_id) or not pe.province_bands(session, entry.province_id):
        raise DomainError(_("本省尚未设置评价指标和星级分档"))
    names = [n.strip() for n in expert_usernames if n and n.strip()]
    experts = list(session.scalars(select(User).where(User.username.in_(names), User.is_enabled.is_(True))))
    found = {u.username for u in experts}
    errors = {}
    if missing := [n for n in names if n not in found]:
        errors["experts"] = _("专家账号不存在：%(n)s", n="、".join(missing))
    elif bad := [u.username for u in experts if u.role not in EXPERT_ROLES or u.id == entry.user_id]:
        errors["experts"] = _("不能担任专家的账号：%(n)s（专家须为监管部门或培训机构账号，且不是被评价人）", n="、".join(bad))
    elif len(experts) < MIN_EXPERTS:
        errors["experts"] = _("须指定至少 %(n)d 名专家", n=MIN_EXPERTS)
    if not 2000 <= (year or 0) <= 2100:
        errors["year"] = _("年度不正确")
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(Assessment.id).where(Assessment.entry_id == entry.id, Assessment.year == year)):
        raise Conflict(_("该人员 %(y)d 年度的评价已发起", y=year))
    a = Assessment(entry_id=entry.id, province_id=entry.province_id, year=year, step=AssessmentStep.self,
                   opened_by_id=actor.id, self_scores={})
    a.experts = [AssessmentExpert(expert_id=u.id, scores={}) for u in experts]
    session.add(a)
    session.flush()
    audit.record(session, actor, "assessment.open", a, experts=len(experts))
    _tell(session, [entry.user_id], a, _("请完成 %(y)d 年度首席质量官自评", y=year))
    return a


def _at(a: Assessment, step: AssessmentStep) -> None:
    if a.step != step:
        raise Conflict(_("该评价当前为“%(s)s”，不能进行此步骤", s=a.step.label))


def self_assess(session: Session, actor: User, a: Assessment, points: dict, note: str = "") -> Assessment:
    """The CQO scores themself on every indicator; the enterprise is asked for its opinion."""
    _at(a, AssessmentStep.self)
    if actor.id != a.entry.user_id:
        raise Forbidden(_("只有被评价的首席质量官本人可以自评"))
    tree = indicator_tree(session, a.province_id)
    a.self_scores = pe.check_points(pe._leaves(tree), points)
    a.self_total, a.self_note = pe.score_total(tree, a.self_scores), (note or "").strip()[:2000]
    a.step = AssessmentStep.enterprise
    session.flush()
    audit.record(session, actor, "assessment.self", a)
    _tell(session, _enterprise_accounts(session, a.entry), a, _("请对本企业首席质量官的自评出具意见"))
    return a


def enterprise_opinion(session: Session, actor: User, a: Assessment, opinion: str) -> Assessment:
    """The CQO's enterprise gives its opinion; the experts are asked to score."""
    _at(a, AssessmentStep.enterprise)
    if actor.role != Role.enterprise or actor.enterprise_id != a.entry.enterprise_id:
        raise Forbidden(_("只有被评价人所在企业可以出具意见"))
    opinion = (opinion or "").strip()
    if not opinion or len(opinion) > 2000:
        raise ValidationFailed({"opinion": _("请填写企业意见（不超过 2000 字）")})
    a.enterprise_opinion, a.enterprise_by_id, a.step = opinion, actor.id, AssessmentStep.experts
    session.flush()
    audit.record(session, actor, "assessment.enterprise", a)
    _tell(session, [x.expert_id for x in a.experts], a, _("请为首席质量官评价打分"))
    return a


def flag_outliers(totals: list[float], threshold: float) -> list[bool]:
    """Which totals stand farther than ``threshold`` points from the median of all of them."""
    med = statistics.median(totals)
    return [abs(t - med) > threshold for t in totals]


def expert_score(session: Session, actor: User, a: Assessment, points: dict) -> Assessment:
    """An assigned expert scores every indicator (once). When the last expert has scored, the totals are
    averaged, outliers flagged, and the bureau is asked to confirm."""
    _at(a, AssessmentStep.experts)
    mine = next((x for x in a.experts if x.expert_id == actor.id), None)
    if mine is None:
        raise Forbidden(_("您不是该评价指定的专家"))
    if mine.submitted_at is not None:
        raise Conflict(_("您已提交评分"))
    tree = indicator_tree(session, a.province_id)
    mine.scores = pe.check_points(pe._leaves(tree), points)
    mine.total, mine.submitted_at = pe.score_total(tree, mine.scores), utcnow()
    session.flush()
    audit.record(session, actor, "assessment.expert", a)
    if all(x.submitted_at is not None for x in a.experts):
        threshold = pe.settings_for(session, a.province_id).outlier_threshold
        for x, flagged in zip(a.experts, flag_outliers([x.total for x in a.experts], threshold)):
            x.outlier = flagged
        a.total = round(sum(x.total for x in a.experts) / len(a.experts), 2)
        a.stars, a.grade = pe.stars_for(pe.province_bands(session, a.province_id), a.total)
        a.step = AssessmentStep.bureau
        session.flush()
        _tell(session, [a.opened_by_id], a, _("专家评分已完成，请确认首席质量官评价结果"))
    return a


def confirm(session: Session, actor: User, a: Assessment, note: str, today: dt.date) -> Assessment:
    """The bureau confirms the averaged result: the stars (from the bands) go to the pool entry, recorded as
    an evaluation with each indicator's average points; the CQO is told."""
    _at(a, AssessmentStep.bureau)
    if not _bureau_of(actor, a.entry):
        raise Forbidden(_("只有本地区监管部门可以确认评价"))
    if any(x.outlier for x in a.experts) and not (note or "").strip():
        raise ValidationFailed({"note": _("有专家评分离群，确认时须填写说明")})
    leaves = {leaf.code: leaf for leaf in pe.scored_leaves(session, a.province_id)}
    ev = Evaluation(entry_id=a.entry_id, evaluated_on=today, evaluator_id=actor.id, total=a.total, grade=a.grade,
                    stars=a.stars, notes=(note or "").strip()[:2000])
    for code, leaf in leaves.items():
        got = [x.scores.get(code) for x in a.experts if x.scores.get(code) is not None]
        if got:
            ev.scores.append(EvaluationScore(indicator_id=leaf.id, points=round(sum(got) / len(got), 2)))
    session.add(ev)
    session.flush()
    a.evaluation_id, a.bureau_note = ev.id, (note or "").strip()[:2000]
    a.confirmed_by_id, a.confirmed_on, a.step = actor.id, today, AssessmentStep.confirmed
    a.entry.stars, a.entry.grade = a.stars, a.grade
    session.flush()
    audit.record(session, actor, "assessment.confirm", a, stars=a.stars)
    _tell(session, [a.entry.user_id], a, _("您的 %(y)d 年度首席质量官评价已确认", y=a.year))
    return a


def waiting_for(session: Session, user: User, a: Assessment) -> bool:
    """Is ``user`` the one whose turn it is on ``a`` (the pages show the step's form to them only)?"""
    if a.step == AssessmentStep.self:
        return user.id == a.entry.user_id
    if a.step == AssessmentStep.enterprise:
        return user.role == Role.enterprise and user.enterprise_id == a.entry.enterprise_id
    if a.step == AssessmentStep.experts:
        return any(x.expert_id == user.id and x.submitted_at is None for x in a.experts)
    if a.step == AssessmentStep.bureau:
        return _bureau_of(user, a.entry)
    return False


# ------------------------------------------------------------------ 评选
def open_selection(session: Session, actor: User, year: int, title: str) -> Selection:
    """A bureau opens its region's selection of the year; the stars a nomination needs are the province's
    setting at that moment (kept with the selection)."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以组织评选"))
    title = (title or "").strip()
    errors = {}
    if not title or len(title) > 128:
        errors["title"] = _("请填写标题（不超过 128 字）")
    if not 2000 <= (year or 0) <= 2100:
        errors["year"] = _("年度不正确")
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(Selection.id).where(Selection.region_id == actor.region_id, Selection.year == year)):
        raise Conflict(_("本地区 %(y)d 年度的评选已发起", y=year))
    province_id = province_of(session, actor.region).id
    s = Selection(region_id=actor.region_id, year=year, title=title, created_by_id=actor.id,
                  min_stars=pe.settings_for(session, province_id).nomination_min_stars)
    session.add(s)
    session.flush()
    audit.record(session, actor, "selection.open", s)
    return s


def organises(actor: User, s: Selection) -> bool:
    """Whether ``actor`` runs the selection (nominates, decides, publishes): the bureau that opened it, or a system
    administrator. The page shows its forms by this rule; the steps below refuse by it."""
    return actor.role == Role.system_admin or (actor.role == Role.regulator_admin and actor.region_id == s.region_id)


def _bureau_of_selection(actor: User, s: Selection) -> None:
    if not organises(actor, s):
        raise Forbidden(_("只有组织评选的监管部门可以进行此操作"))


CANDIDATES_SHOWN = 100  # candidates a selection lists at once, the most stars first (the rest by entry number)


def _nominable(s: Selection):
    """The rule ``nominate`` applies, as a query: the active pool members of the selection's region and below with at
    least its stars, not yet nominated in it."""
    nominated = select(Nomination.entry_id).where(Nomination.selection_id == s.id)
    return (select(TalentEntry).join(Region, Region.id == TalentEntry.region_id)
            .where(Region.path.startswith(s.region.path), TalentEntry.status == PoolStatus.active,
                   TalentEntry.stars >= s.min_stars, TalentEntry.id.not_in(nominated)))


def nomination_candidates(session: Session, actor: User, s: Selection,
                          limit: int | None = None) -> tuple[list[TalentEntry], bool]:
    """Whom the organising bureau may nominate now, the most stars first (then by entry number), at most ``limit``
    (``CANDIDATES_SHOWN``), and whether there are more: the selection page lists them to pick from, the API gives the
    same list. Only the bureau that may nominate sees it; an ended selection has none."""
    _bureau_of_selection(actor, s)
    limit = CANDIDATES_SHOWN if limit is None else limit
    if s.status != SelectionStatus.open:
        return [], False
    rows = session.scalars(_nominable(s).options(selectinload(TalentEntry.user).selectinload(User.trainee_profile),
                                                 selectinload(TalentEntry.enterprise), selectinload(TalentEntry.region))
                           .order_by(TalentEntry.stars.desc(), TalentEntry.id).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def nominate(session: Session, actor: User, s: Selection, entry: TalentEntry, reason: str) -> Nomination:
    """Put forward a starred, active pool member of the selection's region (at least the selection's stars)."""
    _bureau_of_selection(actor, s)
    if s.status != SelectionStatus.open:
        raise Conflict(_("评选已结束提名"))
    if not entry.region.path.startswith(s.region.path):
        raise FieldConflict({"entry": _("该人员不在本地区")})
    if entry.status != PoolStatus.active or (entry.stars or 0) < s.min_stars:
        raise FieldConflict({"entry": _("只能提名在库且评价达到 %(n)d 星的首席质量官", n=s.min_stars)})
    if session.scalar(select(Nomination.id).where(Nomination.selection_id == s.id, Nomination.entry_id == entry.id)):
        raise Conflict(_("该人员已被提名"))
    n = Nomination(selection_id=s.id, entry_id=entry.id, stars=entry.stars, reason=(reason or "").strip()[:2000],
                   nominated_by_id=actor.id)
    session.add(n)
    session.flush()
    audit.record(session, actor, "selection.nominate", s, nomination=n.id)
    return n


def decide(session: Session, actor: User, s: Selection, selected_ids: set[int], note: str, today: dt.date) -> Selection:
    """Record the panel's decision: which nominations are selected, and its note."""
    _bureau_of_selection(actor, s)
    if s.status != SelectionStatus.open:
        raise Conflict(_("评选结果已评定"))
    if not s.nominations:
        raise Conflict(_("尚无提名"))
    unknown = selected_ids - {n.id for n in s.nominations}
    if unknown:
        raise FieldConflict({"selected": _("提名不存在：%(i)s", i="、".join(map(str, sorted(unknown))))})
    if not (note or "").strip():
        raise ValidationFailed({"note": _("请填写评审意见")})
    for n in s.nominations:
        n.selected = n.id in selected_ids
    s.panel_note, s.decided_on, s.status = note.strip()[:2000], today, SelectionStatus.decided
    session.flush()
    audit.record(session, actor, "selection.decide", s, selected=len(selected_ids))
    return s


def publish_selection(session: Session, actor: User, s: Selection, objection_days: int, today: dt.date) -> Notice:
    """Publish the selected as a public notice (kind ``selection``): names and ID numbers masked."""
    _bureau_of_selection(actor, s)
    if s.status != SelectionStatus.decided:
        raise Conflict(_("评选结果评定后才能公布"))
    if objection_days is None or not 5 <= objection_days <= 60:
        raise ValidationFailed({"objection_days": _("公示期须在 5 到 60 天之间")})
    notice = Notice(region_id=s.region_id, title=s.title, published_on=today, kind="selection",
                    objection_until=today + dt.timedelta(days=objection_days), published_by_id=actor.id)
    session.add(notice)
    session.flush()
    for n in s.nominations:
        if not n.selected:
            continue
        e, prof = n.entry, n.entry.profile
        session.add(NoticeEntry(notice_id=notice.id, name=mask_name(e.name), id_masked=mask_id_number(prof.id_number) if prof else "",
                                enterprise_name=e.enterprise.name if e.enterprise else "", region_name=e.region.name,
                                tier=e.highest_tier, status=e.status, stars=n.stars))
    s.notice_id, s.status = notice.id, SelectionStatus.published
    session.flush()
    audit.record(session, actor, "selection.publish", s, notice=notice.id)
    return notice
