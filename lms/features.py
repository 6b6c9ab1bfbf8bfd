"""The feature packages beside ``lms`` (courses, exams, certificates). ``create_app`` registers their
blueprints; the scheduler imports their jobs; migrations import their models. One list, one place."""
from __future__ import annotations

import importlib

FEATURES: list[str] = ["courses", "exams", "certificates"]


def _import_optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Absent feature (or absent module of it): skip. A missing import *inside* it still raises.
        if exc.name == module or module.startswith(f"{exc.name}."):
            return None
        raise


def import_models() -> None:
    for pkg in ["lms.auth", "lms.orgs", "lms.people", "lms.jobs", "lms.talent", "lms.credits", "lms.notifications", *FEATURES]:
        _import_optional(f"{pkg}.models")


def import_jobs() -> None:
    for pkg in FEATURES:
        _import_optional(f"{pkg}.jobs")


def blueprints() -> list:
    out = []
    for pkg in FEATURES:
        mod = _import_optional(f"{pkg}.views")
        if mod is not None:
            out.append(mod.bp)
    return out
