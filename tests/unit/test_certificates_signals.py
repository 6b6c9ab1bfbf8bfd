"""What certificates announce (certificates.signals): each change sends its signal once, in the session of the
change, with the certificate already in its new state and flushed, and nothing committed."""
from __future__ import annotations

import datetime as dt
from contextlib import ExitStack

import pytest

from certificates import services, signals
from certificates.models import ReasonCategory
from lms.errors import Forbidden
from tests import factories
from tests.cert_factories import cert_cfg, completion_rules, cw, enrol  # noqa: F401
from tests.conftest import TODAY

ALL = ["certificate_issued", "certificate_reissued", "certificate_revoked", "certificate_suspended",
       "certificate_reinstated", "certificate_expired"]


@pytest.fixture
def sent():
    """Every signal sent during the test: (name, kwargs, the certificate's status and id when it was sent)."""
    log: list[tuple[str, dict, str, int | None]] = []
    with ExitStack() as stack:
        for name in ALL:
            def receiver(sender, _name=name, **kw):
                assert sender is None
                log.append((_name, kw, kw["certificate"].status.value, kw["certificate"].id))
            stack.enter_context(getattr(signals, name).connected_to(receiver))
        yield log


def test_issue_sends_certificate_issued(db, world, cw, cert_cfg, sent):
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    [(name, kw, status, cert_id)] = sent
    assert (name, status, cert_id) == ("certificate_issued", "valid", cert.id)
    assert kw == {"session": db, "certificate": cert, "actor": world.staff_nt, "today": TODAY}
    assert db.in_transaction() and cert in db  # flushed, nothing committed


def test_reissue_announces_the_new_then_the_superseded(db, world, cw, cert_cfg, sent):
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    sent.clear()
    new = services.reissue(db, world.staff_nt, cert, "姓名有误", cert_cfg, TODAY)
    assert [(n, s, i) for n, _kw, s, i in sent] == [("certificate_issued", "valid", new.id),
                                                   ("certificate_reissued", "superseded", cert.id)]
    kw = sent[1][1]
    assert (kw["replacement"], kw["reason"], kw["actor"], kw["today"]) == (new, "姓名有误", world.staff_nt, TODAY)
    assert sent[0][1]["certificate"].supersedes_id == cert.id


def test_status_changes_send_their_signals_with_the_reason(db, world, cw, cert_cfg, sent):
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    sent.clear()
    services.change_status(db, world.city_admin, cert, "suspend", "under_investigation", "核查中", TODAY)
    services.change_status(db, world.city_admin, cert, "reinstate", None, "核查完毕", TODAY)
    services.revoke(db, world.city_admin, cert, "quality_fault", "重大质量事故", TODAY)
    assert [(n, s) for n, _kw, s, _i in sent] == [("certificate_suspended", "suspended"),
                                                  ("certificate_reinstated", "valid"),
                                                  ("certificate_revoked", "revoked")]
    assert [kw["reason"] for _n, kw, _s, _i in sent] == [
        f"{ReasonCategory.under_investigation.label}：核查中", "核查完毕", f"{ReasonCategory.quality_fault.label}：重大质量事故"]
    assert all(kw["actor"] is world.city_admin and kw["today"] == TODAY for _n, kw, _s, _i in sent)


def test_a_refused_change_sends_nothing(db, world, cw, cert_cfg, sent):
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    sent.clear()
    with pytest.raises(Forbidden):
        services.revoke(db, world.staff_nt, cert, "quality_fault", "", TODAY)
    assert sent == []


def test_expiry_sends_certificate_expired_without_actor(db, world, cw, cert_cfg, sent):
    other = enrol(db, cw.cls, factories.make_trainee(db, "trainee_s", world.ent_qd, real_name="李强"))
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
        services.issue(db, world.staff_nt, other, cert_cfg, TODAY)
    sent.clear()
    later = cert.valid_until + dt.timedelta(days=1)
    assert services.expire_due(db, later) == 2
    assert [(n, s) for n, _kw, s, _i in sent] == [("certificate_expired", "expired")] * 2
    assert set(sent[0][1]) == {"session", "certificate", "reason", "today"} and sent[0][1]["today"] == later
