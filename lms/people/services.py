"""Trainee registration and profiles: real-name data validated against its national formats."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from lms import audit
from lms.auth import services as auth_services
from lms.auth.models import User
from lms.domain import EducationLevel, Gender, QualityQualification, Role, TitleLevel, has_control_characters
from lms.errors import DomainError, ValidationFailed
from lms.notifications import services as notifications
from lms.orgs.models import Enterprise
from lms.people.models import PledgeSignature, PledgeText, TraineeProfile
from lms.pii import lookup_hash

MIN_AGE, MAX_AGE = 16, 80
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: dt.date
    gender: Gender


# GB/T 2260 provincial codes (the first two digits of every resident ID, GB 11643-1999 §4.2): the counties under
# them were created, renamed and merged for decades, and a number keeps the county code in force when it was
# issued or re-issued, not at birth, so only the province is checked (issue 17).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


def parse_id_number(value: str, today: dt.date) -> IdInfo:
    """Validate a resident ID number (GB 11643-1999: check character, date of birth, province) and derive birth
    date and gender; a county code retired or created later is no reason to refuse a real number.

    Raises ValidationFailed on field ``id_number`` with the precise reason."""
    raw = (value or "").strip().upper()

    def fail(msg: str):
        raise ValidationFailed({"id_number": msg})

    if not raw:
        fail(_("请填写身份证号"))
    if len(raw) == 15 and raw.isdigit():
        fail(_("不再受理 15 位旧身份证号，请填写 18 位身份证号"))
    if len(raw) != 18:
        fail(_("身份证号应为 18 位（当前 %(n)d 位）", n=len(raw)))
    if not re.fullmatch(r"\d{17}[\dX]", raw):
        fail(_("身份证号前 17 位应为数字，末位为数字或 X"))
    if ric.calc_check_digit(raw) != raw[17]:
        fail(_("身份证号校验位不正确，请核对是否有输错"))
    try:
        birth = ric.get_birth_date(raw)
    except InvalidComponent:
        fail(_("身份证号中的出生日期（第 7-14 位）不是有效日期"))
    if raw[:2] not in PROVINCE_CODES:
        fail(_("身份证号前 2 位省级代码 %(code)s 不存在，请核对", code=raw[:2]))
    if birth > today:
        fail(_("身份证号中的出生日期 %(d)s 晚于今天", d=birth.isoformat()))
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if not MIN_AGE <= age <= MAX_AGE:
        fail(_("按身份证号计算年龄为 %(a)d 岁，须在 %(lo)d 至 %(hi)d 岁之间", a=age, lo=MIN_AGE, hi=MAX_AGE))
    gender = Gender.male if int(raw[16]) % 2 == 1 else Gender.female
    return IdInfo(number=raw, birth_date=birth, gender=gender)


def normalise_phone(value: str) -> str:
    """The phone number without spaces, brackets or +86 (a mobile or a landline with its area code), or ValidationFailed."""
    phone = re.sub(r"[\s()（）]", "", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not PHONE_RE.match(phone):
        raise ValidationFailed({"phone": _("请填写 11 位手机号或带区号的固定电话")})
    return phone


@dataclass
class ProfileData:
    """The editable real-name fields, as plain values (from a form or from JSON)."""

    real_name: str
    id_number: str
    education: str
    school: str
    major: str
    title_level: str
    professional_title: str
    quality_qualification: str
    quality_years: int | None
    current_post: str
    phone: str
    email: str
    address: str
    postcode: str


def _choice(enum_cls, value, field, errors):
    try:
        return enum_cls(value)
    except ValueError:
        errors[field] = _("请选择有效的选项")
        return None


def validate_profile(session: Session, data: ProfileData, today: dt.date, *, exclude_user_id: int | None = None,
                     refuse_known_id: bool = True) -> dict:
    """Validate every field and return clean values; collect all errors at once. ``refuse_known_id`` False leaves
    an ID number that another profile holds to the caller (registration must not reveal it, issue 18)."""
    errors: dict[str, str] = {}
    clean: dict = {}
    name = (data.real_name or "").strip()
    if not 2 <= len(name) <= 32:
        errors["real_name"] = _("请填写 2-32 字的真实姓名")
    elif has_control_characters(name):
        errors["real_name"] = _("姓名中不能包含控制字符或不可见字符")
    clean["real_name"] = name
    try:
        info = parse_id_number(data.id_number, today)
        clean.update(id_number=info.number, birth_date=info.birth_date, gender=info.gender)
        clash = select(TraineeProfile.user_id).where(TraineeProfile.id_number_hash == lookup_hash(info.number))
        owner = session.scalar(clash)
        if refuse_known_id and owner is not None and owner != exclude_user_id:
            errors["id_number"] = _("该身份证号已注册，请直接登录或联系管理员")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    clean["education"] = _choice(EducationLevel, data.education, "education", errors)
    clean["title_level"] = _choice(TitleLevel, data.title_level, "title_level", errors)
    clean["quality_qualification"] = _choice(
        QualityQualification, data.quality_qualification or "none", "quality_qualification", errors
    )
    try:
        years = int(data.quality_years)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        years = -1
    if not 0 <= years <= 60:
        errors["quality_years"] = _("质量工作年限须为 0-60 之间的整数")
    clean["quality_years"] = years
    try:
        clean["phone"] = normalise_phone(data.phone)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    email = (data.email or "").strip()
    if email and not EMAIL_RE.match(email):
        errors["email"] = _("电子邮箱格式不正确")
    clean["email"] = email
    postcode = (data.postcode or "").strip()
    if postcode and not re.fullmatch(r"\d{6}", postcode):
        errors["postcode"] = _("邮政编码应为 6 位数字")
    clean["postcode"] = postcode
    for f, limit in (("school", 128), ("major", 64), ("professional_title", 64), ("current_post", 64), ("address", 255)):
        v = (getattr(data, f) or "").strip()
        if len(v) > limit:
            errors[f] = _("不能超过 %(n)d 字", n=limit)
        clean[f] = v
    if errors:
        raise ValidationFailed(errors)
    return clean


def current_pledge(session: Session) -> PledgeText:
    """The pledge text in force: the latest published version."""
    pledge = session.scalar(select(PledgeText).order_by(PledgeText.published_at.desc()).limit(1))
    if pledge is None:
        raise DomainError(_("尚未发布质量诚信承诺书，请联系管理员"))
    return pledge


def sign_pledge(session: Session, user: User, version: str, context: str) -> PledgeSignature:
    """Record that the user accepted a given version of the integrity pledge."""
    pledge = session.get(PledgeText, version)
    if pledge is None:
        raise ValidationFailed({"pledge": _("承诺书版本无效，请刷新页面后重试")})
    sig = PledgeSignature(
        user_id=user.id,
        version=pledge.version,
        text_sha256=hashlib.sha256(pledge.body.encode()).hexdigest(),
        context=context,
    )
    session.add(sig)
    return sig


def registration_problems(
    session: Session, *, username: str, password: str, profile: ProfileData, pledge_version: str | None, today: dt.date
) -> tuple[dict, dict[str, str]]:
    """Every problem of a self-registration at once (profile, account, pledge), with the clean profile values. An ID
    number another profile holds is not a problem here (issue 18: registration must not reveal it)."""
    errors: dict[str, str] = {}
    clean: dict = {}
    try:
        clean = validate_profile(session, profile, today, refuse_known_id=False)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        auth_services.validate_username(session, username)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    problem = auth_services.password_problem(password or "")
    if problem:
        errors["password"] = problem
    if not pledge_version:
        errors["pledge"] = _("须阅读并签署质量诚信承诺书")
    return clean, errors


def register_trainee(
    session: Session,
    *,
    username: str,
    password: str,
    profile: ProfileData,
    enterprise: Enterprise | None,
    pledge_version: str | None,
    today: dt.date,
) -> User | None:
    """Self-registration: an account, the real-name profile and the signed integrity pledge, all or nothing.
    An ID number that is already registered is not revealed (issue 18: "registration answers the same whether the
    ID is known or not and tells the owner by other means"): once every other field is valid, nothing is created,
    the owner is notified (``notify_owner_of_registration``) and None is returned; the caller answers as for a
    new account."""
    clean, errors = registration_problems(
        session, username=username, password=password, profile=profile, pledge_version=pledge_version, today=today
    )
    if errors:
        raise ValidationFailed(errors)
    owner = session.scalar(select(TraineeProfile.user_id).where(TraineeProfile.id_number_hash == lookup_hash(clean["id_number"])))
    if owner is not None:
        notify_owner_of_registration(session, owner)
        return None
    user = auth_services.create_user(
        session, username=username, password=password, display_name=clean["real_name"], role=Role.trainee,
        email=clean["email"],
    )
    _apply(user, None, clean, enterprise, session)
    sign_pledge(session, user, pledge_version, "registration")
    audit.record(session, user, "trainee.register", user)
    return user


def notify_owner_of_registration(session: Session, owner_id: int) -> None:
    """Tell the holder of an ID number that someone tried to register a new account with it (in the platform, and
    by e-mail where one is known), and audit it without the number: the registrant was answered as if new."""
    notifications.notify(
        session, owner_id, "account.duplicate_registration", _("有人尝试用您的身份证号注册新账号"),
        _("有人使用您的身份证号提交了新账号注册，系统未创建该账号。如果是您本人，请直接用原账号登录（忘记密码请联系"
          "所在机构或监管部门重置）；如果不是您本人，请修改密码并联系监管部门。"), url="/login")
    audit.record(session, None, "trainee.register_known_id", object_type="User", object_id=owner_id)


def _apply(user: User, prof: TraineeProfile | None, clean: dict, enterprise: Enterprise | None, session: Session):
    if prof is None:
        prof = TraineeProfile(user_id=user.id)
        session.add(prof)
    for k, v in clean.items():
        setattr(prof, k, v)
    prof.id_number_hash = lookup_hash(clean["id_number"])
    prof.phone_hash = lookup_hash(clean["phone"])
    prof.enterprise_id = enterprise.id if enterprise else None
    session.flush()
    return prof


def update_profile(
    session: Session, actor: User, prof: TraineeProfile, data: ProfileData, enterprise: Enterprise | None, today: dt.date
) -> TraineeProfile:
    """Edit a profile (by its owner). The ID number can only be corrected, not reused by someone else."""
    if actor.id != prof.user_id and actor.role != Role.system_admin:
        raise DomainError(_("只能修改自己的资料"))
    clean = validate_profile(session, data, today, exclude_user_id=prof.user_id)
    _apply(prof.user, prof, clean, enterprise, session)
    prof.user.display_name = clean["real_name"]
    audit.record(session, actor, "trainee.profile_update", prof)
    return prof


def holder_matches(session: Session, user_id: int, id_number: str) -> bool:
    """True if ``id_number`` is this person's; used by the certificate holder check, reveals nothing else."""
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user_id))
    return prof is not None and prof.id_number_hash == lookup_hash((id_number or "").strip())
