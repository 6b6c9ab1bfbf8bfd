"""Setup steps added to ``python -m lms.secrets init``: the first certificate signing key."""
from __future__ import annotations

from lms import secrets


def _init_signing_key() -> str:
    from certificates import keys
    from lms.config import load
    from lms.templating import today_local

    key_dir = load()["CERT_KEY_DIR"]
    kid, created = keys.ensure_key(key_dir, today_local())
    return f"certificate signing key {kid} {'created' if created else 'exists; left unchanged'} in {key_dir}"


secrets.add_init_hook(_init_signing_key)
