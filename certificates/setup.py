"""Setup steps added to ``python -m lms.secrets init``: the first certificate signing key."""
from __future__ import annotations

from certificates import keys
from lms import secrets
from lms.config import load
from lms.templating import today_local


def _init_signing_key() -> str:
    key_dir = load()["CERT_KEY_DIR"]
    kid, created = keys.ensure_key(key_dir, today_local())
    return f"certificate signing key {kid} {'created' if created else 'exists; left unchanged'} in {key_dir}"


secrets.add_init_hook(_init_signing_key)
