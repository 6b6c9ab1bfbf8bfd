"""Test data builders: plain functions over the services, so test data obeys the same rules as real data."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from lms.auth import services as auth_services
from lms.auth.models import User
from lms.demo import PLEDGE_BODY, PLEDGE_TITLE, PLEDGE_VERSION, credit_code, id_number
from lms.domain import Role, Tier
from lms.orgs import services as org_services
from lms.orgs.models import Enterprise, Institution, Region
from lms.people import services as people_services
from lms.people.models import PledgeText

PASSWORD = "Passw0rd!cqo"
_seq = itertools.count(1)


def make_enterprise(session: Session, region: Region, *, size: str = "medium", above: bool = True, name: str | None = None) -> Enterprise:
    n = next(_seq)
    return org_services.save_enterprise(session, None, org_services.EnterpriseData(
        name=name or f"测试企业{n}有限公司", credit_code=credit_code(f"{region.code}MA{n:07d}"), region_id=region.id,
        industry="机械制造", ownership_type="private", size_class=size, above_designated_size=above))


def make_institution(session: Session, region: Region, tiers=(Tier.basic,), *, name: str | None = None) -> Institution:
    n = next(_seq)
    inst = org_services.save_institution(session, _system(session), org_services.InstitutionData(
        name=name or f"测试培训机构{n}", credit_code=credit_code(f"{region.code}MB{n:07d}"), region_id=region.id))
    for t in tiers:
        org_services.authorise(session, _system(session), inst, t, dt.date(2026, 1, 1), dt.date(2028, 12, 31))
    return inst


def _system(session: Session) -> User:
    from sqlalchemy import select

    user = session.scalar(select(User).where(User.username == "sys"))
    if user is None:
        user = auth_services.create_user(session, username="sys", password=PASSWORD, display_name="系统", role=Role.system_admin)
    return user


def make_staff(session: Session, username: str, role: Role, *, region: Region | None = None, institution: Institution | None = None) -> User:
    return auth_services.create_user(session, username=username, password=PASSWORD, display_name=username, role=role,
                                     region=region, institution=institution)


def profile_data(**overrides) -> people_services.ProfileData:
    n = next(_seq)
    base = dict(
        real_name="王芳", id_number=id_number("320600", dt.date(1985, 6, 15), (n * 2) % 1000), education="bachelor",
        school="南通大学", major="质量管理", title_level="intermediate", professional_title="工程师",
        quality_qualification="none", quality_years=8, current_post="质量部经理", phone=f"139{n:08d}",
        email="", address="启东市人民路 1 号", postcode="226200",
    )
    base.update(overrides)
    return people_services.ProfileData(**base)


def make_trainee(session: Session, username: str, enterprise: Enterprise, **overrides) -> User:
    ensure_pledge(session)
    return people_services.register_trainee(
        session, username=username, password=PASSWORD, profile=profile_data(**overrides), enterprise=enterprise,
        pledge_version=PLEDGE_VERSION, today=dt.date(2026, 11, 22))


def ensure_pledge(session: Session) -> PledgeText:
    p = session.get(PledgeText, PLEDGE_VERSION)
    if p is None:
        p = PledgeText(version=PLEDGE_VERSION, title=PLEDGE_TITLE, body=PLEDGE_BODY)
        session.add(p)
        session.flush()
    return p


@dataclass
class World:
    jiangsu: Region
    nantong: Region
    qidong: Region
    rugao: Region
    fujian: Region
    fuzhou: Region
    inst_nt: Institution
    inst_fj: Institution
    ent_qd: Enterprise
    ent_rg: Enterprise
    ent_fz: Enterprise
    sysadmin: User
    province_admin: User
    city_admin: User
    county_admin: User
    rugao_admin: User
    fujian_admin: User
    staff_nt: User
    staff_fj: User
    trainee: User
    trainee_fz: User

    @classmethod
    def build(cls, s: Session) -> "World":
        ensure_pledge(s)
        js = org_services.ensure_region(s, "320000", "江苏省", None, "江苏省市场监督管理局")
        nt = org_services.ensure_region(s, "320600", "南通市", js, "南通市市场监督管理局")
        qd = org_services.ensure_region(s, "320681", "启东市", nt, "启东市市场监督管理局")
        rg = org_services.ensure_region(s, "320682", "如皋市", nt, "如皋市市场监督管理局")
        fj = org_services.ensure_region(s, "350000", "福建省", None, "福建省市场监督管理局")
        fz = org_services.ensure_region(s, "350100", "福州市", fj, "福州市市场监督管理局")
        inst_nt = make_institution(s, nt, (Tier.basic, Tier.advanced), name="南通培训中心")
        inst_fj = make_institution(s, fj, (Tier.basic, Tier.advanced, Tier.senior), name="福建质协")
        ent_qd = make_enterprise(s, qd, name="启东机械有限公司")
        ent_rg = make_enterprise(s, rg, size="small", above=False, name="如皋食品有限公司")
        ent_fz = make_enterprise(s, fz, name="福州电机有限公司")
        w = cls(
            jiangsu=js, nantong=nt, qidong=qd, rugao=rg, fujian=fj, fuzhou=fz, inst_nt=inst_nt, inst_fj=inst_fj,
            ent_qd=ent_qd, ent_rg=ent_rg, ent_fz=ent_fz,
            sysadmin=_system(s),
            province_admin=make_staff(s, "js_admin", Role.regulator_admin, region=js),
            city_admin=make_staff(s, "nt_admin", Role.regulator_admin, region=nt),
            county_admin=make_staff(s, "qd_admin", Role.regulator_admin, region=qd),
            rugao_admin=make_staff(s, "rg_admin", Role.regulator_admin, region=rg),
            fujian_admin=make_staff(s, "fj_admin", Role.regulator_admin, region=fj),
            staff_nt=make_staff(s, "nt_staff", Role.institution_staff, institution=inst_nt),
            staff_fj=make_staff(s, "fj_staff", Role.institution_staff, institution=inst_fj),
            trainee=make_trainee(s, "wangfang", ent_qd),
            trainee_fz=make_trainee(s, "linfz", ent_fz, real_name="林建华",
                                    id_number=id_number("350121", dt.date(1980, 3, 3), 31)),
        )
        s.flush()
        return w
