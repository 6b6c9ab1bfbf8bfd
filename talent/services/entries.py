"""Entering the pool from certificates: an issued certificate creates or updates the holder's entry (the highest
tier in force, region, enterprise); a certificate revoked, superseded or expired can make the entry exit. The
certificates feature's signals reach these through ``talent.wiring``; all are safe to run twice.

The pool is the province's register of CQOs (seed 002 §4(3): 「县质量强县工作委员会办公室对全县的企业首席质量官
进行统一登记管理」): an entry is placed in the region of the CQO's enterprise, falling back to the region where
they were trained when no enterprise is known; a move (another enterprise, or the enterprise's region changed)
moves the entry and is recorded in its history (``place``)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session, selectinload

from certificates.models import Certificate
from certificates.services import renewal
from certificates.services.numbering import CertConfig
from lms.auth.models import User
from lms.domain import Tier
from lms.errors import DomainError
from lms.notifications.services import link, notify
from lms.orgs.models import Enterprise, Region
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from lms.templating import today_local
from talent.models import Cause, PoolStatus, TalentCertificate, TalentEntry, TalentEvent
from talent.services.status import set_status


def on_certificate_issued(session: Session, *, user_id: int, certificate_id: int, number: str, tier: str,
                          issued_on: dt.date, valid_until: dt.date | None, region_id: int,
                          enterprise_id: int | None) -> TalentEntry:
    """Create or update the person's pool entry for an issued certificate: records the certificate, keeps
    the highest tier in force, region and enterprise. The entry's region is the enterprise's; ``region_id`` (where
    the holder was trained) only without an enterprise. Calling it again for the same certificate is a no-op
    apart from refreshing its data."""
    tier = Tier(tier)
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    region_id = enterprise.region_id if enterprise else region_id
    province = province_of(session, region_id)
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user_id))
    if entry is None:
        entry = TalentEntry(user_id=user_id, province_id=province.id, region_id=region_id, enterprise_id=enterprise_id,
                            highest_tier=tier, status=PoolStatus.active, status_cause=Cause.certified,
                            status_since=issued_on, entered_on=issued_on)
        session.add(entry)
        session.flush()
        session.add(TalentEvent(entry_id=entry.id, on=issued_on, from_status=None, to_status=PoolStatus.active,
                                cause=Cause.certified, reason=number))
    else:
        place(session, entry, enterprise_id or entry.enterprise_id, issued_on, fallback_region_id=region_id)
    cert = session.scalar(select(TalentCertificate).where(TalentCertificate.certificate_id == certificate_id))
    if cert is None:
        cert = TalentCertificate(entry_id=entry.id, certificate_id=certificate_id, number=number, tier=tier,
                                 issued_on=issued_on, valid_until=valid_until, status="valid")
        session.add(cert)
    else:
        cert.number, cert.tier, cert.issued_on, cert.valid_until = number, tier, issued_on, valid_until
    session.flush()
    session.refresh(entry, ["certificates"])
    _recompute_tier(entry, issued_on)
    if entry.status == PoolStatus.exited and entry.status_cause in (Cause.revoked_certificate, Cause.certificate_expired):
        set_status(session, entry, PoolStatus.active, Cause.certified, issued_on, reason=number)
    session.flush()
    return entry


def _recompute_tier(entry: TalentEntry, on: dt.date) -> None:
    in_force = [c.tier for c in entry.certificates if c.in_force(on)]
    entry.highest_tier = max(in_force, key=lambda t: t.rank) if in_force else None


def on_certificate_status_changed(session: Session, *, user_id: int, certificate_id: int, status: str,
                                  reason: str, today: dt.date | None = None) -> TalentEntry | None:
    """A certificate was revoked, expired, or restored ('valid'). Without a certificate in force the entry
    exits the pool with the cause (revoked certificate / certificate expired)."""
    today = today or today_local()
    cert = session.scalar(select(TalentCertificate).where(TalentCertificate.certificate_id == certificate_id))
    if cert is None:
        return None
    entry = cert.entry
    if entry.user_id != user_id:
        raise DomainError(_("证书与持证人不符"))
    cert.status, cert.status_reason = status, (reason or "")[:2000]
    session.flush()
    _recompute_tier(entry, today)
    if entry.highest_tier is None and entry.status != PoolStatus.exited:
        cause = Cause.revoked_certificate if status == "revoked" else Cause.certificate_expired
        set_status(session, entry, PoolStatus.exited, cause, today, reason=reason or "")
    elif entry.highest_tier is not None and entry.status == PoolStatus.exited and entry.status_cause in (
            Cause.revoked_certificate, Cause.certificate_expired):
        set_status(session, entry, PoolStatus.active, Cause.certified, today, reason=reason or "")
    session.flush()
    return entry


def expire_certificates(session: Session, today: dt.date) -> int:
    """Certificates past their validity stop counting: the highest tier is recomputed and an entry left
    without a certificate in force exits with the cause 'certificate expired'. Idempotent."""
    certs = session.scalars(select(TalentCertificate).where(
        TalentCertificate.status == "valid", TalentCertificate.valid_until < today)).all()
    for c in certs:
        on_certificate_status_changed(session, user_id=c.entry.user_id, certificate_id=c.certificate_id,
                                      status="expired", reason=_("证书有效期至 %(d)s", d=c.valid_until.isoformat()),
                                      today=today)
    return len(certs)


def enter_pool(session: Session, certificate: Certificate) -> TalentEntry:
    """An issued certificate puts its holder in the pool (``on_certificate_issued`` with the certificate's
    values, the enterprise on the holder's profile and that enterprise's region — the class's region only when
    no enterprise is known)."""
    enterprise = session.scalar(select(Enterprise).join(TraineeProfile, TraineeProfile.enterprise_id == Enterprise.id)
                                .where(TraineeProfile.user_id == certificate.holder_user_id))
    return on_certificate_issued(session, user_id=certificate.holder_user_id, certificate_id=certificate.id,
                                 number=certificate.number, tier=certificate.tier.value, issued_on=certificate.issued_on,
                                 valid_until=certificate.valid_until,
                                 region_id=enterprise.region_id if enterprise else certificate.region_id,
                                 enterprise_id=enterprise.id if enterprise else None)


def enter_pool_many(session: Session, certificates: list[Certificate]) -> None:
    """A batch of issued certificates (issuing in bulk, issue 20) puts their holders in the pool as
    ``enter_pool`` does one by one, with one statement per table for the holders not yet in the pool: their
    enterprises read at once, the entries, their first events and the certificates each inserted in one
    statement. Holders already in the pool (or twice in the batch) go through ``enter_pool``."""
    if not certificates:
        return
    user_ids = {c.holder_user_id for c in certificates}
    in_pool = {e.user_id: e for e in session.scalars(select(TalentEntry).where(TalentEntry.user_id.in_(user_ids))
                                                      .options(selectinload(TalentEntry.certificates)))}
    works_at = {uid: (eid, rid) for uid, eid, rid in session.execute(
        select(TraineeProfile.user_id, Enterprise.id, Enterprise.region_id)
        .join(Enterprise, Enterprise.id == TraineeProfile.enterprise_id)
        .where(TraineeProfile.user_id.in_(user_ids)))}
    fresh: dict[int, Certificate] = {}
    known: dict[int, Certificate] = {}
    rest: list[Certificate] = []
    for c in certificates:
        uid = c.holder_user_id
        if uid in fresh or uid in known:
            rest.append(c)
        elif uid not in in_pool:
            fresh[uid] = c
        elif _stays(in_pool[uid], works_at.get(uid), c):
            known[uid] = c
        else:
            rest.append(c)
    if fresh:
        _enter_fresh(session, list(fresh.values()), works_at)
    if known:
        _enter_known(session, [(in_pool[uid], c) for uid, c in known.items()])
    for c in rest:
        enter_pool(session, c)


def _stays(entry: TalentEntry, works_at: tuple[int, int] | None, certificate: Certificate) -> bool:
    """Does ``on_certificate_issued`` leave this entry where it is, in its status, for ``certificate``? (No move to
    log, no return from an exit to record: then only the certificate and the highest tier change.) False sends the
    certificate through ``enter_pool``, which handles every case."""
    if entry.status == PoolStatus.exited and entry.status_cause in (Cause.revoked_certificate,
                                                                    Cause.certificate_expired):
        return False
    if works_at is not None:  # the holder's enterprise and its region (``place`` with that enterprise)
        return entry.enterprise_id == works_at[0] and entry.region_id == works_at[1]
    # No enterprise on the profile: ``place`` keeps the entry's enterprise (its region: not read here, so such an
    # entry goes one by one) or, with none, places the entry in the class's region.
    return entry.enterprise_id is None and entry.region_id == certificate.region_id


def _enter_known(session: Session, pairs: list[tuple[TalentEntry, Certificate]]) -> None:
    """Holders already in the pool who stay where they are (``_stays``): their certificates recorded on their
    entries in one INSERT and each highest tier in force recomputed, as ``on_certificate_issued`` does for each."""
    recorded = set(session.scalars(select(TalentCertificate.certificate_id).where(
        TalentCertificate.certificate_id.in_([c.id for _e, c in pairs]))))
    rows = []
    for entry, c in pairs:
        if c.id in recorded:  # run twice: refresh the recorded certificate's data, as one by one does
            enter_pool(session, c)
            continue
        rows.append({"entry_id": entry.id, "certificate_id": c.id, "number": c.number, "tier": c.tier,
                     "issued_on": c.issued_on, "valid_until": c.valid_until, "status": "valid"})
        # _recompute_tier on the issue date, the new certificate (status valid) among the entry's
        in_force = [t.tier for t in entry.certificates if t.in_force(c.issued_on)]
        if c.valid_until is None or c.valid_until >= c.issued_on:
            in_force.append(c.tier)
        entry.highest_tier = max(in_force, key=lambda t: t.rank) if in_force else None
        session.expire(entry, ["certificates"])  # read again, with the new one, if anyone asks
    if rows:
        session.execute(insert(TalentCertificate), rows)  # one statement (the ORM inserted row by row)
    session.flush()


def _enter_fresh(session: Session, certificates: list[Certificate], works_at: dict[int, tuple[int, int]]) -> None:
    """New entries for holders with none: what ``on_certificate_issued`` writes for them, set-based
    (``works_at``: the holders' enterprises and their regions)."""
    provinces: dict[int, int] = {}
    rows = []
    for c in certificates:
        enterprise_id, region_id = works_at.get(c.holder_user_id, (None, c.region_id))
        if region_id not in provinces:
            provinces[region_id] = province_of(session, region_id).id
        in_force = c.valid_until is None or c.valid_until >= c.issued_on  # _recompute_tier on the issue date
        rows.append({"user_id": c.holder_user_id, "province_id": provinces[region_id], "region_id": region_id,
                     "enterprise_id": enterprise_id, "highest_tier": c.tier if in_force else None,
                     "status": PoolStatus.active, "status_cause": Cause.certified, "status_since": c.issued_on,
                     "entered_on": c.issued_on})
    entry_of = dict((uid, eid) for eid, uid in session.execute(
        insert(TalentEntry).returning(TalentEntry.id, TalentEntry.user_id), rows))
    session.execute(insert(TalentEvent), [
        {"entry_id": entry_of[c.holder_user_id], "on": c.issued_on, "from_status": None, "to_status": PoolStatus.active,
         "cause": Cause.certified, "reason": c.number} for c in certificates])
    session.execute(insert(TalentCertificate), [
        {"entry_id": entry_of[c.holder_user_id], "certificate_id": c.id, "number": c.number, "tier": c.tier,
         "issued_on": c.issued_on, "valid_until": c.valid_until, "status": "valid"} for c in certificates])


def place(session: Session, entry: TalentEntry, enterprise_id: int | None, on: dt.date, *,
          fallback_region_id: int | None = None, actor: User | None = None) -> TalentEvent | None:
    """Place ``entry`` at ``enterprise_id`` in that enterprise's region (``fallback_region_id`` when there is no
    enterprise): a change of enterprise or region is a move, logged as an event of the entry's history (its
    status unchanged) with where from and where to. None when nothing moves."""
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    region_id = enterprise.region_id if enterprise else (fallback_region_id or entry.region_id)
    if entry.enterprise_id == (enterprise.id if enterprise else entry.enterprise_id) and entry.region_id == region_id:
        return None
    before = _where(session, entry.enterprise_id, entry.region_id)
    if enterprise is not None:
        entry.enterprise_id = enterprise.id
    entry.region_id, entry.province_id = region_id, province_of(session, region_id).id
    ev = TalentEvent(entry_id=entry.id, on=on, from_status=entry.status, to_status=entry.status, cause=Cause.moved,
                     reason=f"{before} → {_where(session, entry.enterprise_id, region_id)}",
                     actor_id=getattr(actor, "id", None))
    session.add(ev)
    session.flush()
    return ev


def _where(session: Session, enterprise_id: int | None, region_id: int) -> str:
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    region = session.get(Region, region_id)
    return f"{enterprise.name}（{region.name}）" if enterprise else region.name


def follow_enterprises(session: Session, today: dt.date) -> int:
    """The daily move of entries whose CQO now works at another enterprise (the profile says so) or whose
    enterprise's region changed: each is placed again (``place``: an event in its history). Idempotent."""
    moved = session.execute(
        select(TalentEntry, TraineeProfile.enterprise_id)
        .join(TraineeProfile, TraineeProfile.user_id == TalentEntry.user_id)
        .join(Enterprise, Enterprise.id == TraineeProfile.enterprise_id)
        .where(TalentEntry.status != PoolStatus.exited,
               or_(TalentEntry.enterprise_id.is_(None), TalentEntry.enterprise_id != Enterprise.id,
                   TalentEntry.region_id != Enterprise.region_id))).all()
    for entry, enterprise_id in moved:
        place(session, entry, enterprise_id, today)
    return len(moved)


def certificate_changed(session: Session, certificate: Certificate, reason: str = "",
                        today: dt.date | None = None) -> TalentEntry | None:
    """A certificate's status changed (revoked, suspended, reinstated, superseded, expired): the pool follows
    it (``on_certificate_status_changed`` with the certificate's status now)."""
    return on_certificate_status_changed(session, user_id=certificate.holder_user_id, certificate_id=certificate.id,
                                         status=certificate.status.value, reason=reason, today=today)


def certificate_reissued(session: Session, certificate: Certificate, reason: str = "",
                         today: dt.date | None = None) -> TalentEntry | None:
    """A certificate was superseded by a corrected one (``certificate`` is either of the two): the new one
    enters the pool first, then the old one stops counting, in that order so that the entry never exits."""
    new = certificate if certificate.supersedes_id else session.get(Certificate, certificate.superseded_by_id)
    old = session.get(Certificate, new.supersedes_id)
    enter_pool(session, new)
    return certificate_changed(session, old, reason, today)


RENEWAL_DAYS = 30  # how long before its end a certificate is renewed, or its holder told it will not be (示例)


def renew_certificates(session: Session, today: dt.date, cfg: CertConfig, actor: User | None = None) -> dict:
    """Certificates whose province sets a validity, ending within ``RENEWAL_DAYS``: a CQO still in the pool and
    not lapsed (only a lapse ends a certificate: an entry on warning is still within the CE rule's tolerance) has
    it renewed (``certificates.services.renewal.renew``: same number, new validity, an event of the certificate
    and of the entry); a lapsed one is told, before the end, that it will not be. Idempotent."""
    due = session.execute(
        select(TalentCertificate, TalentEntry)
        .join(TalentEntry, TalentEntry.id == TalentCertificate.entry_id)
        .where(TalentCertificate.status == "valid", TalentCertificate.valid_until.is_not(None),
               TalentCertificate.valid_until >= today,
               TalentCertificate.valid_until <= today + dt.timedelta(days=RENEWAL_DAYS),
               TalentEntry.status != PoolStatus.exited)).all()
    out = {"renewed": 0, "not_renewed": 0}
    for tc, entry in due:
        cert = session.get(Certificate, tc.certificate_id)
        if entry.status == PoolStatus.lapsed or cert is None or renewal.validity_years(session, cert) is None:
            if notify(session, entry.user_id, "certificate_expiry", _("证书即将到期"),
                      _("证书 %(n)s 将于 %(d)s 到期；人才库状态为“%(s)s”，不予续期。", n=tc.number, d=tc.valid_until.isoformat(),
                        s=entry.status.label), url=link("certificates.detail", cert_id=tc.certificate_id),
                      dedupe_key=f"certificate_expiry:{tc.number}:{tc.valid_until.isoformat()}"):
                out["not_renewed"] += 1
            continue
        before = tc.valid_until
        renewal.renew(session, actor, cert, cfg, today)
        tc.valid_until = cert.valid_until
        session.add(TalentEvent(entry_id=entry.id, on=today, from_status=entry.status, to_status=entry.status,
                                cause=Cause.renewed, reason=_("证书 %(n)s 有效期由 %(a)s 续至 %(b)s", n=tc.number,
                                                              a=before.isoformat(), b=cert.valid_until.isoformat())))
        notify(session, entry.user_id, "certificate_renewed", _("证书已续期"),
               _("证书 %(n)s 有效期续至 %(d)s。", n=tc.number, d=cert.valid_until.isoformat()),
               url=link("certificates.detail", cert_id=cert.id))
        out["renewed"] += 1
    session.flush()
    return out
