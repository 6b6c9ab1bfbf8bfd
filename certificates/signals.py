"""What the certificates feature tells the features after it (credits, talent, reports), as named blinker signals.

Each is sent with the certificate and the database ``session`` as keyword arguments; receivers are connected by
the receiving feature's ``wiring.init_app`` (with ``weak=False``) and must be idempotent:

- ``certificate_issued(sender, session=, certificate=, actor=, today=)``: a certificate was issued;
- ``certificate_revoked(sender, session=, certificate=, actor=, reason=)``: a certificate was revoked;
- ``certificate_reissued(...)``: a certificate was superseded by a corrected one;
- ``certificate_expired(...)``: a certificate passed its validity.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

certificate_issued = _signals.signal("certificate-issued")
certificate_revoked = _signals.signal("certificate-revoked")
certificate_reissued = _signals.signal("certificate-reissued")
certificate_expired = _signals.signal("certificate-expired")
