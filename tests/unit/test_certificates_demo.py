"""The demo data holds certificates in every state but expired (no validity is set), and seeding twice adds nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from certificates import services
from certificates.models import Certificate
from lms import demo
from tests.conftest import TODAY


def test_demo_has_each_state_and_is_idempotent(app, db):
    with app.app_context():
        demo.seed(db, TODAY)
        n = db.scalar(select(func.count(Certificate.id)))
        states = {services.effective_status(c, TODAY).value for c in db.scalars(select(Certificate))}
        # No seed sets a validity, so the demo's programmes set none (issue 14): nothing expires, even the
        # certificate issued four years ago.
        assert {"valid", "revoked", "superseded"} <= states and "expired" not in states
        again = demo.seed(db, TODAY)
        assert again.get("certificates", 0) == 0 and db.scalar(select(func.count(Certificate.id))) == n
