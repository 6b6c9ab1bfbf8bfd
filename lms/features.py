"""The feature packages beside ``lms`` (courses, exams, certificates). ``create_app`` registers their
blueprints; the scheduler imports their jobs; migrations import their models. One list, one place."""
from __future__ import annotations

import importlib

FEATURES: list[str] = ["courses", "exams", "certificates", "lms.reports"]


def _import_optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Absent feature (or absent module of it): skip. A missing import *inside* it still raises.
        if exc.name == module or module.startswith(f"{exc.name}."):
            return None
        raise


PLATFORM_MODELS = ["lms.auth.models", "lms.orgs.models", "lms.people.models", "lms.jobs.models", "lms.uploads",
                   "lms.talent.models", "lms.credits.models", "lms.notifications.models"]


def import_models() -> None:
    for module in PLATFORM_MODELS + [f"{pkg}.models" for pkg in FEATURES]:
        _import_optional(module)


def import_jobs() -> None:
    for pkg in FEATURES:
        _import_optional(f"{pkg}.jobs")


def import_setup() -> None:
    """Setup steps the features add to ``python -m lms.secrets init`` (e.g. certificate signing keys)."""
    for pkg in FEATURES:
        _import_optional(f"{pkg}.setup")


def blueprints() -> list:
    out = []
    for pkg in FEATURES:
        mod = _import_optional(f"{pkg}.views")
        if mod is not None:
            out.append(mod.bp)
    return out
