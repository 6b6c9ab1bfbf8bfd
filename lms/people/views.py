"""Trainee self-registration and the trainee's own profile."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms import published
from lms.auth.models import User
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import RegionLevel, Role
from lms.errors import ValidationFailed
from lms.extensions import limiter
from lms.forms import choices, submit
from lms.orgs import services as org_services
from lms.orgs.models import Enterprise, Region
from lms.people import services
from lms.people.forms import ProfileForm, RegistrationForm
from lms.people.models import TraineeProfile
from lms.scoping import visible
from lms.templating import today_local

bp = Blueprint("people", __name__)


def profile_data(form) -> services.ProfileData:
    """The profile fields of a registration or profile form, as the service takes them."""
    return services.ProfileData(
        real_name=form.real_name.data or "",
        id_number=form.id_number.data or "",
        education=form.education.data or "",
        school=form.school.data or "",
        major=form.major.data or "",
        title_level=form.title_level.data or "",
        professional_title=form.professional_title.data or "",
        quality_qualification=form.quality_qualification.data or "none",
        quality_years=form.quality_years.data,
        current_post=form.current_post.data or "",
        phone=form.phone.data or "",
        email=form.email.data or "",
        address=form.address.data or "",
        postcode=form.postcode.data or "",
    )


def resolve_enterprise(form) -> Enterprise:
    """The registered enterprise with this credit code, or a new one from the form's enterprise fields."""
    code = (form.enterprise_credit_code.data or "").strip().upper()
    ent = org_services.find_enterprise_by_code(db.session, code)
    if ent is not None:
        return ent
    data = org_services.EnterpriseData(
        name=form.enterprise_name.data or "",
        credit_code=code,
        region_id=form.enterprise_region_id.data,
        industry=form.enterprise_industry.data or "",
        ownership_type=form.enterprise_ownership_type.data or "",
        size_class=form.enterprise_size_class.data or "",
        above_designated_size=bool(form.enterprise_above_designated_size.data),
        main_products=form.enterprise_main_products.data or "",
    )
    try:
        return org_services.save_enterprise(db.session, None, data)
    except ValidationFailed as exc:
        raise ValidationFailed({
            ("enterprise_credit_code" if k == "credit_code" else f"enterprise_{k}"): v for k, v in exc.errors.items()
        })


def region_choices():
    """The cities and counties an enterprise registering itself may be in."""
    rows = db.session.scalars(select(Region).where(Region.level != RegionLevel.province, Region.withdrawn_on.is_(None))
                              .order_by(Region.path))  # a code GB/T 2260 withdrew takes no new enterprise
    return choices([(0, _("请选择"))] + [(r.id, ("　" if r.level == RegionLevel.county else "") + r.name) for r in rows])


def _register(form: RegistrationForm, pledge, form_valid: bool) -> User | None:
    """Register the trainee (and their enterprise when it is new); every problem of the form, the enterprise and
    the service is reported in one round (issue 17), a field's own check first. Nobody is signed in by
    registering: an ID number already registered must get the same answer and the same next page (issue 18; the
    service told its owner instead). The new trainee signs in with the username and password just chosen."""
    errors: dict[str, str] = {}
    try:
        enterprise = resolve_enterprise(form)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    pledge_version = pledge.version if form.accept_pledge.data else None
    if errors or not form_valid:
        _clean, problems = services.registration_problems(
            db.session, username=form.username.data or "", password=form.password.data or "",
            profile=profile_data(form), pledge_version=pledge_version, today=today_local(),
        )
        errors.update({k: v for k, v in problems.items() if k not in errors})
        raise ValidationFailed({k: v for k, v in errors.items() if not getattr(getattr(form, k, None), "errors", None)
                                and not (k == "pledge" and form.accept_pledge.errors)})
    user = services.register_trainee(
        db.session,
        username=form.username.data,
        password=form.password.data,
        profile=profile_data(form),
        enterprise=enterprise,
        pledge_version=pledge_version,
        today=today_local(),
    )
    if user is None:
        return None
    for kind in (published.PRIVACY, published.AGREEMENT):  # the versions in force, accepted with the pledge
        published.accept(db.session, user, kind)
    return user


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """A trainee registers: account, real-name profile, enterprise if new, and the signed pledge."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    pledge = services.current_pledge(db.session)
    form = RegistrationForm()
    form.enterprise_region_id.choices = region_choices()
    if form.is_submitted() and (form.validate() or not form.errors.get("csrf_token")):  # no checks on a stale page
        form_valid = not form.errors
        done = submit(form, lambda: _register(form, pledge, form_valid),
                      success=_("注册成功，请用刚设置的用户名和密码登录"), redirect_to=url_for("auth.login"))
        if done:
            return done
    return render_template("people/register.html", form=form, pledge=pledge)


@bp.route("/me")
@roles_required(Role.trainee)
def me():
    """The trainee's own profile, masked."""
    prof = db.session.scalar(visible(TraineeProfile, current_user))
    if prof is None:
        abort(404)
    return render_template("people/me.html", prof=prof)


@bp.route("/me/edit", methods=["GET", "POST"])
@roles_required(Role.trainee)
def edit_me():
    """The trainee corrects their profile; the enterprise is named by its registered credit code."""
    prof = db.session.scalar(visible(TraineeProfile, current_user))
    if prof is None:
        abort(404)
    form = ProfileForm(obj=prof)
    if not form.is_submitted():
        form.enterprise_credit_code.data = prof.enterprise.credit_code if prof.enterprise else ""
    if form.validate_on_submit():
        enterprise = org_services.find_enterprise_by_code(db.session, form.enterprise_credit_code.data)
        if enterprise is None:
            form.enterprise_credit_code.errors = [_("未找到该统一社会信用代码对应的企业，请联系所在地监管部门登记")]
        else:
            done = submit(form, lambda: services.update_profile(db.session, current_user, prof, profile_data(form),
                                                                enterprise, today_local()),
                          success=_("资料已保存"), redirect_to=url_for("people.me"))
            if done:
                return done
    return render_template("people/edit.html", form=form)
