"""Several app hosts behind one proxy (issue 21; docs/scaling.md). ``APP_HOSTS`` says how many hosts serve this
site. Above one, whatever a process or a host keeps to itself would split the site: rate limits counted per
process let a visitor try N times the limit, and files on one host's disk are missing on the others. The
application refuses to start so configured, saying what to set."""
from __future__ import annotations

from lms import storage

MEMORY_SCHEMES = ("memory://", "lms-memory://")


class NotMultiHostReady(RuntimeError):
    """The configuration keeps state per process or per host while APP_HOSTS > 1."""


def problems(config) -> list[str]:
    """What in ``config`` cannot be shared between hosts when APP_HOSTS > 1 (empty: nothing, or one host)."""
    if config["APP_HOSTS"] <= 1:
        return []
    out = []
    if config["RATELIMIT_STORAGE_URI"].startswith(MEMORY_SCHEMES):
        out.append(f"RATELIMIT_STORAGE_URI={config['RATELIMIT_STORAGE_URI']} keeps rate limits per process: set "
                   "RATELIMIT_STORAGE_URI=redis://<redis host>:6379/0 (the same Redis for every host)")
    if config["FILE_STORAGE"] != "database":
        out.append(f"FILE_STORAGE={config['FILE_STORAGE']} keeps files on this host's disk: set FILE_STORAGE=database "
                   "and run `flask files move --to database` once")
    return out


def check(config) -> None:
    """Raise StorageMisconfigured for an unknown FILE_STORAGE, and NotMultiHostReady listing every problem, if any."""
    storage.check_backend(config["FILE_STORAGE"])
    found = problems(config)
    if found:
        raise NotMultiHostReady(f"APP_HOSTS={config['APP_HOSTS']}, but: " + "; ".join(found))
