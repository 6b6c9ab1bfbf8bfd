"""Pages for programmes (培训方案) and the provinces' eligibility rule sets."""
from __future__ import annotations

import json

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from courses import eligibility, services
from courses.forms import NewRuleSetForm, ProgrammeForm, RuleSetForm
from courses.models import Course, EligibilityRuleSet, Programme
from courses.views import ADMINS, bp, q_arg
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import RegionLevel, Tier
from lms.errors import DomainError, Forbidden
from lms.forms import choices, submit
from lms.orgs.models import Region
from lms.redirects import safe_target
from lms.scoping import get_visible, get_writable, visible
from lms.templating import paginate


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
    form.province_id.choices = choices(province_pairs())
    rule_sets = db.session.scalars(visible(EligibilityRuleSet, current_user).order_by(EligibilityRuleSet.name))
    form.eligibility_rule_set_id.choices = choices([(0, _("不设报名条件"))] + [
        (r.id, f"{r.name}（{r.province_id and db.session.get(Region, r.province_id).name}）") for r in rule_sets])
    form.course_ids.choices = choices((c.id, f"{c.code} {c.title}（{c.hours:g} 学时）")
                                      for c in db.session.scalars(visible(Course, current_user).order_by(Course.code)))
    if request.method == "GET" and prog is not None:
        form.course_ids.data = [c.id for c in prog.courses]
        form.min_attendance_pct.data = round(prog.min_attendance_rate * 100)
        form.eligibility_rule_set_id.data = prog.eligibility_rule_set_id or 0
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
        video_check_minutes=form.video_check_minutes.data)


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
    try:
        return services.save_rule_set(db.session, current_user, province, form.name.data, rules, rs)
    except Forbidden as exc:  # another province's admin sees the refusal on the form, not the 403 page
        raise DomainError(exc.message) from exc


@bp.route("/rule-sets/new", methods=["GET", "POST"])
@bp.route("/rule-sets/<int:rule_set_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def rule_set_edit(rule_set_id: int | None = None):
    """Create or edit a province's eligibility rule set, typed as JSON."""
    rs = get_writable(db.session, EligibilityRuleSet, rule_set_id, current_user) if rule_set_id else None
    form = RuleSetForm(obj=rs) if rs else NewRuleSetForm()
    if rs is None:
        form.province_id.choices = choices(province_pairs())
    if request.method == "GET":
        form.rules.data = json.dumps(rs.rules if rs else eligibility.FUJIAN_RULES, ensure_ascii=False, indent=2)
    if form.validate_on_submit():
        try:
            rules = json.loads(form.rules.data)
        except json.JSONDecodeError as exc:
            form.rules.errors = [_("JSON 格式错误：第 %(l)d 行第 %(c)d 列", l=exc.lineno, c=exc.colno)]
        else:
            done = submit(form, lambda: _save_rule_set(rs, form, rules), success=_("报名条件已保存"),
                          redirect_to=safe_target(request.args.get("back")) or url_for("courses.programmes"))
            if done:
                return done
    return render_template("courses/rule_set_form.html", form=form, rs=rs, types=eligibility.CONDITION_TYPES)
