"""Setup steps added to ``python -m lms.secrets init``: the first certificate signing key; and the check
``flask restore`` runs before it reports success: a sample of certificates verifies with the keys present."""
from __future__ import annotations

from sqlalchemy import select

from certificates import keys
from certificates.models import Certificate
from certificates.services import signature_matches
from lms import restorecheck, secrets
from lms.config import load
from lms.templating import today_local


def _init_signing_key() -> str:
    key_dir = load()["CERT_KEY_DIR"]
    kid, created = keys.ensure_key(key_dir, today_local())
    return f"certificate signing key {kid} {'created' if created else 'exists; left unchanged'} in {key_dir}"


secrets.add_init_hook(_init_signing_key)


def _restore_check(session, config: dict) -> tuple[str, list[str]]:
    """After a restore: a sample of certificates still verifies with the signing keys in CERT_KEY_DIR."""
    certs = session.scalars(select(Certificate).order_by(Certificate.id.desc()).limit(20)).all()
    if not certs:
        return "certificates: none to verify", []
    key_dir = config["CERT_KEY_DIR"]
    try:
        doc = keys.public_document(key_dir)
    except FileNotFoundError as exc:
        return "certificates", [f"signing key file missing: {exc.filename}. Restore again with --keys <the keys archive>"]
    kids = {k["kid"] for k in doc["keys"]}
    missing = sorted({c.key_id for c in certs} - kids)
    bad = [c.number for c in certs if c.key_id in kids and not signature_matches(c, c.signed_part, doc)]
    problems = []
    if missing:
        problems.append(f"certificates signed with key(s) {', '.join(missing)} cannot be verified: those keys are not "
                        f"in {key_dir}. Restore again with --keys <the cqo-keys-….cqokeys archive made by "
                        "`flask backup --keys`>")
    if bad:
        problems.append(f"{len(bad)} sampled certificate(s) do not verify with the keys present ({', '.join(bad[:3])}…)")
    return f"certificates: {len(certs)} sampled, signatures checked against {len(kids)} key(s)", problems


restorecheck.add_check(_restore_check)
