"""Regulator admins manage institutions, enterprises, staff accounts and see trainees of their region."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from lms import audit
from lms.auth import services as auth_services
from lms.auth.forms import StaffUserForm
from lms.auth.models import User
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import Role, SizeClass, Tier
from lms.forms import choices, submit
from lms.orgs import services
from lms.orgs.forms import AuthorisationForm, EnterpriseForm, IdLookupForm, InstitutionForm
from lms.orgs.models import Enterprise, Institution, InstitutionAuthorisation, Region
from lms.people.models import TraineeProfile
from lms.pii import lookup_hash
from lms.scoping import get_visible, visible
from lms.templating import paginate, today_local

bp = Blueprint("orgs", __name__, url_prefix="/manage")
ADMINS = (Role.regulator_admin, Role.system_admin)


def nav(user):
    """The regulator's management pages in the menu (added by the factory)."""
    if user.role in ADMINS:
        return [
            ("orgs.institutions", _("培训机构")),
            ("orgs.enterprises", _("企业")),
            ("orgs.trainees", _("学员名单")),
            ("orgs.users", _("账号")),
            ("orgs.tiers_page", _("培训层级")),
        ]
    return []


def _region_choices(blank: bool = False):
    rows = db.session.scalars(visible(Region, current_user).order_by(Region.path)).all()
    indent = {"province": "", "city": "　", "county": "　　"}
    pairs = [(r.id, indent[r.level.value] + r.name) for r in rows]
    return choices(([(0, _("请选择"))] if blank else []) + pairs)


def _q() -> str:
    return (request.args.get("q") or "").strip()[:64]


# ------------------------------------------------------------------ institutions
@bp.route("/institutions")
@roles_required(*ADMINS)
def institutions():
    """The institutions of the admin's region and below, by name or credit code, and by tier authorised."""
    stmt = visible(Institution, current_user).order_by(Institution.name).options(
        selectinload(Institution.authorisations))  # each row shows its tiers in force
    if q := _q():
        stmt = stmt.where(or_(Institution.name.contains(q, autoescape=True), Institution.credit_code == q.upper()))
    if (tier := request.args.get("tier")) in Tier.__members__:
        IA = InstitutionAuthorisation
        stmt = stmt.where(Institution.id.in_(select(IA.institution_id).where(IA.tier == Tier(tier))))
    page = paginate(db.session, stmt)
    return render_template("orgs/institutions.html", page=page, q=q, Tier=Tier, today=today_local())


@bp.route("/institutions/new", methods=["GET", "POST"])
@bp.route("/institutions/<int:inst_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def institution_edit(inst_id: int | None = None):
    """Register an institution, or correct one, in the admin's region or below."""
    inst = get_visible(db.session, Institution, inst_id, current_user) if inst_id else None
    form = InstitutionForm(obj=inst)
    form.region_id.choices = _region_choices()
    # The contact phone is personal data: the form shows it masked, and the masked value sent back keeps it.
    masked = inst.contact_phone_masked if inst else None
    if inst and request.method == "GET":
        form.contact_phone.data = masked
    if form.validate_on_submit():
        phone = inst.contact_phone if inst and masked and form.contact_phone.data == masked else form.contact_phone.data
        data = services.InstitutionData(
            name=form.name.data, credit_code=form.credit_code.data, region_id=form.region_id.data,
            contact_name=form.contact_name.data, contact_phone=phone, address=form.address.data,
        )
        done = submit(form, lambda: services.save_institution(db.session, current_user, data, inst),
                      success=_("培训机构已保存"), redirect_to=lambda saved: url_for("orgs.institution", inst_id=saved.id))
        if done:
            return done
    return render_template("orgs/institution_form.html", form=form, inst=inst)


@bp.route("/institutions/<int:inst_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def institution(inst_id: int):
    """An institution, its authorisations and staff; the form authorises it for a tier the admin may grant."""
    inst = get_visible(db.session, Institution, inst_id, current_user)
    form = AuthorisationForm()
    form.tier.choices = choices((t.value, t.label) for t in Tier if services.may_authorise(current_user, t))
    if form.validate_on_submit():
        done = submit(form, lambda: services.authorise(db.session, current_user, inst, Tier(form.tier.data),
                                                       form.valid_from.data, form.valid_until.data),
                      success=_("授权已保存"), redirect_to=url_for("orgs.institution", inst_id=inst.id))
        if done:
            return done
    staff = db.session.scalars(visible(User, current_user).where(User.institution_id == inst.id).order_by(User.username)).all()
    return render_template("orgs/institution.html", inst=inst, form=form, staff=staff, today=today_local())


@bp.route("/institutions/<int:inst_id>/withdraw/<tier>", methods=["POST"])
@roles_required(*ADMINS)
def institution_withdraw(inst_id: int, tier: str):
    """Withdraw an institution's authorisation for one tier."""
    inst = get_visible(db.session, Institution, inst_id, current_user)
    back = url_for("orgs.institution", inst_id=inst.id)
    if tier not in Tier.__members__:
        flash(_("无效的培训层级"), "danger")
        return redirect(back)
    return submit(None, lambda: services.withdraw_authorisation(db.session, current_user, inst, Tier(tier)),
                  success=_("授权已撤回"), redirect_to=back) or redirect(back)


# ------------------------------------------------------------------ enterprises
@bp.route("/enterprises")
@roles_required(*ADMINS)
def enterprises():
    """The enterprises of the admin's region and below, by name or credit code, size and designated size."""
    stmt = visible(Enterprise, current_user).order_by(Enterprise.name)
    if q := _q():
        stmt = stmt.where(or_(Enterprise.name.contains(q, autoescape=True), Enterprise.credit_code == q.upper()))
    if (size := request.args.get("size")) in SizeClass.__members__:
        stmt = stmt.where(Enterprise.size_class == SizeClass(size))
    if request.args.get("above") == "1":
        stmt = stmt.where(Enterprise.above_designated_size.is_(True))
    page = paginate(db.session, stmt)
    return render_template("orgs/enterprises.html", page=page, q=q, SizeClass=SizeClass)


@bp.route("/enterprises/new", methods=["GET", "POST"])
@bp.route("/enterprises/<int:ent_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def enterprise_edit(ent_id: int | None = None):
    """Register an enterprise, or correct one, in the admin's region or below."""
    ent = get_visible(db.session, Enterprise, ent_id, current_user) if ent_id else None
    form = EnterpriseForm(obj=ent)
    form.region_id.choices = _region_choices()
    if form.validate_on_submit():
        data = services.EnterpriseData(
            name=form.name.data, credit_code=form.credit_code.data, region_id=form.region_id.data,
            industry=form.industry.data, ownership_type=form.ownership_type.data, size_class=form.size_class.data,
            above_designated_size=form.above_designated_size.data, main_products=form.main_products.data,
            address=form.address.data,
        )
        done = submit(form, lambda: services.save_enterprise(db.session, current_user, data, ent),
                      success=_("企业已保存"), redirect_to=url_for("orgs.enterprises"))
        if done:
            return done
    return render_template("orgs/enterprise_form.html", form=form, ent=ent)


# ------------------------------------------------------------------ trainees
@bp.route("/trainees")
@roles_required(*ADMINS)
def trainees():
    """The trainees whose enterprises are in the admin's region and below, by name."""
    stmt = visible(TraineeProfile, current_user).order_by(TraineeProfile.real_name).options(
        selectinload(TraineeProfile.enterprise))  # each row shows the enterprise
    if q := _q():
        stmt = stmt.where(TraineeProfile.real_name.contains(q, autoescape=True))
    page = paginate(db.session, stmt)
    return render_template("orgs/trainees.html", page=page, q=q, lookup=IdLookupForm())


@bp.route("/trainees/lookup", methods=["POST"])
@roles_required(*ADMINS)
def trainee_lookup():
    """Find a trainee by full ID number. A POST, so the number never appears in a URL or an access log."""
    form = IdLookupForm()
    if form.validate_on_submit():
        prof = db.session.scalar(
            visible(TraineeProfile, current_user).where(
                TraineeProfile.id_number_hash == lookup_hash(form.id_number.data.strip().upper())
            )
        )
        if prof is not None:
            return redirect(url_for("orgs.trainee", profile_id=prof.id))
    flash(_("本地区没有该身份证号的学员"), "warning")
    return redirect(url_for("orgs.trainees"))


@bp.route("/trainees/<int:profile_id>")
@roles_required(*ADMINS)
def trainee(profile_id: int):
    """A trainee's profile, masked; ``?reveal=1`` shows the full numbers and is audited."""
    prof = get_visible(db.session, TraineeProfile, profile_id, current_user)
    reveal = request.args.get("reveal") == "1"
    if reveal:
        audit.record(db.session, current_user, "pii.reveal", prof)
        db.session.commit()
    return render_template("orgs/trainee.html", prof=prof, reveal=reveal)


# ------------------------------------------------------------------ staff accounts
@bp.route("/users")
@roles_required(*ADMINS)
def users():
    """The staff accounts the admin manages, by name and role."""
    stmt = visible(User, current_user).where(User.role != Role.trainee).order_by(User.role, User.username)
    if q := _q():
        stmt = stmt.where(or_(User.username.contains(q, autoescape=True), User.display_name.contains(q, autoescape=True)))
    if (role := request.args.get("role")) in Role.__members__:
        stmt = stmt.where(User.role == Role(role))
    page = paginate(db.session, stmt)
    return render_template("orgs/users.html", page=page, q=q, Role=Role)


def _staff_user_form() -> StaffUserForm:
    """The new-account form, offering only the roles, regions and institutions the admin manages."""
    form = StaffUserForm()
    roles = [Role.regulator_admin, Role.institution_staff]
    if current_user.role == Role.system_admin:
        roles.append(Role.system_admin)
    form.role.choices = choices((r.value, r.label) for r in roles)
    form.region_id.choices = _region_choices(blank=True)
    insts = db.session.scalars(visible(Institution, current_user).order_by(Institution.name)).all()
    form.institution_id.choices = choices([(0, _("请选择"))] + [(i.id, i.name) for i in insts])
    return form


def _create_staff_user(form: StaffUserForm) -> User:
    role = Role(form.role.data)
    region = get_visible(db.session, Region, form.region_id.data, current_user) if form.region_id.data else None
    inst = get_visible(db.session, Institution, form.institution_id.data, current_user) if form.institution_id.data else None
    return auth_services.create_user(
        db.session, username=form.username.data, password=form.password.data,
        display_name=form.display_name.data, role=role,
        region=region if role == Role.regulator_admin else None,
        institution=inst if role == Role.institution_staff else None,
        email=form.email.data or "", created_by=current_user,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(*ADMINS)
def user_new():
    """Create a staff account (a regulator admin or an institution's staff) that the admin will manage."""
    form = _staff_user_form()
    if form.validate_on_submit():
        done = submit(form, lambda: _create_staff_user(form), success=_("账号已创建"),
                      redirect_to=url_for("orgs.users"), domain_errors="form")
        if done:
            return done
    return render_template("orgs/user_form.html", form=form)


@bp.route("/users/<int:user_id>/enabled", methods=["POST"])
@roles_required(*ADMINS)
def user_enabled(user_id: int):
    """Enable or disable a staff account; disabling ends its sessions and tokens at once."""
    user = get_visible(db.session, User, user_id, current_user)
    enable = request.form.get("enabled") == "1"
    back = url_for("orgs.users")
    return submit(None, lambda: auth_services.set_enabled(db.session, current_user, user, enable),
                  success=_("账号已启用") if enable else _("账号已停用，其登录与令牌已失效"), redirect_to=back) or redirect(back)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@roles_required(*ADMINS)
def user_unlock(user_id: int):
    """Lift the login delay of an account (its recent failed logins are forgotten; the audit log keeps them)."""
    user = get_visible(db.session, User, user_id, current_user)
    back = url_for("orgs.users")
    return submit(None, lambda: auth_services.clear_login_failures(db.session, current_user, user),
                  success=_("已解除该账号的登录限制"), redirect_to=back) or redirect(back)
