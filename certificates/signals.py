"""What certificates tell the features after them (credits, talent, …) without importing them.

Every signal is sent with keyword arguments only; the sender is ``None`` (``signal.send(None, **kwargs)``).
Receivers are connected in the receiving feature's ``wiring.init_app`` (``weak=False``).

What every receiver may rely on:

- ``session``: the SQLAlchemy Session in which the change happened. The change is flushed (the certificate has
  its id and its new status; its ``CertificateEvent`` and audit entry are added) and the transaction is still
  open: nothing is committed yet. A receiver writes in this session and flushes, never commits or rolls back.
  An exception raised by a receiver aborts the whole action: the issue's savepoint (one certificate of a batch)
  or the request's transaction; the caller sees the exception.
- ``certificate``: the ``certificates.models.Certificate`` (an ORM object, attached to ``session``) the signal is
  about, with ``holder_user_id``, ``enrollment_id``, ``class_id``, ``region_id``, ``number``, ``tier``,
  ``issued_on``, ``valid_until`` and ``status`` already set to the new state. To reach the class or programme,
  load ``courses.models.TrainingClass`` by ``certificate.class_id``.

Per signal (sent once per certificate and change, in the order below when one action sends several):

- ``certificate_issued(session, certificate, actor, today)``: a new certificate exists (status valid). Sent for
  every certificate created: a first issue (page, API, background job, demo seed) and the successor made by a
  reissue (then ``certificate.supersedes_id`` is set and ``certificate_reissued`` follows). ``actor``: the User
  who issued it, or None (demo/system). ``today``: the issue date (``certificate.issued_on``).
- ``certificates_issued(session, certificates, actor, today)``: issuing a class in bulk (the background job,
  issue 20) announces the certificates one batch created (one transaction) with this signal, once, after all of
  them, *instead of* one ``certificate_issued`` each: ``certificates`` is the list (each as above, in issue
  order). Every receiver of ``certificate_issued`` connects to it too (a test checks), doing per batch what it
  does per certificate (one upsert for the batch, not one each). An exception aborts the whole batch; the job
  then issues those items one by one, with ``certificate_issued``.
- ``certificate_reissued(session, certificate, actor, reason, today, replacement)``: ``certificate`` (the old
  one) was superseded by ``replacement`` (already announced by ``certificate_issued``); ``certificate.status``
  is ``superseded``. ``reason``: the staff's note (plain text). ``today``: the reissue date.
- ``certificate_revoked(session, certificate, actor, reason, today)``: a bureau revoked it (status revoked;
  ``certificate.status_reason`` the ReasonCategory). ``reason``: the text for people, "<category label>：<note>".
- ``certificate_suspended(session, certificate, actor, reason, today)``: a bureau suspended it (status
  suspended); ``reason`` as for revoked.
- ``certificate_reinstated(session, certificate, actor, reason, today)``: a suspension was lifted; the status is
  valid, or expired when the validity ended meanwhile. ``reason``: the bureau's note (may be empty).
- ``certificate_expired(session, certificate, reason, today)``: the expiry job found it past its validity
  (status expired). No actor. ``reason``: "证书已过有效期" (in the current locale).
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

certificate_issued = _signals.signal("certificate-issued")
certificates_issued = _signals.signal("certificates-issued")  # a batch of the background job (see above)
certificate_reissued = _signals.signal("certificate-reissued")
certificate_revoked = _signals.signal("certificate-revoked")
certificate_suspended = _signals.signal("certificate-suspended")
certificate_reinstated = _signals.signal("certificate-reinstated")
certificate_expired = _signals.signal("certificate-expired")
