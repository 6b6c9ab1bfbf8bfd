"""Demo data: two provinces' regions and bureaus, institutions, enterprises, trainees and one account per
role. Idempotent: every record is looked up by its natural key before it is created."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from lms.auth import services as auth_services
from lms.auth.models import User
from lms.domain import EducationLevel, OwnershipType, QualityQualification, Role, SizeClass, TitleLevel, Tier
from lms.orgs import services as org_services
from lms.orgs import tiers
from lms.orgs.models import Enterprise, Institution, Region, TierOrganisation
from lms.people import services as people_services
from lms.people.models import PledgeText, TraineeProfile
from lms.pii import lookup_hash

DEMO_PASSWORD = "Demo2026!cqo"
PLEDGE_VERSION = "2024-01"
PLEDGE_TITLE = "首席质量官质量诚信承诺书"
PLEDGE_BODY = """本人自愿参加首席质量官培训，郑重承诺：
一、遵守《中华人民共和国产品质量法》等法律法规，恪守职业道德，诚实守信；
二、所填报的个人信息、学历、职称、工作经历等材料真实、准确、完整，如有虚假，自愿承担相应责任；
三、认真履行首席质量官职责，坚持质量第一，不弄虚作假，不以权谋私，不泄露企业商业秘密；
四、按时参加培训和继续教育，遵守培训纪律，独立完成考核，不代考、不作弊；
五、自觉接受市场监督管理部门和社会监督，如有违反，愿接受警示、撤销证书和退出人才库等处理。"""

REGIONS = [
    # code, name, parent code, bureau
    ("320000", "江苏省", None, "江苏省市场监督管理局"),
    ("320600", "南通市", "320000", "南通市市场监督管理局"),
    ("320681", "启东市", "320600", "启东市市场监督管理局"),
    ("320682", "如皋市", "320600", "如皋市市场监督管理局"),
    ("320685", "海安市", "320600", "海安市市场监督管理局"),
    ("350000", "福建省", None, "福建省市场监督管理局"),
    ("350100", "福州市", "350000", "福州市市场监督管理局"),
    ("350121", "闽侯县", "350100", "闽侯县市场监督管理局"),
]


def credit_code(seed: str) -> str:
    """A syntactically valid unified social credit code built from a 16-character seed."""
    body = ("91" + seed)[:17]
    return uscc.validate(body + uscc.calc_check_digit(body))  # the seed must use USCC's alphabet


def id_number(region_code: str, birth: dt.date, seq: int) -> str:
    """A valid resident ID number for a birth place code, birth date and sequence (demo and tests)."""
    body = f"{region_code}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


INSTITUTIONS = [
    # name, seed, region, tiers
    ("南通市质量技术培训中心", "320600MA1NT0001", "320600", [Tier.basic, Tier.advanced]),
    ("江苏省质量协会培训部", "320000MA1JU0002", "320000", [Tier.senior, Tier.advanced]),
    ("福建省质量管理协会培训中心", "350000MA2FJ0003", "350000", [Tier.basic, Tier.advanced, Tier.senior]),
]

ENTERPRISES = [
    # name, seed, region, industry, ownership, size, above
    ("启东海工装备制造有限公司", "320681MA1QD0101", "320681", "船舶与海工装备", OwnershipType.private, SizeClass.medium, True),
    ("启东市精密电子有限公司", "320681MA1QD0102", "320681", "电子元器件", OwnershipType.private, SizeClass.small, True),
    ("如皋市汽车零部件股份有限公司", "320682MA1RG0103", "320682", "汽车零部件", OwnershipType.joint_stock, SizeClass.large, True),
    ("如皋市花木食品有限公司", "320682MA1RG0104", "320682", "食品", OwnershipType.private, SizeClass.micro, False),
    ("海安市纺织机械有限公司", "320685MA1HA0105", "320685", "纺织机械", OwnershipType.private, SizeClass.medium, True),
    ("海安市建材科技有限公司", "320685MA1HA0106", "320685", "建筑材料", OwnershipType.collective, SizeClass.small, False),
    ("南通市家纺集团有限公司", "320600MA1NT0107", "320600", "家用纺织品", OwnershipType.state, SizeClass.large, True),
    ("南通市医疗器械有限公司", "320600MA1NT0108", "320600", "医疗器械", OwnershipType.foreign, SizeClass.small, True),
    ("福州市电机制造有限公司", "350100MA2FU0109", "350121", "电机", OwnershipType.private, SizeClass.medium, True),
    ("闽侯县茶业有限公司", "350121MA2MH0110", "350121", "茶叶加工", OwnershipType.private, SizeClass.micro, False),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["芳", "伟", "静", "磊", "敏", "强", "丽", "军", "洋", "艳", "勇", "娜", "杰", "涛", "明", "超", "秀英", "建华", "海燕", "志强"]


def _region(session: Session, code: str) -> Region:
    return session.scalar(select(Region).where(Region.code == code))


def seed(session: Session, today: dt.date | None = None) -> dict:
    """Load the demo data (idempotent), then each feature's (``add_seed_hook``); returns what was added."""
    today = today or dt.date.today()
    counts = {"regions": 0, "institutions": 0, "enterprises": 0, "trainees": 0, "users": 0}
    _seed_regions(session, counts)
    admin = _ensure_user(session, counts, "admin", "系统管理员", Role.system_admin)
    for username, display, region_code in [
        ("jiangsu_admin", "江苏省局管理员", "320000"),
        ("nantong_admin", "南通市局管理员", "320600"),
        ("qidong_admin", "启东市局管理员", "320681"),
        ("fujian_admin", "福建省局管理员", "350000"),
    ]:
        _ensure_user(session, counts, username, display, Role.regulator_admin, region=_region(session, region_code))
    institutions = _seed_institutions(session, counts, admin, today)
    _ensure_user(session, counts, "nt_staff", "南通培训中心教务", Role.institution_staff, institution=institutions[0])
    _ensure_user(session, counts, "js_staff", "省质协培训部教务", Role.institution_staff, institution=institutions[1])
    _ensure_user(session, counts, "fj_staff", "福建质协教务", Role.institution_staff, institution=institutions[2])
    _seed_trainees(session, counts, _seed_enterprises(session, counts, admin), today)
    _seed_tier_plans(session, admin)
    session.flush()
    for hook in sorted(_hooks, key=_hook_order):
        for k, v in (hook(session, today) or {}).items():
            counts[k] = counts.get(k, 0) + v
    return counts


def _seed_regions(session: Session, counts: dict) -> None:
    for code, name, parent_code, bureau in REGIONS:
        parent = _region(session, parent_code) if parent_code else None
        if _region(session, code) is None:
            counts["regions"] += 1
        org_services.ensure_region(session, code, name, parent, bureau)
    if session.get(PledgeText, PLEDGE_VERSION) is None:
        session.add(PledgeText(version=PLEDGE_VERSION, title=PLEDGE_TITLE, body=PLEDGE_BODY))
        session.flush()


def _seed_institutions(session: Session, counts: dict, admin: User, today: dt.date) -> list[Institution]:
    valid_from, valid_until = dt.date(today.year, 1, 1), dt.date(today.year + 2, 12, 31)
    institutions = []
    for name, code_seed, region_code, tiers in INSTITUTIONS:
        code = credit_code(code_seed)
        inst = session.scalar(select(Institution).where(Institution.credit_code == code))
        if inst is None:
            inst = org_services.save_institution(session, admin, org_services.InstitutionData(
                name=name, credit_code=code, region_id=_region(session, region_code).id,
                contact_name="培训部", contact_phone="0513-85000000"))
            for tier in tiers:
                org_services.authorise(session, admin, inst, tier, valid_from, valid_until)
            counts["institutions"] += 1
        institutions.append(inst)
    return institutions


def _seed_enterprises(session: Session, counts: dict, admin: User) -> list[Enterprise]:
    enterprises = []
    for name, code_seed, region_code, industry, own, size, above in ENTERPRISES:
        code = credit_code(code_seed)
        ent = session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
        if ent is None:
            ent = org_services.save_enterprise(session, admin, org_services.EnterpriseData(
                name=name, credit_code=code, region_id=_region(session, region_code).id, industry=industry,
                ownership_type=own.value, size_class=size.value, above_designated_size=above,
                main_products=industry + "产品"))
            counts["enterprises"] += 1
        enterprises.append(ent)
    return enterprises


def _seed_tier_plans(session: Session, admin: User) -> None:
    """Fujian runs every tier at province level through entrusted institutions (seed 001 第九条); Jiangsu keeps
    the example default (county, city, province), so it has no rows."""
    fujian = _region(session, "350000")
    if fujian is None or session.scalar(select(TierOrganisation.id).where(TierOrganisation.province_id == fujian.id)):
        return
    raw = {t.value: ("province", tiers.plan(session, fujian.id)[i].prerequisite.value if i else "")
           for i, t in enumerate(Tier)}
    tiers.save_plan(session, admin, fujian, raw, ("source", tiers.FUJIAN_SOURCE))


def _seed_trainees(session: Session, counts: dict, enterprises: list[Enterprise], today: dt.date) -> None:
    rng = random.Random(20261122)
    pledge = people_services.current_pledge(session)
    for i in range(30):
        username = "trainee" if i == 0 else f"trainee{i:02d}"
        if session.scalar(select(User.id).where(User.username == username)):
            continue
        ent = enterprises[i % len(enterprises)]
        name = "王芳" if i == 0 else rng.choice(SURNAMES) + rng.choice(GIVEN)
        birth = dt.date(1970 + rng.randrange(25), 1 + rng.randrange(12), 1 + rng.randrange(28))
        seq = rng.randrange(0, 500) * 2 + (0 if i == 0 else rng.randrange(2))  # even = female for 王芳
        # The ID's first six digits are the birth place's code in the birth year: the city's code has
        # existed throughout, the county codes only since their towns became cities.
        number = id_number(ent.region.parent.code if ent.region.level.value == "county" else ent.region.code, birth, seq)
        if session.scalar(select(TraineeProfile.id).where(TraineeProfile.id_number_hash == lookup_hash(number))):
            continue
        people_services.register_trainee(
            session, username=username, password=DEMO_PASSWORD, profile=_demo_profile(i, rng, username, ent, name, number),
            enterprise=ent, pledge_version=pledge.version, today=today,
        )
        counts["trainees"] += 1
        counts["users"] += 1


def _demo_profile(i: int, rng: random.Random, username: str, ent: Enterprise, name: str, number: str):
    big = ent.size_class.is_large_or_medium
    return people_services.ProfileData(
        real_name=name, id_number=number,
        education=(EducationLevel.bachelor if big or i % 3 else EducationLevel.junior_college).value,
        school="南通大学" if i % 2 else "江苏科技大学", major="质量管理工程",
        title_level=(TitleLevel.intermediate if i % 4 else TitleLevel.junior).value,
        professional_title="工程师" if i % 4 else "助理工程师",
        quality_qualification=(QualityQualification.engineer if i % 5 == 0 else QualityQualification.none).value,
        quality_years=8 if i == 0 else 1 + rng.randrange(15), current_post="质量部经理",
        phone=f"139{rng.randrange(10**8):08d}", email=f"{username}@example.com",
        address=ent.region.name + "人民路" + str(i + 1) + "号", postcode="226200",
    )


_hooks: list = []


# Each demo builds on the data of those before it, whatever order the modules were imported in: classes,
# then exams, then certificates, then what follows from certificates (the pool, credits, reports).
SEED_ORDER = ["courses", "exams", "certificates", "talent", "credits", "reports"]


def _hook_order(fn) -> int:
    for i, prefix in enumerate(SEED_ORDER, start=1):
        if fn.__module__ == prefix or fn.__module__.startswith(prefix + "."):
            return i
    return 0


def add_seed_hook(fn):
    """Features add their demo data after the platform's: ``fn(session, today) -> counts``."""
    if fn not in _hooks:  # a feature's init_app runs once per app; register once per process
        _hooks.append(fn)
    return fn


def _ensure_user(session, counts, username, display, role, region=None, institution=None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = auth_services.create_user(
            session, username=username, password=DEMO_PASSWORD, display_name=display, role=role,
            region=region, institution=institution,
        )
        counts["users"] += 1
    return user


DEMO_ACCOUNTS = [
    ("admin", "系统管理员"),
    ("jiangsu_admin", "江苏省市场监督管理局管理员"),
    ("nantong_admin", "南通市市场监督管理局管理员"),
    ("qidong_admin", "启东市市场监督管理局管理员"),
    ("fujian_admin", "福建省市场监督管理局管理员"),
    ("nt_staff", "南通市质量技术培训中心工作人员"),
    ("js_staff", "江苏省质量协会培训部工作人员"),
    ("trainee", "学员 王芳（启东海工装备制造有限公司）"),
]
