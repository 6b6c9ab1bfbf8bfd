"""Issuing: completion checks, who may issue for a class, creating, numbering and signing a certificate,
issue and reissue. Every new certificate is announced with ``certificate_issued``."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates import compact, photos
from certificates import keys as keystore
from certificates import seal, signing, verdicts
from certificates import signals
from certificates.models import Certificate, CertificateEvent, CertificateStatus
from certificates.services.notices import tell_holder, tell_holders
from certificates.services.numbering import CertConfig, Issuer, next_serial, next_serials, resolve_issuer
from courses import gates
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from lms import audit, completion
from lms.auth.models import AuditEvent, User
from lms.db import utcnow
from lms.domain import Role, Tier
from lms.errors import Conflict, DomainError, NotFound, ValidationFailed
from lms.orgs.models import Regulator
from lms.orgs.services import province_of
from lms.people.models import TraineeProfile
from lms.uploads import StoredFile


def completion_check(session: Session, enrollment: Enrollment) -> list[completion.RuleResult]:
    """Each completion rule, met or not. No rule registered means not complete (fail closed)."""
    return _fail_closed(completion.check(session, enrollment))


def check_class_access(session: Session, actor: User, cls: TrainingClass) -> None:
    """Staff of the class's institution, a bureau over the class's region, or the system admin; anyone else
    gets the same 404 as for a missing class, and the attempt is audited."""
    ok = (actor.role == Role.system_admin
          or (actor.role == Role.institution_staff and actor.institution_id == cls.institution_id)
          or (actor.role == Role.regulator_admin and actor.region is not None and actor.region.contains(cls.region)))
    if not ok:
        # Courses owns TrainingClass's scope rule; the refusal is reported the way get_visible reports one.
        audit._record_denied(session, actor, TrainingClass, cls.id)
        raise NotFound(_("记录不存在或无权查看"))


def get_class(session: Session, actor: User, class_id: int) -> TrainingClass:
    """The class ``actor`` may issue certificates for (a 404, audited, for anyone else)."""
    cls = session.get(TrainingClass, class_id)
    if cls is None:
        raise NotFound(_("记录不存在或无权查看"))
    check_class_access(session, actor, cls)
    return cls


def current_certificate(session: Session, enrollment_id: int) -> Certificate | None:
    """The enrolment's certificate in force (not superseded), if any."""
    return session.scalar(select(Certificate).where(Certificate.current_for_enrollment_id == enrollment_id))


def valid_until_for(issued_on: dt.date, years: int) -> dt.date:
    """The last day a certificate issued on ``issued_on`` is valid, ``years`` later (29 February falls back to the 28th)."""
    try:
        end = issued_on.replace(year=issued_on.year + years)
    except ValueError:  # 29 February
        end = issued_on.replace(year=issued_on.year + years, day=28)
    return end - dt.timedelta(days=1)


def holder_name(session: Session, user: User) -> str:
    """The name printed on a certificate: the trainee's real name, else the account's display name."""
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id))
    return prof.real_name if prof is not None else user.display_name


def new_cid() -> str:
    """A fresh, unguessable id for the certificate's QR code and public page."""
    return secrets.token_urlsafe(18)  # 144 random bits


def verify_url(cert: Certificate, base_url: str) -> str:
    """What the QR code holds: the public page, with the signed part in the fragment (never sent to the server)."""
    return f"{base_url.rstrip('/')}/v/{cert.cid}#{cert.signed_part}"


def qr_url(cert: Certificate, cfg: CertConfig) -> str:
    """What the printed QR code holds: ``HTTPS://HOST/C/<TOKEN>``, the compact signed token
    (``certificates.compact``; docs/certificates-qr.md), derived again from the record and its key whenever the
    certificate is rendered (nothing new is stored). Scheme and host upper-cased (one QR alphanumeric segment:
    version 8 at M for a typical host and name); a base URL with a lower-case path prefix prints lower case.
    A certificate whose private key is gone (archived elsewhere) prints its old link, which still verifies."""
    try:
        private = keystore.private_key(cfg.key_dir, cert.key_id)
    except OSError:
        return verify_url(cert, cfg.base_url)
    try:
        token = compact.sign(private, printed_fields(cert))
    except compact.CompactError:  # a text the compact format refuses (a control character): the old link
        return verify_url(cert, cfg.base_url)
    try:
        return compact.qr_url(cfg.base_url, token)
    except compact.CompactError:
        return compact.qr_url(cfg.base_url, token, upper=False)


def printed_path(cert: Certificate, key_dir: str) -> str:
    """The path of the printed link, ``/C/<TOKEN>`` (what a page links to: the same certificate check as the QR),
    or the old ``/v/<cid>`` where the token cannot be made (the key archived elsewhere, a refused text)."""
    try:
        return f"/{compact.ROUTE}/" + compact.sign(keystore.private_key(key_dir, cert.key_id), printed_fields(cert))
    except (OSError, compact.CompactError):
        return f"/v/{cert.cid}"


def iso_or_none(day: dt.date | None) -> str | None:
    """A date as ISO text; None (no end date, 长期有效) stays None: the signed fields and the API carry null."""
    return day.isoformat() if day is not None else None


def printed_until(day: dt.date | None) -> str:
    """The end date as the certificate prints it: the date, or 长期有效 (the CLI's and the phone's word too)."""
    return day.isoformat() if day is not None else verdicts.NO_END


def signed_fields(cert: Certificate) -> dict:
    """The fields the signature covers (what an offline verifier prints)."""
    return {"holder_name": cert.holder_name, "number": cert.number, "tier": cert.tier.value,
            "issued_on": cert.issued_on.isoformat(), "valid_until": iso_or_none(cert.valid_until), "kid": cert.key_id}


def printed_fields(cert: Certificate) -> dict:
    """What the printed code signs: the signed fields and, when the certificate has one, its status-list index
    (so that an offline verifier can read its bit in a downloaded status list)."""
    out = signed_fields(cert)
    if cert.status_list_index is not None:
        out["status_index"] = cert.status_list_index
        if (cert.snapshot or {}).get("photo_fp"):  # compact format 3: the photo's fingerprint, signed
            out["photo"] = cert.snapshot["photo_fp"]
    return out


def holder_photo_snapshot(session: Session, cls: TrainingClass, user_id: int, cache: dict | None = None) -> dict:
    """What a certificate records of the holder's photo where the class's province prints it: the stored file
    and its fingerprint (``{"photo_file", "photo_fp"}``), ``{}`` where it does not. Refused, saying so, when the
    province prints the photo and the holder has none (issue 16: the issue gate)."""
    key = ("holder_photo", cls.id)
    if cache is None or key not in cache:
        required = photos.photo_required(session, province_of(session, cls.region))
        if cache is None:
            cache = {}
        cache[key] = required
    if not cache[key]:
        return {}
    row = photos.photo_of(session, user_id)
    stored = session.get(StoredFile, row.stored_file_id) if row is not None else None
    if stored is None:
        raise DomainError(_("本省证书须印持证人照片：该学员尚未上传证书照片，不能发证（请学员在“证书照片”页面上传）"))
    return {"photo_file": stored.relative_path, "photo_fp": row.fingerprint}


@dataclass(frozen=True)
class Draft:
    """A certificate about to be made: every check passed and everything read, nothing written, no serial yet."""

    enrollment: Enrollment
    issuer: Issuer
    bureau: Regulator | None
    pattern: str
    kid: str
    private: Ed25519PrivateKey
    name: str
    photo: dict
    valid_until: dt.date | None

    @property
    def tier(self) -> Tier:
        return self.enrollment.training_class.programme.tier

    @property
    def counter(self) -> tuple:
        """The serial counter the certificate numbers from (``next_serial``'s issuer and tier)."""
        return self.issuer.kind.value, self.issuer.id, self.tier.value


class IssueBatch:
    """One batch of issuing in bulk (one transaction of the background job, issue 20): the class gates asked
    once per class, the completion rules once for the batch (``lms.completion.check_many``), the issuer looked
    up once per class, and the certificates announced together (``certificates_issued``) by ``announce``.
    The verdicts are those of issuing one by one: nothing the batch issues changes a gate or a rule.

    The worker checks each item (``prepare``: reads only) and then writes the batch's certificates together
    (``write``): its serials, rows, status-list indexes, events and notifications a statement each for the whole
    batch, where one by one cost ~8 a certificate (PostgreSQL, bench.profile_issuing: 11.6 statements a
    certificate in all). ``issue(..., batch=...)`` one item at a time, each in its savepoint, stays the way back
    when the batch's rows are refused (a racing run issued one of them first)."""

    def __init__(self, session: Session, enrollments: list[Enrollment]):
        self.session = session
        self.issuer_cache: dict = {}
        self.issued: list[Certificate] = []
        # The certificates' audit events, added to the session together by ``announce`` (issue 20): chained by
        # one flush, i.e. one lock and one advance of the chain head a batch instead of two statements each.
        self.audit_events: list[AuditEvent] = []
        self._gates: dict[int, str | None] = {}
        self._access: dict[int, NotFound | None] = {}
        self._results = completion.check_many(session, enrollments) if enrollments else {}
        people = session.execute(select(TraineeProfile.user_id, TraineeProfile.real_name, TraineeProfile.email).where(
            TraineeProfile.user_id.in_([e.user_id for e in enrollments]))).all() if enrollments else []
        self.names = {uid: name for uid, name, _email in people}
        # The holders' profile mail addresses, for their notifications (one read a batch, not one a certificate).
        self.emails = {uid: email for uid, _name, email in people}

    def access(self, actor: User, cls: TrainingClass) -> None:
        """``check_class_access`` for the class, asked once a batch; a refusal's audit entry is rolled back with
        its savepoint, as the refused item's savepoint rolled it back when each item asked."""
        if cls.id not in self._access:
            try:
                with self.session.begin_nested():
                    check_class_access(self.session, actor, cls)
                self._access[cls.id] = None
            except NotFound as exc:
                self._access[cls.id] = exc
        if self._access[cls.id] is not None:
            raise self._access[cls.id]

    def gate(self, cls: TrainingClass) -> None:
        """``gates.check(CERTIFY)`` for the class, asked once a batch."""
        if cls.id not in self._gates:
            self._gates[cls.id] = gates.refusal(self.session, cls, gates.CERTIFY)
        if self._gates[cls.id]:
            raise Conflict(self._gates[cls.id])

    def results(self, enrollment: Enrollment) -> list[completion.RuleResult]:
        """The enrolment's completion verdicts (``completion_check``), from the batch's one check."""
        if enrollment.id not in self._results:
            self._results.update(completion.check_many(self.session, [enrollment]))
        return _fail_closed(self._results[enrollment.id])

    def prepare(self, actor: User, enrollment: Enrollment, cfg: CertConfig, today: dt.date) -> Draft:
        """Everything ``issue`` checks and reads before the certificate's serial, for one enrolment (its refusal
        raised as ``issue`` raises it); nothing is written (the caller has checked that it has no certificate)."""
        check_issuable(self.session, actor, enrollment, self)
        return draft_certificate(self.session, enrollment, cfg, today, batch=self)

    def write(self, actor: User, drafts: list[Draft], today: dt.date) -> list[Certificate] | None:
        """Number, sign and record the drafts' certificates together, in issue order: what ``create_certificate``
        writes for each, in one savepoint. None, with nothing written and no serial taken, when the rows are
        refused (a racing run issued one of them first): then issue them one by one."""
        if not drafts:
            return []
        try:
            with self.session.begin_nested():
                serials = self._serials(drafts, today)
                certs = [build_certificate(d, next(serials[d.counter]), actor, today) for d in drafts]
                self.session.add_all(certs)
                self.session.flush()  # one INSERT … RETURNING for the batch
        except IntegrityError:
            return None
        for cert in certs:
            record_issue(self.session, actor, cert, today, batch=self)
        tell_holders(self.session, certs, "issue", {d.enrollment.user_id: self.address(d.enrollment.user)
                                                    for d in drafts})
        return certs

    def _serials(self, drafts: list[Draft], today: dt.date) -> dict:
        """Each counter's serials for the batch, taken in one statement per counter (in the counters' order, so
        that two runs lock them in the same order)."""
        wanted: dict[tuple, list[Draft]] = {}
        for d in drafts:
            wanted.setdefault(d.counter, []).append(d)
        return {key: iter(next_serials(self.session, ds[0].issuer, ds[0].tier, today.year, len(ds)))
                for key, ds in sorted(wanted.items())}

    def address(self, holder: User) -> str:
        """The holder's mail address as ``notify`` would read it: the profile's, else the account's."""
        return self.emails.get(holder.id) or holder.email or ""

    def mark(self) -> tuple[int, int]:
        """Where the batch stands, before a certificate's savepoint (``undo`` after a refusal)."""
        return len(self.issued), len(self.audit_events)

    def undo(self, mark: tuple[int, int]) -> None:
        """Forget what a refused certificate added: its savepoint was rolled back."""
        del self.issued[mark[0]:], self.audit_events[mark[1]:]

    def announce(self, actor: User | None, today: dt.date) -> None:
        """Record the batch's audit events (chained together by the next flush) and tell the features after
        certificates about the batch's certificates, once (``certificates_issued``)."""
        if self.audit_events:
            self.session.add_all(self.audit_events)
            self.audit_events = []
        if self.issued:
            signals.certificates_issued.send(None, session=self.session, certificates=list(self.issued), actor=actor,
                                             today=today)


def _fail_closed(results: list[completion.RuleResult]) -> list[completion.RuleResult]:
    if not results:
        return [completion.RuleResult("no_rules", _("结业条件"), False,
                                      _("尚未配置任何结业条件（考勤、课程、考试），不能发证"))]
    return results


def draft_certificate(session: Session, enrollment: Enrollment, cfg: CertConfig, today: dt.date,
                      valid_until: dt.date | None = None, supersedes: Certificate | None = None,
                      issuer_cache: dict | None = None, batch: IssueBatch | None = None) -> Draft:
    """What ``create_certificate`` reads before it takes a serial: the issuer, the signing key, the holder's
    name and photo, the end date (refused without an address, a key or a required photo)."""
    if not cfg.base_url:  # production has no default address: a QR code must never point at a made-up host
        raise DomainError(_("未设置站点地址 PUBLIC_BASE_URL，不能发放证书（证书二维码须指向本站的正式地址）"))
    cls = enrollment.training_class
    programme = cls.programme
    if batch is not None:
        issuer_cache = batch.issuer_cache
    if issuer_cache is None:
        issuer, bureau, pattern = resolve_issuer(session, cls)
    else:
        if cls.id not in issuer_cache:
            issuer_cache[cls.id] = resolve_issuer(session, cls)
        issuer, bureau, pattern = issuer_cache[cls.id]
    try:
        kid, private = keystore.signing_key(cfg.key_dir)
    except keystore.NoSigningKey:
        raise DomainError(_("尚未创建证书签名密钥：请系统管理员运行 python -m lms.secrets init"))
    holder = enrollment.user
    photo = holder_photo_snapshot(session, cls, holder.id, issuer_cache)
    if batch is not None and holder.id in batch.names:
        name = batch.names[holder.id]  # holder_name, read for the whole batch
    else:
        name = holder_name(session, holder)
    years = programme.certificate_validity_years  # the province's setting (本省自定); None: no end date
    if valid_until is None and supersedes is None and years:  # a replacement keeps the old one's (even none)
        valid_until = valid_until_for(today, years)
    return Draft(enrollment, issuer, bureau, pattern, kid, private, name, photo, valid_until)


def build_certificate(draft: Draft, serial: int, actor: User | None, today: dt.date,
                      supersedes: Certificate | None = None) -> Certificate:
    """The draft's certificate with its serial: numbered, its snapshot taken and its fields signed (not added)."""
    enrollment, issuer, bureau, name = draft.enrollment, draft.issuer, draft.bureau, draft.name
    cls = enrollment.training_class
    programme = cls.programme
    tier = programme.tier
    number = draft.pattern.format(region_code=issuer.region_code, tier_code=tier.code, year=today.year, serial=serial,
                                  issuer_code=issuer.code)
    cert = Certificate(
        cid=new_cid(), number=number, holder_user_id=enrollment.user.id, holder_name=name,
        enrollment_id=enrollment.id, current_for_enrollment_id=enrollment.id, class_id=cls.id,
        institution_id=cls.institution_id, region_id=cls.region_id, bureau_id=bureau.id if bureau else None,
        issuer_kind=issuer.kind, issuer_id=issuer.id, tier=tier, issued_on=today, valid_until=draft.valid_until,
        key_id=draft.kid, status=CertificateStatus.valid, status_changed_at=utcnow(),
        issued_by_id=getattr(actor, "id", None), supersedes_id=supersedes.id if supersedes else None,
        snapshot={
            "holder_name": name, "tier": tier.value, "tier_label": tier.label, "programme": programme.name,
            "programme_year": programme.year, "class_name": cls.name, "class_start": cls.start_date.isoformat(),
            "class_end": cls.end_date.isoformat(), "institution": cls.institution.name,
            "bureau": bureau.name if bureau else "", "issuer": issuer.name, "issuer_kind": issuer.kind.value,
            "region": cls.region.name, **draft.photo,
        },
        signed_part="",
    )
    cert.signed_part = signing.sign(draft.private, signed_fields(cert))
    cert.seal = seal.make(draft.private, cert.signed_part)
    return cert


def record_issue(session: Session, actor: User | None, cert: Certificate, today: dt.date,
                 supersedes: Certificate | None = None, batch: IssueBatch | None = None) -> None:
    """What follows a new certificate's row: its status-list index, its event, its audit entry and its
    announcement (``certificate_issued``; in a ``batch``, the batch's audit entries and announcement together)."""
    cert.status_list_index = cert.id  # unique and stable: the row id is never reused
    session.add(CertificateEvent(certificate_id=cert.id, action="issue" if supersedes is None else "reissue",
                                 from_status="", to_status=cert.status.value, actor_id=getattr(actor, "id", None)))
    detail = {"number": cert.number, "reissue_of": supersedes.id if supersedes else None}
    if batch is None:
        audit.record(session, actor, "certificate.issue", cert, **detail)
        signals.certificate_issued.send(None, session=session, certificate=cert, actor=actor, today=today)
    else:
        batch.audit_events.append(audit.new_event(actor, "certificate.issue", cert, **detail))
        batch.issued.append(cert)


def create_certificate(session: Session, actor: User | None, enrollment: Enrollment, cfg: CertConfig, today: dt.date,
            valid_until: dt.date | None = None, supersedes: Certificate | None = None,
            issuer_cache: dict | None = None, batch: IssueBatch | None = None) -> Certificate:
    """Create, number, sign and record one certificate (no completion check: ``issue`` does that), then announce
    it (``certificate_issued``; in a ``batch``, the batch announces its certificates together)."""
    draft = draft_certificate(session, enrollment, cfg, today, valid_until, supersedes, issuer_cache, batch)
    serial = next_serial(session, draft.issuer, draft.tier, today.year)
    cert = build_certificate(draft, serial, actor, today, supersedes)
    session.add(cert)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("该学员本次培训的证书已颁发，未重复发证"))
    record_issue(session, actor, cert, today, supersedes, batch)
    if supersedes is None:  # a successor is announced as a reissue, with its reason
        # In a batch, the holder's address as notify would read it: the profile's, else the account's.
        tell_holder(session, cert, "issue", address=batch.address(enrollment.user) if batch is not None else None)
    return cert


def check_issuable(session: Session, actor: User, enrollment: Enrollment, batch: IssueBatch | None = None) -> None:
    """Refuse, saying why, an enrolment ``issue`` may not certify: the actor's access to the class, an enrolment
    not approved, a certificate already issued, a class gate, an unmet completion rule (each with its detail).
    ``batch``: asked of the batch (``IssueBatch``), whose caller has checked that there is no certificate yet."""
    cls = enrollment.training_class
    if batch is None:
        check_class_access(session, actor, cls)
    else:
        batch.access(actor, cls)
    if enrollment.status != EnrollmentStatus.approved:
        raise DomainError(_("该学员未被录取，不能发证"))
    if batch is None and current_certificate(session, enrollment.id) is not None:
        raise Conflict(_("该学员本次培训的证书已颁发，未重复发证"))
    if batch is None:
        gates.check(session, cls, gates.CERTIFY)
    else:
        batch.gate(cls)
    results = completion_check(session, enrollment) if batch is None else batch.results(enrollment)
    if not completion.is_complete(results):
        unmet = "；".join(f"{r.label}：{r.detail}" for r in results if not r.met)
        raise DomainError(_("未达到结业条件，不能发证：%(unmet)s", unmet=unmet))


def issue(session: Session, actor: User, enrollment: Enrollment, cfg: CertConfig, today: dt.date, *,
          batch: IssueBatch | None = None) -> Certificate:
    """Issue the certificate of one complete enrolment. Refused, with every unmet rule, if incomplete, and
    refused when a class gate says so (filing not accepted; certificates held until the results report is accepted).
    ``batch``: issuing in bulk (``IssueBatch``, one transaction: gates and completion asked once a batch, the
    issuer, bureau and number pattern of a class looked up once, the certificate announced with the batch's; the
    caller has checked that the enrolment has no certificate yet)."""
    check_issuable(session, actor, enrollment, batch)
    return create_certificate(session, actor, enrollment, cfg, today,
                              issuer_cache=batch.issuer_cache if batch is not None else None, batch=batch)


def reissue(session: Session, actor: User, cert: Certificate, note: str, cfg: CertConfig, today: dt.date) -> Certificate:
    """Correct a certificate: a new one (fresh snapshot, new number, same validity) supersedes it."""
    enrollment = session.get(Enrollment, cert.enrollment_id)
    check_class_access(session, actor, enrollment.training_class)
    if cert.status not in (CertificateStatus.valid, CertificateStatus.suspended):
        raise DomainError(_("只能换发有效或暂停中的证书（当前：%(s)s）", s=cert.status.label))
    note = (note or "").strip()
    if not 2 <= len(note) <= 500:
        raise ValidationFailed({"note": _("请填写换发原因（2-500 字）")})
    old_status = cert.status
    cert.status, cert.status_changed_at, cert.current_for_enrollment_id = CertificateStatus.superseded, utcnow(), None
    session.flush()
    new = create_certificate(session, actor, enrollment, cfg, today, valid_until=cert.valid_until, supersedes=cert)
    cert.superseded_by_id = new.id
    session.add(CertificateEvent(certificate_id=cert.id, action="supersede", from_status=old_status.value,
                                 to_status=CertificateStatus.superseded.value, note=note, actor_id=actor.id))
    session.flush()
    signals.certificate_reissued.send(None, session=session, certificate=cert, actor=actor, reason=note, today=today,
                                      replacement=new)
    tell_holder(session, new, "reissue", note)
    return new
