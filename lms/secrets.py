"""Create the instance secrets once: ``python -m lms.secrets init``.

Writes ``instance/secrets.json`` (session key, field-encryption key) with mode 0600 if it does not exist.
Never overwrites: a new field-encryption key would make every stored ID number unreadable.
"""
from __future__ import annotations

import json
import os
import secrets
import sys

from lms import features
from lms.config import instance_path
from lms.pii import generate_key


def init() -> str:
    """Write ``instance/secrets.json`` unless it exists; say what was done."""
    inst = instance_path()
    inst.mkdir(parents=True, exist_ok=True)
    path = inst / "secrets.json"
    if path.exists():
        return f"{path} exists; left unchanged"
    data = {"SECRET_KEY": secrets.token_urlsafe(48), "FIELD_ENCRYPTION_KEY": generate_key()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    return f"created {path}"


def main(argv: list[str]) -> int:
    if argv[1:] != ["init"]:
        print("usage: python -m lms.secrets init", file=sys.stderr)
        return 2
    print(init())
    features.import_setup()  # features with keys of their own (certificate signing) add hooks here
    for hook in _hooks:
        print(hook())
    return 0


_hooks: list = []


def add_init_hook(fn) -> None:
    """Let a feature create its own secrets during ``init`` (``fn() -> message``)."""
    _hooks.append(fn)


if __name__ == "__main__":
    # Run as ``python -m``, this file is ``__main__``, a second copy of the module: the features register their
    # hooks on the importable ``lms.secrets``, so run that copy's ``main``.
    from lms.secrets import main as _main

    raise SystemExit(_main(sys.argv))
