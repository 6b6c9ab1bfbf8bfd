"""Pages for programmes (培训方案) and the provinces' eligibility rule sets."""
from __future__ import annotations

import json

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from courses import eligibility, rule_form, rule_library, services
from courses.forms import NewRuleSetForm, ProgrammeForm, RuleSetForm
from courses.models import Course, EligibilityRuleSet, Programme
from courses.views import ADMINS, bp, q_arg
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import EducationLevel, QualityQualification, RegionLevel, SizeClass, Tier, TitleLevel
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.forms import choices, submit
from lms.orgs.models import Enterprise, Region
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from lms.pii import mask_name
from lms.settingbasis import basis_of
from lms.redirects import safe_target
from lms.scoping import get_visible, get_writable, visible
from lms.templating import paginate, today_local


def province_pairs() -> list[tuple[int, str]]:
    """The provinces the current user sees, as (id, name)."""
    rows = db.session.scalars(visible(Region, current_user).where(Region.level == RegionLevel.province).order_by(Region.code))
    return [(r.id, r.name) for r in rows]


@bp.route("/programmes")
@login_required
def programmes():
    """The programmes the user sees, filtered by name, tier, year and province."""
    stmt = visible(Programme, current_user).order_by(Programme.year.desc(), Programme.province_id, Programme.tier)
    if q := q_arg():
        stmt = stmt.where(Programme.name.contains(q, autoescape=True))
    if (tier := request.args.get("tier")) in Tier.__members__:
        stmt = stmt.where(Programme.tier == Tier(tier))
    if (year := request.args.get("year", type=int)):
        stmt = stmt.where(Programme.year == year)
    if (prov := request.args.get("province", type=int)):
        stmt = stmt.where(Programme.province_id == prov)
    page = paginate(db.session, stmt)
    return render_template("courses/programmes.html", page=page, q=q, Tier=Tier, provinces=province_pairs(),
                           can_edit=current_user.role in ADMINS)


@bp.route("/programmes/<int:programme_id>")
@login_required
def programme(programme_id: int):
    """One programme with its courses and its eligibility rules (as JSON)."""
    prog = get_visible(db.session, Programme, programme_id, current_user)
    return render_template("courses/programme.html", prog=prog, can_edit=current_user.role in ADMINS,
                           rules_json=json.dumps(prog.eligibility_rule_set.rules if prog.eligibility_rule_set else [],
                                                 ensure_ascii=False, indent=2))


def _programme_form(prog: Programme | None) -> ProgrammeForm:
    form = ProgrammeForm(obj=prog)
    pairs = province_pairs()
    if not pairs and current_user.region is not None:  # a city's admin holds its city's programme (issue 15)
        province = province_of(db.session, current_user.region)
        pairs = [(province.id, province.name)]
    form.province_id.choices = choices(pairs)
    cities = db.session.scalars(visible(Region, current_user).where(Region.level == RegionLevel.city).order_by(Region.code))
    form.city_id.choices = choices([(0, _("全省"))] + [(c.id, c.name) for c in cities])
    rule_sets = db.session.scalars(visible(EligibilityRuleSet, current_user).order_by(EligibilityRuleSet.name))
    form.eligibility_rule_set_id.choices = choices([(0, _("不设报名条件"))] + [
        (r.id, f"{r.name}（{r.province_id and db.session.get(Region, r.province_id).name}）") for r in rule_sets])
    form.course_ids.choices = choices((c.id, f"{c.code} {c.title}（{c.hours:g} 学时）")
                                      for c in db.session.scalars(visible(Course, current_user).order_by(Course.code)))
    if request.method == "GET" and prog is not None:
        form.course_ids.data = [c.id for c in prog.courses]
        form.min_attendance_pct.data = round(prog.min_attendance_rate * 100)
        form.eligibility_rule_set_id.data = prog.eligibility_rule_set_id or 0
        form.city_id.data = prog.city_id or 0
        basis = services.programme_basis(db.session, prog)
        form.basis_kind.data, form.basis_source.data = basis.kind.value, basis.source
    return form


def _programme_data(form: ProgrammeForm) -> services.ProgrammeData:
    return services.ProgrammeData(
        province_id=form.province_id.data, tier=form.tier.data, year=form.year.data, name=form.name.data,
        pass_mark=float(form.pass_mark.data), min_attendance_rate=form.min_attendance_pct.data / 100,
        certificate_validity_years=form.certificate_validity_years.data,
        requires_lower_tier=form.requires_lower_tier.data,
        eligibility_rule_set_id=form.eligibility_rule_set_id.data or None, course_ids=form.course_ids.data,
        basis_kind=form.basis_kind.data or "example", basis_source=form.basis_source.data or "",
        video_done_pct=form.video_done_pct.data or 90, video_no_skip_ahead=bool(form.video_no_skip_ahead.data),
        video_check_minutes=form.video_check_minutes.data, city_id=form.city_id.data or None,
        industry=(form.industry.data or "").strip() or None)


@bp.route("/programmes/new", methods=["GET", "POST"])
@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def programme_edit(programme_id: int | None = None):
    """Create or edit a programme (province and system admins)."""
    prog = get_writable(db.session, Programme, programme_id, current_user) if programme_id else None
    form = _programme_form(prog)
    if form.validate_on_submit():
        done = submit(form, lambda: services.save_programme(db.session, current_user, _programme_data(form), prog),
                      success=_("培训方案已保存"), redirect_to=lambda p: url_for("courses.programme", programme_id=p.id))
        if done:
            return done
    return render_template("courses/programme_form.html", form=form, prog=prog)


def _save_rule_set(rs: EligibilityRuleSet | None, form, rules) -> EligibilityRuleSet:
    province = db.session.get(Region, rs.province_id if rs else form.province_id.data)
    basis = (form.basis_kind.data or "example", form.basis_source.data or "") if "basis_kind" in request.form else None
    try:
        return services.save_rule_set(db.session, current_user, province, form.name.data, rules, rs, basis=basis)
    except Forbidden as exc:  # another province's admin sees the refusal on the form, not the 403 page
        raise DomainError(exc.message) from exc


def _copy_source(rs: EligibilityRuleSet | None, form) -> list:
    """What the editor starts from on GET: the set being edited, or a copy of a shipped set (?copy=seed001)
    or of a visible set (?copy=<id>); a new set starts from seed 001."""
    if rs is not None:
        form.basis_kind.data = basis_of(db.session, rs, "rules").kind.value
        form.basis_source.data = basis_of(db.session, rs, "rules").source
        return rs.rules
    wanted = request.args.get("copy", "seed001")
    if wanted.isdigit() and len(wanted) < 10:
        other = get_visible(db.session, EligibilityRuleSet, int(wanted), current_user)
        form.name.data = _("%(n)s（副本）", n=other.name)
        basis = basis_of(db.session, other, "rules")
        form.basis_kind.data, form.basis_source.data = basis.kind.value, basis.source
        return other.rules
    shipped = rule_library.template(wanted) or rule_library.LIBRARY[1]
    form.name.data = str(shipped.name)
    form.basis_kind.data, form.basis_source.data = "source", shipped.source
    return shipped.copy_rules()


def _posted_rules(rs: EligibilityRuleSet | None, form) -> tuple[list, list[str]]:
    """The posted rule tree: the editor's numbered fields, or the JSON ``rules`` field of older clients."""
    if any(k.startswith("g") and k.endswith("-name") for k in request.form):
        return rule_form.rules_from_form(request.form)
    try:
        return json.loads(form.rules.data or "[]"), []
    except json.JSONDecodeError as exc:
        return (rs.rules if rs else []), [_("JSON 格式错误：第 %(l)d 行第 %(c)d 列", l=exc.lineno, c=exc.colno)]


def _preview(rules: list, province: Region | None) -> dict:
    """Who qualifies under ``rules``: the sample profile typed in the editor, and the demo's trainees of the
    province that the editor may see (names masked), each with what they miss."""
    try:
        eligibility.validate_rules(rules)
    except ValidationFailed as exc:
        return {"error": exc.errors["rules"]}
    path = province.path if province else ""
    facts, sample = rule_form.sample_from_form(request.form, path)
    people = db.session.scalars(visible(TraineeProfile, current_user).join(Enterprise).join(Region)
                                .where(Region.path.startswith(path, autoescape=True))
                                .order_by(TraineeProfile.id).limit(30)) if province else []
    today = today_local()
    rows = [(mask_name(p.real_name), p.enterprise.name, eligibility.evaluate_facts(rules, eligibility.facts_of(p, today)))
            for p in people]
    return {"sample": sample, "sample_result": eligibility.evaluate_facts(rules, facts), "people": rows,
            "qualified": sum(1 for r in rows if r[2].eligible)}


@bp.route("/rule-sets/new", methods=["GET", "POST"])
@bp.route("/rule-sets/<int:rule_set_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def rule_set_edit(rule_set_id: int | None = None):
    """Create, copy or edit a province's eligibility rule set in a form, with a live preview of who qualifies."""
    rs = get_writable(db.session, EligibilityRuleSet, rule_set_id, current_user) if rule_set_id else None
    form = RuleSetForm(obj=rs) if rs else NewRuleSetForm()
    if rs is None:
        form.province_id.choices = choices(province_pairs())
    rules, problems = (_copy_source(rs, form), []) if request.method == "GET" else _posted_rules(rs, form)
    op = request.form.get("op", "save")
    if request.method == "POST" and op != "save":
        rules = rule_form.apply_action(rules, op)
    elif form.validate_on_submit() and not problems:
        done = submit(form, lambda: _save_rule_set(rs, form, rules), success=_("报名条件已保存"),
                      redirect_to=safe_target(request.args.get("back")) or url_for("courses.programmes"))
        if done:
            return done
    pairs = [] if rs else province_pairs()
    province_id = rs.province_id if rs else (form.province_id.data or (pairs[0][0] if pairs else None))
    province = db.session.get(Region, province_id) if province_id else None
    form.rules.errors = list(form.rules.errors or []) + problems
    return render_template("courses/rule_set_form.html", form=form, rs=rs, rules=rules, preview=_preview(rules, province),
                           library=rule_library.LIBRARY, labels=eligibility.type_labels(), rf=rule_form,
                           SizeClass=SizeClass, Education=EducationLevel, Title=TitleLevel, Qualification=QualityQualification,
                           reading=eligibility.describe_group, copies=_copyable())


def _copyable() -> list[EligibilityRuleSet]:
    """The rule sets the editor may copy from (every province's, as rule sets are published)."""
    return list(db.session.scalars(visible(EligibilityRuleSet, current_user).order_by(EligibilityRuleSet.id).limit(50)))
