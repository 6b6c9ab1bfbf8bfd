"""Certificates' use cases, split by concept; import them from here (``from certificates import services``).

- ``numbering``: province settings (number pattern, issuer per tier), the issuer of a class, the serial;
- ``issuing``: completion checks, access to a class, creating and signing, issue and reissue;
- ``status``: suspend, reinstate, revoke, expiry, the status a verifier sees;
- ``files``: the printable certificate (PNG, PDF) and a class's ZIP;
- ``verification``: the public record, the signature and holder checks, the verification log.

Services flush, never commit; every change is announced through ``certificates.signals``.
"""
from __future__ import annotations

from certificates.services.files import FILE_TYPES, CertificateFile, certificate_file, certificates_zip, render_args
from certificates.services.issuing import (
    check_class_access, completion_check, create_certificate, current_certificate, get_class, holder_name, issue,
    new_cid, printed_fields, printed_path, qr_url, reissue, signed_fields, valid_until_for, verify_url,
)
from certificates.services.issuing import iso_or_none, printed_until
from certificates.services.issuing import Draft, IssueBatch
from certificates.services.numbering import (
    DEFAULT_ISSUERS, CertConfig, Issuer, next_serial, resolve_issuer, save_settings, settings_for, settings_row, validate_pattern,
)
from certificates.services.status import (
    ACTIONS, SIGNALS, apply_status_action, can_change_status, change_status, effective_status, expire_due,
    has_tier_in_force, revoke,
)
from certificates.services.verification import (
    KeptRecords, PublicRecord, StandingJoin, add_standing_join, find_by_token, find_public, find_public_record,
    holder_check, read_public_record,
    log_verification, public_view, signature_matches,
)

__all__ = [
    "FILE_TYPES", "CertificateFile", "certificate_file", "certificates_zip", "render_args",
    "check_class_access", "completion_check", "create_certificate", "current_certificate", "get_class", "holder_name",
    "issue", "new_cid", "printed_fields", "printed_path", "qr_url", "reissue", "signed_fields", "valid_until_for", "verify_url",
    "DEFAULT_ISSUERS", "CertConfig", "Issuer", "next_serial", "resolve_issuer", "save_settings", "settings_for",
    "settings_row",
    "validate_pattern",
    "ACTIONS", "SIGNALS", "apply_status_action", "can_change_status", "change_status", "effective_status",
    "expire_due", "has_tier_in_force", "revoke",
    "KeptRecords", "PublicRecord", "StandingJoin", "add_standing_join", "find_by_token", "find_public",
    "find_public_record", "read_public_record",
    "holder_check", "log_verification", "public_view", "signature_matches",
    "iso_or_none", "printed_until", "Draft", "IssueBatch",
]
