"""The demo must not leak into production: ``flask seed-demo`` asks here first.

It refuses when ``LMS_ENV=production`` and on a database that holds anything the demo did not create (an
account or a region of its own: ``flask setup`` was run, or people use it), so its accounts with the public
password from the README never land beside real ones. Its certificates are signed with a demo key (kid
``demo-…``) that a production site neither publishes nor signs with (``certificates.keys``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import demo
from lms.auth.models import User
from lms.orgs.models import Institution, Region

DEMO_USERNAMES = {"admin", "jiangsu_admin", "nantong_admin", "qidong_admin", "fujian_admin", "nt_staff", "js_staff",
                  "fj_staff", "trainee"} | {f"trainee{i:02d}" for i in range(1, 30)}


def is_demo_database(session: Session) -> bool:
    """The demo's first institution is there: this database was made by seed-demo."""
    _name, seed, _region, _tiers = demo.INSTITUTIONS[0]
    return session.scalar(select(Institution.id).where(Institution.credit_code == demo.credit_code(seed))) is not None


def refusal(session: Session, env: str) -> str | None:
    """Why seed-demo must not run here, or None."""
    if env == "production":
        return "seed-demo refused: LMS_ENV=production (demo accounts share a public password)"
    if is_demo_database(session):
        return None  # the demo is there already (`make run` again): people trying it out may have added to it
    others = session.scalars(select(User.username).where(User.username.not_in(DEMO_USERNAMES)).limit(3)).all()
    if others:
        return (f"seed-demo refused: this database holds accounts the demo did not create ({', '.join(others)}…); "
                "load the demo into an empty database of its own")
    codes = {code for code, *_rest in demo.REGIONS}
    regions = session.scalars(select(Region.code).where(Region.code.not_in(codes)).limit(3)).all()
    if regions:
        return (f"seed-demo refused: this database holds regions the demo did not create ({', '.join(regions)}…, "
                "loaded by `flask setup`); load the demo into an empty database of its own")
    return None
