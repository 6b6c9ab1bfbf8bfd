"""Create the instance secrets once: ``python -m lms.secrets init``.

Writes ``instance/secrets.json`` (session key, field-encryption key) with mode 0600 if it does not exist.
Never overwrites: a new field-encryption key would make every stored ID number unreadable.
"""
from __future__ import annotations

import json
import os
import secrets
import sys

from lms.config import instance_path
from lms.pii import generate_key


def init() -> str:
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
    # Features with keys of their own (certificate signing) hook in here. Run as ``python -m``, this file is
    # ``__main__``: the hooks are registered on the importable ``lms.secrets``, so read them from there.
    from lms import features
    from lms import secrets as registry

    features.import_setup()
    for hook in registry._hooks:
        print(hook())
    return 0


_hooks: list = []


def add_init_hook(fn) -> None:
    _hooks.append(fn)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
